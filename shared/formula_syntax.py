"""The syntax of pricing formulas (CONTRACT "Pricing"): a small parser of our own, never `eval`.

    formula := sum
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary)*
    unary   := "-" unary | atom
    atom    := NUMBER | VARIABLE | ("ceil" | "floor") "(" sum ")"
             | ("min" | "max") "(" sum "," sum ")" | "(" sum ")"

NUMBER is a plain decimal (`12`, `0.041`, `.5`; no exponent); VARIABLE one of `VARIABLES`
with a `$`. Anything else is refused with `errors.InvalidFormula` naming the token and its
position (1-based). `shared/formula.py` compiles the tree this module builds.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import NamedTuple

from shared import errors

# The variables a formula may use, in the order a compiled formula takes their values.
VARIABLES = ("time_in_seconds", "number_of_nodes", "memory_in_mb", "storage_in_mb")
# Functions a formula may call, with their number of arguments.
FUNCTIONS = {"ceil": 1, "floor": 1, "min": 2, "max": 2}
# Longest formula accepted, in characters.
MAX_LENGTH = 2000
# Deepest nesting of parentheses and unary minus accepted (the parser recurses).
MAX_DEPTH = 100

_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?P<exponent>[eE][+-]?\d*)?)
      | (?P<variable>\$\w*)
      | (?P<name>[A-Za-z_]\w*)
      | (?P<symbol>[-+*/(),])""",
    re.VERBOSE,
)


class Token(NamedTuple):
    """A lexeme and its 1-based position in the formula."""

    kind: str  # number | variable | name | symbol | end
    text: str
    position: int


class Number(NamedTuple):
    value: Decimal


class Variable(NamedTuple):
    position: int  # in VARIABLES


class Negate(NamedTuple):
    operand: Node


class Binary(NamedTuple):
    operator: str  # + - * /
    left: Node
    right: Node


class Call(NamedTuple):
    function: str  # a key of FUNCTIONS
    arguments: tuple[Node, ...]


Node = Number | Variable | Negate | Binary | Call


def tokens(text: str) -> list[Token]:
    """The formula's tokens, ending with an `end` token; InvalidFormula for anything else."""
    found: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _refuse(text, position + 1, f"unexpected character {text[position]!r}")
        kind = match.lastgroup or ""
        lexeme = match.group()
        if match.group("exponent") is not None:
            kind = "exponent"
        if kind == "exponent":
            raise _refuse(
                text, position + 1, f"number {lexeme!r} has an exponent; write it plainly"
            )
        if kind == "variable" and lexeme[1:] not in VARIABLES:
            raise _refuse(text, position + 1, f"unknown variable {lexeme!r}")
        if kind == "name" and lexeme not in FUNCTIONS:
            raise _refuse(text, position + 1, f"unknown name {lexeme!r}")
        if kind != "space":
            found.append(Token(kind, lexeme, position + 1))
        position = match.end()
    found.append(Token("end", "", len(text) + 1))
    return found


def parse(text: str) -> Node:
    """The syntax tree of a formula; InvalidFormula naming the token and position if it is not
    one."""
    if not isinstance(text, str):
        raise errors.InvalidFormula(f"a formula must be text, got {text!r}")
    if len(text) > MAX_LENGTH:
        raise errors.InvalidFormula(
            f"formula is {len(text)} characters long, more than the {MAX_LENGTH} accepted"
        )
    if not text.strip():
        raise errors.InvalidFormula("formula is empty")
    return _Parser(text).formula()


class _Parser:
    """Recursive descent over the token list; one instance per formula."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokens(text)
        self.at = 0
        self.depth = 0

    def formula(self) -> Node:
        node = self.sum()
        self.expect_kind("end", "an operator or the end of the formula")
        return node

    def sum(self) -> Node:
        node = self.product()
        while self.peek().text in ("+", "-") and self.peek().kind == "symbol":
            operator = self.take().text
            node = Binary(operator, node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.peek().text in ("*", "/") and self.peek().kind == "symbol":
            operator = self.take().text
            node = Binary(operator, node, self.unary())
        return node

    def unary(self) -> Node:
        token = self.peek()
        if token.kind == "symbol" and token.text == "-":
            self.take()
            with _Deeper(self, token):
                return Negate(self.unary())
        return self.atom()

    def atom(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return Number(Decimal(token.text))
        if token.kind == "variable":
            return Variable(VARIABLES.index(token.text[1:]))
        if token.kind == "name":
            return self.call(token)
        if token.kind == "symbol" and token.text == "(":
            with _Deeper(self, token):
                node = self.sum()
            self.expect(")")
            return node
        raise self.unexpected(token, "a number, a variable, a function or '('")

    def call(self, name: Token) -> Call:
        self.expect("(")
        arguments: list[Node] = []
        with _Deeper(self, name):
            arguments.append(self.sum())
            while self.peek().kind == "symbol" and self.peek().text == ",":
                comma = self.take()
                if len(arguments) == FUNCTIONS[name.text]:
                    raise _refuse(self.text, comma.position, f"{_arity(name.text)}, got more")
                arguments.append(self.sum())
        if len(arguments) < FUNCTIONS[name.text]:
            raise _refuse(
                self.text, self.peek().position, f"{_arity(name.text)}, got {len(arguments)}"
            )
        self.expect(")")
        return Call(name.text, tuple(arguments))

    def peek(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        if token.kind != "end":
            self.at += 1
        return token

    def expect(self, symbol: str) -> None:
        token = self.take()
        if token.kind != "symbol" or token.text != symbol:
            raise self.unexpected(token, repr(symbol))

    def expect_kind(self, kind: str, wanted: str) -> None:
        token = self.peek()
        if token.kind != kind:
            raise self.unexpected(token, wanted)

    def unexpected(self, token: Token, wanted: str) -> errors.InvalidFormula:
        found = "the end of the formula" if token.kind == "end" else repr(token.text)
        return _refuse(self.text, token.position, f"expected {wanted}, found {found}")


class _Deeper:
    """Counts nesting while parsing inside parentheses, a call or a unary minus."""

    def __init__(self, parser: _Parser, token: Token) -> None:
        self.parser = parser
        self.token = token

    def __enter__(self) -> None:
        self.parser.depth += 1
        if self.parser.depth > MAX_DEPTH:
            raise _refuse(
                self.parser.text,
                self.token.position,
                f"formula nests deeper than {MAX_DEPTH} levels",
            )

    def __exit__(self, *_exc: object) -> None:
        self.parser.depth -= 1


def _arity(function: str) -> str:
    count = FUNCTIONS[function]
    return f"{function} takes {count} argument{'s' if count > 1 else ''}"


def _refuse(text: str, position: int, problem: str) -> errors.InvalidFormula:
    return errors.InvalidFormula(f"{problem} at position {position} of {text!r}", position)
