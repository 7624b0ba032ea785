"""Errors raised by the scoring core.

ScoringError
 ├── UnknownMetricError      a metric name that is not in the registry (an organiser's mistake)
 └── PredictionFileError     a participant's predictions are unusable (a result, not a crash)
"""


class ScoringError(Exception):
    """Base class of every error raised by `scoring`."""


class UnknownMetricError(ScoringError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown metric {name!r}; expected one of: {', '.join(known)}")
        self.name = name


class PredictionFileError(ScoringError):
    """The predictions cannot be scored; the message says what, where and what was expected."""
