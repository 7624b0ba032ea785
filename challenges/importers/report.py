"""What an importer gives back: the translated bundle's folder and the report the organiser reads before
publishing (every feature of the foreign bundle that riality does not honour, and what it assumed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class Refused(Exception):
    """The foreign bundle cannot be imported: where, and what was expected."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class Imported:
    source: str  # the platform's name, for the report
    root: Path  # the riality bundle written for it
    notes: list[str] = field(default_factory=list)
    higher_is_better: bool | None = None  # as the source declared it, to check against the metric's

    def report(self, metric_higher_is_better: bool) -> list[str]:
        """The notes, and a direction the source declared that the metric does not have."""
        notes = [f"imported from {self.source}", *self.notes]
        if self.higher_is_better is not None and self.higher_is_better != metric_higher_is_better:
            notes.append(
                f"the source said {'higher' if self.higher_is_better else 'lower'} is better; the metric "
                f"ranks {'higher' if metric_higher_is_better else 'lower'} first, as scikit-learn defines it"
            )
        return notes
