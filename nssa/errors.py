"""One error tree for the application: failures carry the context an operator needs."""

from __future__ import annotations


class MonitorError(Exception):
    """Root of every error NSSA raises on purpose."""


class ConfigError(MonitorError):
    """A settings file is missing, unreadable or wrong; names the file and the key."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        super().__init__(f"{file}: {key}: {problem}" if key else f"{file}: {problem}")
        self.file = file
        self.key = key
        self.problem = problem


class StoreError(MonitorError):
    """A store could not be opened, read or written."""


class StoreUnavailableError(StoreError):
    """The store did not answer (refused, timed out, overloaded); writes may be spooled."""


class ConflictError(StoreError):
    """A record changed since it was read (another analyst saved first); reload and retry."""


class SpoolFullError(StoreError):
    """The on-disk spool reached its size cap; the batch was not kept."""


class LeaseHeldError(MonitorError):
    """Another process holds the lease this one needs (a second incident writer)."""
