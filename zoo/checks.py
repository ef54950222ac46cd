"""Setting checks: each raises ``ValueError`` naming the setting and its allowed range."""

from __future__ import annotations

import numbers


def check_int(name: str, value, minimum: int, maximum: int | None = None) -> int:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is an int in range."""
    upper = "" if maximum is None else f" and <= {maximum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}={value!r} must be an integer >= {minimum}{upper}")
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(
            f"{name}={value!r} is out of range; expected an integer >= {minimum}{upper}"
        )
    return int(value)


def check_rate(name: str, value) -> float:
    """A dropout-like fraction in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{name}={value!r} is out of range; expected a number in [0, 1)")
    return float(value)


def check_positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{name}={value!r} is out of range; expected a number > 0")
    return float(value)


def check_non_negative(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"{name}={value!r} is out of range; expected a number >= 0")
    return float(value)


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(
            f"{name}={value!r} is not accepted; expected one of {', '.join(map(repr, choices))}"
        )
    return value


def check_optional_positive(name: str, value):
    return None if value is None else check_positive(name, value)


def check_optional_rate(name: str, value):
    return None if value is None else check_rate(name, value)
