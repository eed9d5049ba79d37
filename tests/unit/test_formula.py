"""Pricing formulas: what they accept, what they refuse, and exact decimal arithmetic."""

from __future__ import annotations

import decimal
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared import errors, formula, formula_syntax

CONTEXT = formula.new_context()
# Values of the four variables, in formula_syntax.VARIABLES order, for the examples.
T, N, M, S = Decimal("3600.5"), Decimal(2), Decimal(512), Decimal(102400)
VALUES = {"time_in_seconds": T, "number_of_nodes": N, "memory_in_mb": M, "storage_in_mb": S}


def evaluate(text: str, values: dict[str, Decimal | int] | None = None) -> Decimal:
    return formula.compile(text, formula.new_context()).evaluate(values or VALUES)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", Decimal(3)),
        ("0.041", Decimal("0.041")),
        (".5 + 1.", Decimal("1.5")),
        ("$time_in_seconds", T),
        ("$number_of_nodes * $memory_in_mb", N * M),
        ("1 - 2 - 3", Decimal(-4)),
        ("8 / 2 / 2", Decimal(2)),
        ("2 + 3 * 4", Decimal(14)),
        ("(2 + 3) * 4", Decimal(20)),
        ("-2 * -3", Decimal(6)),
        ("--2", Decimal(2)),
        ("-(1 + 2) * 2", Decimal(-6)),
        ("ceil($time_in_seconds / 3600)", Decimal(2)),
        ("floor($time_in_seconds / 3600)", Decimal(1)),
        ("ceil(-1.5)", Decimal(-1)),
        ("floor(-1.5)", Decimal(-2)),
        ("min(1, 2) + max(3, 4)", Decimal(5)),
        ("max(-1, min($number_of_nodes, 3))", Decimal(2)),
        ("$storage_in_mb / 1024 * 0.1", Decimal(10)),
        ("1 / 3", Decimal("0.3333333333333333333333333333")),
        ("2 / 3", Decimal("0.6666666666666666666666666667")),
        ("$memory_in_mb * 0.1 - 51.2", Decimal("0.0")),
    ],
)
def test_formula_evaluates_the_contract_grammar(text: str, expected: Decimal) -> None:
    assert evaluate(text) == expected


def test_formula_app_example_equals_a_plain_decimal_computation() -> None:
    text = "$number_of_nodes * $time_in_seconds * ($memory_in_mb / 1024) * (0.01 / 3600)"
    with decimal.localcontext(decimal.Context(prec=28)) as ctx:
        expected = N * T * (M / 1024) * (Decimal("0.01") / 3600)
        assert ctx.prec == 28
    assert evaluate(text) == expected


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("1e5", 1, "'1e5' has an exponent"),
        ("2 * 1E-3", 5, "'1E-3' has an exponent"),
        ("2 ^ 3", 3, "'^'"),
        ("2 ** 3", 4, "found '*'"),
        ("7 % 2", 3, "'%'"),
        ("$foo * 2", 1, "unknown variable '$foo'"),
        ("$ * 2", 1, "unknown variable '$'"),
        ("abs(-1)", 1, "unknown name 'abs'"),
        ("eval('1')", 1, "unknown name 'eval'"),
        ("__import__('os')", 1, "unknown name '__import__'"),
        ("time_in_seconds", 1, "unknown name 'time_in_seconds'"),
        ("+1", 1, "found '+'"),
        ("1 +", 4, "found the end of the formula"),
        ("(1", 3, "expected ')'"),
        ("1)", 2, "found ')'"),
        ("1 2", 3, "found '2'"),
        ("min(1)", 6, "min takes 2 arguments, got 1"),
        ("min(1, 2, 3)", 9, "min takes 2 arguments, got more"),
        ("ceil(1, 2)", 7, "ceil takes 1 argument, got more"),
        ("ceil 1", 6, "expected '('"),
        ("1,5", 2, "found ','"),
        ("0x10", 2, "unknown name 'x10'"),
        ("1 < 2", 3, "'<'"),
        ("'1'", 1, '"\'"'),
    ],
)
def test_formula_refuses_anything_else_naming_token_and_position(
    text: str, position: int, fragment: str
) -> None:
    with pytest.raises(errors.InvalidFormula) as refused:
        formula.compile(text, CONTEXT)
    assert refused.value.position == position
    assert fragment in str(refused.value)
    assert f"at position {position}" in str(refused.value)


@pytest.mark.parametrize("text", ["", "   ", "(" * 101 + "1" + ")" * 101, "1+" * 1001 + "1"])
def test_formula_refuses_empty_and_monstrous_formulas(text: str) -> None:
    with pytest.raises(errors.InvalidFormula):
        formula.compile(text, CONTEXT)


def test_formula_deep_but_reasonable_nesting_is_fine() -> None:
    assert evaluate("(" * 50 + "1" + ")" * 50) == 1


def test_formula_constant_failure_is_refused_at_compile() -> None:
    with pytest.raises(errors.FormulaFailed, match="division by zero"):
        formula.compile("$time_in_seconds * (1 / 0)", CONTEXT)


