"""Config machinery shared by every stage's config: building frozen dataclasses from YAML
mappings with type checks, and errors that name the field."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any


class ConfigError(ValueError):
    """A configuration problem; the message names the offending field."""


def check(cond: bool, where: str, message: str) -> None:
    if not cond:
        raise ConfigError(f"{where}: {message}")


# --------------------------------------------------------------------------- building


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    """Check ``value`` against a (simple) type annotation, converting lists to tuples."""
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: unexpected value {value!r}")
    if origin is tuple:
        check(isinstance(value, list | tuple), where, f"expected a list, got {value!r}")
        (item_type, *_rest) = typing.get_args(annotation) or (Any,)
        return tuple(_coerce(v, item_type, f"{where}[{i}]") for i, v in enumerate(value))
    if dataclasses.is_dataclass(annotation):
        return build(annotation, value, where)
    if annotation is bool:
        check(isinstance(value, bool), where, f"expected true/false, got {value!r}")
        return value
    if annotation is int:
        check(isinstance(value, int) and not isinstance(value, bool), where,
               f"expected an integer, got {value!r}")
        return value
    if annotation is float:
        check(isinstance(value, int | float) and not isinstance(value, bool), where,
               f"expected a number, got {value!r}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        # NaN compares false with every bound and inf overflows int(); neither is ever meant.
        check(math.isfinite(number), where, f"must be a finite number, got {value!r}")
        return number
    if annotation is str:
        check(isinstance(value, str), where, f"expected a string, got {value!r}")
        return value
    if origin is dict or annotation is dict:
        check(isinstance(value, dict), where, f"expected a mapping, got {value!r}")
        return value
    return value


def build(cls: type, data: Any, where: str) -> Any:
    """Build the frozen dataclass ``cls`` from a mapping, naming the field on any error."""
    if data is None:
        data = {}
    check(isinstance(data, dict), where, f"expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    check(not unknown, f"{where}.{unknown[0]}" if unknown else where,
           f"unknown field; expected one of: {', '.join(sorted(known))}")
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(value, hints[name], f"{where}.{name}")
    missing = [
        n for n, f in known.items()
        if n not in kwargs and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    check(not missing, f"{where}.{missing[0]}" if missing else where, "is required")
    obj = cls(**kwargs)
    if hasattr(obj, "validate"):
        try:
            obj.validate(where)
        except ConfigError:
            raise
        except ValueError as exc:  # pure configs (filters/) raise ValueError naming the field
            raise ConfigError(str(exc)) from exc
    return obj
