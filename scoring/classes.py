"""Class labels are kept as text; this orders them the way a person expects (numerically when they are numbers)."""

from __future__ import annotations

from collections.abc import Iterable


def _number(label: str) -> float | None:
    try:
        return float(label)
    except ValueError:
        return None


def sort_classes(labels: Iterable[str]) -> tuple[str, ...]:
    unique = set(labels)
    numbers = {label: _number(label) for label in unique}
    if all(n is not None for n in numbers.values()):
        return tuple(sorted(unique, key=lambda label: (numbers[label], label)))
    return tuple(sorted(unique))
