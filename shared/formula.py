"""Pricing formulas compiled once into nested closures, evaluated in decimal arithmetic.

`compile(text, context)` parses a formula (`formula_syntax`) and turns its tree into a
function of one tuple of `Decimal` values, in the order of `formula_syntax.VARIABLES`. Every
operation is a method of the explicit `decimal.Context` given (`new_context()`: 28 digits,
half-even, the default of Python's decimal module and the contract's minimum), never the
thread's global context, so a bill reproduces with a plain Decimal computation. Constant
subtrees are computed once at compile time, with the same operations in the same order.

A float never enters: `Formula.evaluate` refuses one, and the context's operations raise
TypeError for a float operand.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from shared import errors, formula_syntax
from shared.formula_syntax import Binary, Negate, Node, Number, Variable

# Significant digits of formula arithmetic (the contract's minimum and Python's default).
PRECISION = 28

# The values of formula_syntax.VARIABLES, in that order: Decimals, or ints (exact; the bill
# engine passes instances and memory as they come). A float is refused by every operation.
Values = tuple[Decimal | int, ...]
# A compiled formula, or a compiled part of one.
Function = Callable[[Values], Decimal]
# A compiled operand: a constant, the index of a variable, or a function of the values.
_Operand = Decimal | int | Function


def new_context() -> decimal.Context:
    """The decimal context formulas and bills compute in: every setting spelled out."""
    return decimal.Context(
        prec=PRECISION,
        rounding=ROUND_HALF_EVEN,
        Emin=-999999,
        Emax=999999,
        capitals=1,
        clamp=0,
        flags=[],
        traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
    )


class Formula:
    """A parsed and compiled formula. `function(values)` is the fast path (a tuple of Decimals
    in VARIABLES order, unchecked); `evaluate(values)` checks its input first.
    `proportional`: the formula is $time_in_seconds times something of the other variables
    and cannot fail (`proportional_to_time`)."""

    __slots__ = ("function", "proportional", "text")

    def __init__(self, text: str, function: Function, proportional: bool = False) -> None:
        self.text = text
        self.function = function
        self.proportional = proportional

    def __repr__(self) -> str:
        return f"Formula({self.text!r})"

    def evaluate(self, values: Mapping[str, Decimal | int]) -> Decimal:
        """The formula's value; TypeError for a float or missing variable, FormulaFailed when
        the arithmetic fails (division by zero, overflow)."""
        ordered: list[Decimal | int] = []
        for name in formula_syntax.VARIABLES:
            value = values.get(name)
            if isinstance(value, bool) or not isinstance(value, Decimal | int):
                raise TypeError(f"${name} must be a Decimal or an int, got {value!r}")
            ordered.append(Decimal(value))
        try:
            return self.function(tuple(ordered))
        except decimal.DecimalException as exc:
            shown = ", ".join(
                f"${n}={v}" for n, v in zip(formula_syntax.VARIABLES, ordered, strict=True)
            )
            raise errors.FormulaFailed(
                f"formula {self.text!r} fails with {shown}: {_reason(exc)}"
            ) from None


def compile(text: str, context: decimal.Context) -> Formula:
    """Parse and compile a formula; InvalidFormula naming the token and position when it is
    not one, FormulaFailed when a constant part of it cannot be computed (`1/0`)."""
    tree = formula_syntax.parse(text)
    try:
        operand = _compile(tree, context)
    except decimal.DecimalException as exc:
        raise errors.FormulaFailed(f"formula {text!r} fails: {_reason(exc)}") from None
    return Formula(text, _function(operand, context), proportional_to_time(tree))


def proportional_to_time(node: Node) -> bool:
    """Whether the formula is f(t, n, m, s) = t x g(n, m, s), exactly, and cannot fail: every
    term of degree one in $time_in_seconds, no $time_in_seconds inside ceil, floor, min or
    max, and no division but by a constant. Then the sum of f over pieces of the same other
    variables is f of the sum of their times (the bill engine prices such pieces at once)."""
    return _time_degree(node) == 1


def _time_degree(node: Node) -> int | None:
    """The degree of `node` in $time_in_seconds when it is a product of that degree with
    something free of time and of failing divisions; None otherwise."""
    if isinstance(node, Number):
        return 0
    if isinstance(node, Variable):
        return 1 if formula_syntax.VARIABLES[node.position] == "time_in_seconds" else 0
    if isinstance(node, Negate):
        return _time_degree(node.operand)
    if isinstance(node, Binary):
        left, right = _time_degree(node.left), _time_degree(node.right)
        if left is None or right is None:
            return None
        if node.operator in ("+", "-"):
            return left if left == right else None
        if node.operator == "*":
            return left + right
        return left if isinstance(node.right, Number) and node.right.value != 0 else None
    degrees = [_time_degree(argument) for argument in node.arguments]
    return 0 if all(degree == 0 for degree in degrees) else None


def _reason(exc: decimal.DecimalException) -> str:
    if isinstance(exc, decimal.DivisionByZero | decimal.DivisionUndefined):
        return "division by zero"
    if isinstance(exc, decimal.Overflow):
        return "the result is too large"
    return "invalid operation"


def _compile(node: Node, context: decimal.Context) -> _Operand:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Variable):
        return node.position
    if isinstance(node, Negate):
        return _apply(context.minus, _compile(node.operand, context))
    if isinstance(node, Binary):
        operation = _OPERATIONS[node.operator](context)
        return _binary(operation, _compile(node.left, context), _compile(node.right, context))
    arguments = [_compile(argument, context) for argument in node.arguments]
    if node.function in ("ceil", "floor"):
        # to_integral_value rounds with its context's rounding and is exact otherwise.
        integral = context.copy()
        integral.rounding = ROUND_CEILING if node.function == "ceil" else ROUND_FLOOR
        return _apply(integral.to_integral_value, arguments[0])
    return _binary(context.min if node.function == "min" else context.max, *arguments)


_Operation = Callable[[Decimal | int, Decimal | int], Decimal]
_OPERATIONS: dict[str, Callable[[decimal.Context], _Operation]] = {
    "+": lambda context: context.add,
    "-": lambda context: context.subtract,
    "*": lambda context: context.multiply,
    "/": lambda context: context.divide,
}


def _apply(unary: Callable[[Decimal | int], Decimal], operand: _Operand) -> _Operand:
    """A one-argument operation on an operand, computed now when the operand is constant."""
    if isinstance(operand, Decimal):
        return unary(operand)
    if isinstance(operand, int):
        index = operand
        return lambda values: unary(values[index])
    inner = operand
    return lambda values: unary(inner(values))


def _binary(operation: _Operation, left: _Operand, right: _Operand) -> _Operand:
    """A two-argument operation, specialised on what its operands are so that a variable or a
    constant costs no call of its own; computed now when both are constant."""
    if isinstance(left, Decimal):
        if isinstance(right, Decimal):
            return operation(left, right)
        return _constant_left(operation, left, right)
    if isinstance(left, int):
        i = left
        if isinstance(right, Decimal):
            c = right
            return lambda values: operation(values[i], c)
        if isinstance(right, int):
            j = right
            return lambda values: operation(values[i], values[j])
        g = right
        return lambda values: operation(values[i], g(values))
    f = left
    if isinstance(right, Decimal):
        c = right
        return lambda values: operation(f(values), c)
    if isinstance(right, int):
        j = right
        return lambda values: operation(f(values), values[j])
    g = right
    return lambda values: operation(f(values), g(values))


def _constant_left(operation: _Operation, c: Decimal, right: int | Function) -> Function:
    if isinstance(right, int):
        j = right
        return lambda values: operation(c, values[j])
    g = right
    return lambda values: operation(c, g(values))


def _function(operand: _Operand, context: decimal.Context) -> Function:
    """The whole formula as a function, whatever its top operand is (a lone variable goes
    through `plus`, so that the result is a Decimal even when the value is an int)."""
    if isinstance(operand, Decimal):
        constant = operand
        return lambda _values: constant
    if isinstance(operand, int):
        index = operand
        plus = context.plus
        return lambda values: plus(values[index])
    return operand
