"""Shared validation for the frozen config dataclasses in ``filters/`` (no pipelines import):
errors are ``ValueError`` naming ``where.field``, which the run config turns into a
``ConfigError``."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import fields
from typing import Any


def checker(where: str) -> Callable[[bool, str, str], None]:
    """``need(cond, field, message)``: raise ``ValueError("where.field: message")`` unless cond."""

    def need(cond: bool, name: str, msg: str) -> None:
        if not cond:
            raise ValueError(f"{where}.{name}: {msg}")

    return need


def need_finite_floats(config: Any, need: Callable[[bool, str, str], None]) -> None:
    """Every float field must be a finite number (YAML's .nan and .inf parse as floats)."""
    for f in fields(config):
        value = getattr(config, f.name)
        if isinstance(value, float):
            need(math.isfinite(value), f.name, f"must be a finite number, got {value!r}")
