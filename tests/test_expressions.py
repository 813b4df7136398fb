"""The safe expression language: what parses, what is refused, and what evaluation returns."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kehu import expressions
from kehu.expressions import ExpressionError, check, evaluate, names, parse


# ------------------------------------------------------------------ evaluation
@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        ("a + b * 2", {"a": 1, "b": 3}, 7),
        ("(a - b) % 4", {"a": 10, "b": 1}, 1),
        ("a // b", {"a": 7, "b": 2}, 3),
        ("-a", {"a": 5}, -5),
        ("a > 1 and b <= 2", {"a": 2, "b": 2}, True),
        ("a == 1 or not b", {"a": 0, "b": False}, True),
        ("a != null", {"a": None}, False),
        ("a == null", {"a": None}, True),
        ("'big' if a >= 1000 else 'small'", {"a": 1000}, "big"),
        ("'big' if a >= 1000 else 'small'", {"a": 999}, "small"),
        ("len(name)", {"name": "客户名称"}, 4),
        ("len(name)", {"name": None}, 0),
        ("abs(a)", {"a": -3}, 3),
        ("min(a, b)", {"a": 4, "b": 2}, 2),
        ("max(a, b)", {"a": 4, "b": 2}, 4),
        ("true and not false", {}, True),
    ],
)
def test_operators_and_functions(source, values, expected):
    assert evaluate(source, values) == expected


@pytest.mark.parametrize(
    ("source", "status", "expected"),
    [
        ("status in ['resolved', 'closed']", "closed", True),
        ("status in ['resolved', 'closed']", "open", False),
        ("status not in ['resolved', 'closed']", "open", True),
        ("status in ('a', 'b')", "b", True),
    ],
)
def test_in_over_a_list_literal(source, status, expected):
    # the real packs use this form in required_if / visible_if conditions
    assert evaluate(source, {"status": status}) is expected


def test_float_literals_are_exact_decimals():
    result = evaluate("0.1 + 0.2", {})
    assert isinstance(result, Decimal)
    assert result == Decimal("0.3")


def test_float_values_are_turned_into_decimals():
    assert evaluate("price * 3", {"price": 0.1}) == Decimal("0.3")
    assert evaluate("price + 0.2", {"price": Decimal("0.1")}) == Decimal("0.3")


def test_today_and_now():
    assert evaluate("today()", {}) == dt.date.today()
    now = evaluate("now()", {})
    assert isinstance(now, dt.datetime) and now.microsecond == 0
    assert abs((now - dt.datetime.now()).total_seconds()) < 5


def test_days_between_dates_and_datetimes():
    assert evaluate("days_between(a, b)", {"a": dt.date(2024, 1, 1), "b": dt.date(2024, 3, 1)}) == 60
    assert evaluate("days_between(a, b)", {"a": dt.datetime(2024, 1, 31, 23, 0), "b": dt.date(2024, 2, 1)}) == 1
    assert evaluate("days_between(a, b)", {"a": None, "b": dt.date(2024, 2, 1)}) is None


def test_total_sums_a_child_table_column():
    lines = [{"amount": Decimal("1.10")}, {"amount": None}, {"amount": 2}, {"other": 5}]
    result = evaluate("total(lines, 'amount')", {"lines": lines})
    assert result == Decimal("3.10")
    assert isinstance(result, Decimal)
    assert evaluate("total(lines, 'amount')", {"lines": []}) == 0
    assert evaluate("total(lines, 'amount')", {"lines": None}) == 0


def test_coalesce_skips_null_and_empty_text():
    assert evaluate("coalesce(a, b, 3)", {"a": None, "b": ""}) == 3
    assert evaluate("coalesce(a, 0) * 2", {"a": Decimal("2.5")}) == Decimal("5.0")
    assert evaluate("coalesce(a, 0) * 2", {"a": None}) == 0
    assert evaluate("coalesce(a, b)", {"a": None, "b": None}) is None


def test_round():
    assert evaluate("round(a, 2)", {"a": Decimal("2.346")}) == Decimal("2.35")
    assert evaluate("round(a, 1)", {"a": 1.24}) == Decimal("1.2")
    assert isinstance(evaluate("round(a, 1)", {"a": 1.24}), Decimal)
    assert evaluate("round(a)", {"a": Decimal("7.6")}) == Decimal("8")
    assert evaluate("round(a, 2)", {"a": None}) is None


# ------------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("a.__class__", "'Attribute' is not allowed"),
        ("name.upper()", "'Attribute' is not allowed"),
        ("today()()", "only these functions can be called"),
        ("a[0]", "'Subscript' is not allowed"),
        ("[x for x in lines]", "'ListComp' is not allowed"),
        ("{x: 1 for x in lines}", "'DictComp' is not allowed"),
        ("sum(x for x in lines)", "unknown function 'sum'"),
        ("(lambda: 1)()", "'Lambda' is not allowed"),
        ("__import__('os')", "unknown function '__import__'"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("eval('1')", "unknown function 'eval'"),
        ("round(a, ndigits=2)", "keyword arguments are not allowed"),
        ("{'a': 1}", "'Dict' is not allowed"),
        ("(a := 1)", "'NamedExpr' is not allowed"),
        ("f'{a}'", "'JoinedStr' is not allowed"),
        ("a ** 99999999", "'Pow' is not allowed"),
        ("b'x'", "only numbers, text and booleans"),
        ("a if", "does not parse"),
        ("", "empty expression"),
        ("   ", "empty expression"),
    ],
)
def test_refused_constructs(source, message):
    with pytest.raises(ExpressionError, match="^.*" + message.replace("(", r"\(").replace(")", r"\)")):
        parse(source)
    # evaluation goes through the same check: nothing refused ever runs
    with pytest.raises(ExpressionError):
        evaluate(source, {"a": 1, "lines": [], "name": "x"})


def test_unknown_function_lists_the_available_ones():
    with pytest.raises(ExpressionError) as info:
        parse("open('x')")
    for name in ("today", "total", "coalesce", "days_between", "round"):
        assert name in str(info.value)


def test_over_long_expression_is_refused():
    source = "name == '" + "x" * expressions.MAX_LENGTH + "'"
    with pytest.raises(ExpressionError, match=f"longer than {expressions.MAX_LENGTH} characters"):
        parse(source)
    # just under the limit is fine
    source = "name == '" + "x" * (expressions.MAX_LENGTH - 10) + "'"
    assert len(source) == expressions.MAX_LENGTH
    assert evaluate(source, {"name": "x"}) is False


@pytest.mark.parametrize("source", ["a" + " + a" * 400, "-" * 1500 + "a", "not " * 300 + "a", "[" * 150 + "]" * 150])
def test_deeply_nested_expression_is_refused_not_a_crash(source):
    # within the length limit, but evaluating it would exhaust Python's stack
    with pytest.raises(ExpressionError, match="nested more than"):
        parse(source)
    with pytest.raises(ExpressionError):
        evaluate(source, {"a": 1})


def test_reasonably_long_sums_still_work():
    assert evaluate("a" + " + a" * 40, {"a": Decimal("0.1")}) == Decimal("4.1")


# -------------------------------------------------------------------- checking
def test_names_excludes_functions_and_constants():
    assert names("total(lines, 'amount') + coalesce(fee, 0) > 0 and flag == true and x != null") == {
        "lines", "fee", "flag", "x"}


def test_check_accepts_known_names():
    check("coalesce(quantity, 0) * coalesce(price, 0)", ["quantity", "price"])


def test_check_reports_unknown_field_with_hint():
    with pytest.raises(ExpressionError) as info:
        check("amout * 2", ["amount", "name"])
    assert str(info.value) == "unknown field 'amout' (did you mean 'amount'?)"


def test_check_reports_every_unknown_field():
    with pytest.raises(ExpressionError) as info:
        check("zzz + amout", ["amount"])
    message = str(info.value)
    assert "'amout'" in message and "'zzz'" in message
    assert "did you mean 'amount'?" in message


def test_check_without_a_close_match_has_no_hint():
    with pytest.raises(ExpressionError) as info:
        check("qqqq > 1", ["amount"])
    assert str(info.value) == "unknown field 'qqqq'"


def test_check_also_refuses_bad_shapes():
    with pytest.raises(ExpressionError, match="'Attribute' is not allowed"):
        check("amount.real", ["amount"])


# --------------------------------------------------------------- run failures
@pytest.mark.parametrize(
    ("source", "values"),
    [
        ("a + 1", {"a": None}),
        ("a / b", {"a": 1, "b": 0}),
        ("a + 1", {}),
        ("days_between(a, b)", {"a": "2024-01-01", "b": dt.date(2024, 1, 2)}),
    ],
)
def test_runtime_failures_become_expression_errors(source, values):
    with pytest.raises(ExpressionError):
        evaluate(source, values)
