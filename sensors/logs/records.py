"""Parser events built without the frozen dataclass ``__init__``, as the flow sensor does.

A parser that has checked every field of an event (types, canonical addresses, enums) fills
the record's ``__dict__`` directly: about three times faster than the generated ``__init__``,
which is most of a parser's time per line. ``tests/test_log_parsers.py`` checks that such
records equal the ones the constructor builds.
"""

from __future__ import annotations

from typing import Any, TypeVar

R = TypeVar("R")

_new = object.__new__
_set = object.__setattr__


def filled(record_type: type[R], values: dict[str, Any]) -> R:
    """A ``record_type`` whose fields are ``values`` (every field, in declaration order)."""
    record: R = _new(record_type)
    _set(record, "__dict__", values)
    return record
