"""Range checks for detector thresholds, with errors that name the setting."""

from __future__ import annotations

from collections.abc import Mapping


def check_ranges(config: object, checks: Mapping[str, bool]) -> None:
    """Raise ``ValueError("field: value is out of range")`` for the first failing check.

    Settings turn the message's leading field name into the dotted key of the file.
    """
    for key, ok in checks.items():
        if not ok:
            raise ValueError(f"{key}: {getattr(config, key)!r} is out of range")