def test_formula_failure_at_evaluation_names_the_values() -> None:
    compiled = formula.compile("1 / ($time_in_seconds - 1)", CONTEXT)
    with pytest.raises(errors.FormulaFailed, match=r"\$time_in_seconds=1.*division by zero"):
        compiled.evaluate(dict.fromkeys(formula_syntax.VARIABLES, Decimal(1)))


def test_formula_refuses_a_float_value() -> None:
    compiled = formula.compile("$memory_in_mb * 0.1", CONTEXT)
    with pytest.raises(TypeError, match="memory_in_mb"):
        compiled.evaluate({**VALUES, "memory_in_mb": 3.0})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        compiled.function((T, N, 3.0, S))  # type: ignore[arg-type]


def test_formula_money_never_passes_through_a_float() -> None:
    """0.1 x 3 is 0.3 in decimal and 0.30000000000000004 in binary floating point."""
    result = evaluate("$memory_in_mb * 0.1", {**VALUES, "memory_in_mb": 3})
    assert result == Decimal("0.3")
    assert str(result) == "0.3"
    assert float(3) * 0.1 != 0.3  # the test would catch a float on the way


def test_formula_ignores_the_threads_decimal_context() -> None:
    with decimal.localcontext() as ctx:
        ctx.prec = 5
        ctx.rounding = decimal.ROUND_DOWN
        assert evaluate("2 / 3") == Decimal("0.6666666666666666666666666667")


# Decimals with more digits than a float holds: any float on the way changes the result.
long_decimals = st.decimals(
    min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=12, allow_nan=False
)


@given(long_decimals, long_decimals, long_decimals, long_decimals)
def test_formula_equals_decimal_arithmetic_for_any_values(
    t: Decimal, n: Decimal, m: Decimal, s: Decimal
) -> None:
    compiled = formula.compile(
        "$time_in_seconds * 0.1 + $number_of_nodes * $memory_in_mb / 3 - ceil($storage_in_mb)",
        CONTEXT,
    )
    ctx = decimal.Context(prec=28)
    expected = ctx.subtract(
        ctx.add(ctx.multiply(t, Decimal("0.1")), ctx.divide(ctx.multiply(n, m), 3)),
        s.to_integral_value(ROUND_CEILING),
    )
    values = {"time_in_seconds": t, "number_of_nodes": n, "memory_in_mb": m, "storage_in_mb": s}
    assert compiled.evaluate(values) == expected


# A random formula: its text and a reference evaluation of its tree by plain recursion.
leaves = st.one_of(
    st.decimals(min_value=0, max_value=10**6, places=4).map(lambda d: (format(d, "f"), d)),
    st.sampled_from(range(4)).map(lambda i: (f"${formula_syntax.VARIABLES[i]}", i)),
)


def _extend(
    children: st.SearchStrategy[tuple[str, object]],
) -> st.SearchStrategy[tuple[str, object]]:
    binary = st.tuples(st.sampled_from("+-*/"), children, children).map(
        lambda p: (f"({p[1][0]} {p[0]} {p[2][0]})", ("op", p[0], p[1][1], p[2][1]))
    )
    calls = st.tuples(st.sampled_from(["ceil", "floor", "neg"]), children).map(
        lambda p: (
            f"-({p[1][0]})" if p[0] == "neg" else f"{p[0]}({p[1][0]})",
            ("call", p[0], p[1][1]),
        )
    )
    pairs = st.tuples(st.sampled_from(["min", "max"]), children, children).map(
        lambda p: (f"{p[0]}({p[1][0]}, {p[2][0]})", ("pair", p[0], p[1][1], p[2][1]))
    )
    return st.one_of(binary, calls, pairs)


trees = st.recursive(leaves, _extend, max_leaves=12)


def _reference(tree: object, values: tuple[Decimal, ...], ctx: decimal.Context) -> Decimal:
    if isinstance(tree, Decimal):
        return tree
    if isinstance(tree, int):
        return values[tree]
    assert isinstance(tree, tuple)
    kind, name, *parts = tree
    args = [_reference(part, values, ctx) for part in parts]
    if kind == "op":
        operation = {"+": ctx.add, "-": ctx.subtract, "*": ctx.multiply, "/": ctx.divide}
        return operation[name](args[0], args[1])
    if kind == "pair":
        return (ctx.min if name == "min" else ctx.max)(args[0], args[1])
    if name == "neg":
        return ctx.minus(args[0])
    return args[0].to_integral_value(ROUND_CEILING if name == "ceil" else ROUND_FLOOR)


@given(trees, st.tuples(*[st.decimals(min_value=0, max_value=10**5, places=6)] * 4))
def test_formula_compiled_equals_a_plain_interpretation(
    tree: tuple[str, object], values: tuple[Decimal, ...]
) -> None:
    text, shape = tree
    ctx = formula.new_context()
    try:
        expected: Decimal | str = _reference(shape, values, ctx)
    except decimal.DecimalException:
        expected = "fails"
    try:
        actual: Decimal | str = formula.compile(text, formula.new_context()).function(values)
    except (decimal.DecimalException, errors.FormulaFailed):
        actual = "fails"
    assert actual == expected, text
