"""The runner's own errors: each carries a message a user can act on.

The entry point prints them as one paragraph and exits non-zero; anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations


class RunnerError(Exception):
    """Base class: a problem the user can fix (bad data, bad config, unreachable server)."""


class DataError(RunnerError, ValueError):
    """The data do not fit the family (outside the support, wrong type, empty, ...).

    ``index`` is the 0-based position of the first offending value, when there is one,
    so the data source can translate it into a file row.
    """

    def __init__(self, message: str, *, index: int | None = None, value: object = None):
        super().__init__(message)
        self.index = index
        self.value = value


class ConfigError(RunnerError, ValueError):
    """A configuration value is out of range or names something that does not exist."""


class TrackingError(RunnerError):
    """Results could not be sent to the tracking server (they are still on disk)."""
