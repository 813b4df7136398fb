"""The safe expression language used by formulas, rules, defaults and conditions.

Expressions are parsed with :mod:`ast` and checked against an allow-list of node types
(no attribute access, subscripts, comprehensions, lambdas or keyword arguments), then
evaluated by simpleeval with a fixed set of functions. Without loops, evaluation time is
bounded by the expression's size, which the metadata schema caps.
"""

from __future__ import annotations

import ast
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, Iterable

from simpleeval import SimpleEval

MAX_LENGTH = 2000
MAX_DEPTH = 100

_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Call,
    ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple,
    ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod, ast.FloorDiv,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
)

CONSTANTS = {"null": None, "true": True, "false": False, "None": None, "True": True, "False": False}


class ExpressionError(ValueError):
    """An expression that does not parse, uses something not allowed, or fails to run."""


def _number(value):
    return Decimal(str(value)) if isinstance(value, float) else value


def _total(rows, column):
    if not rows:
        return Decimal(0)
    total = Decimal(0)
    for row in rows:
        value = row.get(column) if isinstance(row, dict) else None
        if value is not None:
            total += Decimal(str(value))
    return total


def _days_between(start, end):
    if start is None or end is None:
        return None
    if isinstance(start, dt.datetime):
        start = start.date()
    if isinstance(end, dt.datetime):
        end = end.date()
    return (end - start).days


def _coalesce(*values):
    for value in values:
        if value is not None and value != "":
            return value
    return None


def _round(value, digits=0):
    if value is None:
        return None
    # half-up, as Chinese accounting rounds (Python's round() rounds half to even)
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-int(digits)), rounding=ROUND_HALF_UP)


FUNCTIONS = {
    "today": dt.date.today,
    "now": lambda: dt.datetime.now().replace(microsecond=0),
    "len": lambda value: 0 if value is None else len(value),
    "round": _round,
    "abs": lambda value: None if value is None else abs(value),
    "min": min,
    "max": max,
    "days_between": _days_between,
    "total": _total,
    "coalesce": _coalesce,
}


@lru_cache(maxsize=4096)
def parse(source: str) -> ast.Expression:
    """Parse and check the shape of an expression; raise ExpressionError if it is not allowed."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("empty expression")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        where = f" (column {exc.offset})" if exc.offset else ""
        raise ExpressionError(f"does not parse: {exc.msg}{where}") from None
    except (ValueError, RecursionError, MemoryError):  # NUL bytes, absurd nesting
        raise ExpressionError("does not parse") from None
    # one iterative pass (no recursion, so deep trees cannot overflow the stack here)
    depth = {id(tree): 0}
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ExpressionError(f"'{type(node).__name__}' is not allowed in expressions")
        level = depth[id(node)]
        if level > MAX_DEPTH:
            # evaluation recurses once per level: keep it far from Python's recursion limit
            raise ExpressionError(f"expression nested more than {MAX_DEPTH} levels deep")
        for child in ast.iter_child_nodes(node):
            depth[id(child)] = level + 1
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                what = type(node.func).__name__
                raise ExpressionError(
                    f"'{what}' is not allowed in expressions" if not isinstance(node.func, _ALLOWED_NODES)
                    else f"only these functions can be called: {', '.join(sorted(FUNCTIONS))}"
                )
            if node.func.id not in FUNCTIONS:
                raise ExpressionError(
                    f"unknown function '{node.func.id}'; available: {', '.join(sorted(FUNCTIONS))}"
                )
            if node.keywords:
                raise ExpressionError("keyword arguments are not allowed")
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (bytes, complex)):
                raise ExpressionError("only numbers, text and booleans are allowed as constants")
            if isinstance(node.value, float):  # exact Decimal literals, so money arithmetic stays exact
                node.value = Decimal(repr(node.value))
    return tree


def names(source: str) -> set[str]:
    """The variable names an expression reads (functions and constants excluded)."""
    tree = parse(source)
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {
        n.id for n in ast.walk(tree)
        if isinstance(n, ast.Name) and id(n) not in calls and n.id not in CONSTANTS
    }


def check(source: str, known: Iterable[str]) -> None:
    """Raise ExpressionError unless the expression parses and reads only ``known`` names."""
    known = set(known)
    unknown = sorted(names(source) - known)
    if unknown:
        import difflib

        hints = [difflib.get_close_matches(u, known, n=1) for u in unknown]
        hint = "; ".join(f"did you mean '{h[0]}'?" for h in hints if h)
        raise ExpressionError(f"unknown field {', '.join(repr(u) for u in unknown)}" + (f" ({hint})" if hint else ""))


class _Evaluator(SimpleEval):
    """simpleeval plus list and tuple literals, so ``status in ['a', 'b']`` works (plain
    SimpleEval refuses them at run time). :func:`parse` has already rejected every other
    compound node (dicts, sets, comprehensions)."""

    def __init__(self, names):
        super().__init__(names=names, functions=FUNCTIONS)
        self.nodes[ast.List] = lambda node: [self._eval(item) for item in node.elts]
        self.nodes[ast.Tuple] = lambda node: tuple(self._eval(item) for item in node.elts)


def evaluate(source: str, values: dict[str, Any]) -> Any:
    """Evaluate an expression over ``values``; raise ExpressionError on any failure."""
    tree = parse(source)
    env = dict(CONSTANTS)
    env.update({k: _number(v) for k, v in values.items()})
    evaluator = _Evaluator(env)
    try:
        return evaluator.eval(source, previously_parsed=tree.body)
    except Exception as exc:  # any runtime failure of user metadata becomes one error type
        raise ExpressionError(str(exc)) from None
