"""A component's arguments against what it takes: their annotated types (before building) and the
error for a value its constructor refuses (after), naming the recipe key most likely at fault.

Like ``gankit.config.registry`` (its one user) a leaf: it imports nothing of gankit but the error type.
"""
import collections.abc
import inspect
import re
import types
import typing
from typing import Any, Mapping

from gankit.errors import GankitError

# What a constructor raises for a value it cannot use (torch: RuntimeError for a negative size).
REJECTIONS = (TypeError, ValueError, RuntimeError, AssertionError, OverflowError, ZeroDivisionError)


def rejected(kind: str, name: str, key: str, given: Mapping[str, Any], passed: Mapping[str, Any],
             e: Exception) -> GankitError:
    """The error for a component that refused its arguments: the recipe key most likely at fault
    (the argument its message names, else the one whose value it quotes) and its own message."""
    text = " ".join(str(e).split()) or type(e).__name__
    suspects = _suspects(given, text)
    where = f"{key}.{suspects[0]}" if len(suspects) == 1 else key
    args = ", ".join(f"{k}={v!r}" for k, v in given.items()) or "(none)"
    supplied = ", ".join(f"{k}={v!r}" for k, v in passed.items() if k not in given)
    return GankitError(
        f"{where}: {kind} '{name}' rejected its arguments ({args}{'; from the run: ' + supplied if supplied else ''}): "
        f"{type(e).__name__}: {text[:500]}. Fix {where if len(suspects) == 1 else 'the arguments under ' + key + ':'} "
        f"in the recipe."
    )


def _suspects(given: Mapping[str, Any], text: str) -> list[str]:
    """Arguments of the recipe that an error message names, else those whose value it quotes."""
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    named = [k for k in given if k in words]
    if named:
        return named
    numbers = set(re.findall(r"-?\d+(?:\.\d+)?", text))
    quoted = [k for k, v in given.items() if numbers & set(_number_strings(v))]
    impossible = [k for k in quoted if any(float(n) <= 0 for n in numbers & set(_number_strings(given[k])))]
    return impossible if len(impossible) == 1 else quoted


def _number_strings(value) -> list[str]:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [str(value)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _number_strings(v)]
    return []


_SEQUENCES = (list, tuple, collections.abc.Sequence)


def expected_type(value, ann) -> str | None:
    """What an argument's annotation asks for, when ``value`` (from YAML) is not that; None when it fits
    or the annotation is not one of the plain types (int, float, bool, str, sequences, dict, unions)."""
    if ann is inspect.Parameter.empty or ann is Any:
        return None
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin in (typing.Union, types.UnionType):
        described = [expected_type(value, a) for a in args]
        if None in described:
            return None
        return " or ".join(described)
    if ann is type(None):
        return None if value is None else "null"
    if ann is bool:
        return None if isinstance(value, bool) else "true or false"
    if ann is int:
        return None if isinstance(value, int) and not isinstance(value, bool) else "a whole number"
    if ann is float:
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else "a number"
    if ann is str:
        return None if isinstance(value, str) else "a string"
    if ann is dict or origin is dict:
        return None if isinstance(value, dict) else "a mapping"
    if ann in _SEQUENCES or origin in _SEQUENCES:
        if not isinstance(value, (list, tuple)):
            return "a list"
        inner = [a for a in args if a is not Ellipsis]
        if len(inner) == 1 and any(expected_type(v, inner[0]) for v in value):
            return f"a list of {expected_type(object(), inner[0])}s".replace("a list of a ", "a list of ")
        return None
    return None
