"""Compiled document builders give the generic walk's document, key order included."""

from __future__ import annotations

import dataclasses
import enum
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from sensors.ecs import ecs, format_time, record_id, to_document


class Colour(enum.StrEnum):
    """An enum field: stored by value."""

    RED = "red"


@dataclass(frozen=True, kw_only=True)
class Sample:
    """Optional fields sharing parents, so which one is set first decides the key order."""

    ECS_CONSTANTS: ClassVar[Mapping[str, Any]] = {"event.kind": "event", "event.tags": ["x"]}

    time: float | None = ecs("@timestamp", time=True, default=None)
    a: str | None = ecs("outer.inner.a", default=None)
    b: int | None = ecs("outer.b", default=None)
    c: Colour | None = ecs("outer.inner.c", default=None)
    d: tuple[int, ...] | None = ecs("event.d", default=None)
    e: Mapping[str, int] | None = ecs("other.e", default=None)
    f: bool | None = ecs("f", default=None)


def reference(record: Any) -> dict[str, Any]:
    """The generic per-field walk the builders replaced."""
    doc: dict[str, Any] = {}
    for path, value in record.ECS_CONSTANTS.items():
        *parents, leaf = path.split(".")
        node = doc
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        if value is None:
            continue
        *parents, leaf = field.metadata["ecs.path"].split(".")
        node = doc
        for part in parents:
            node = node.setdefault(part, {})
        if field.metadata["ecs.time"]:
            node[leaf] = format_time(value)
        elif isinstance(value, enum.Enum):
            node[leaf] = value.value
        elif isinstance(value, tuple):
            node[leaf] = list(value)
        elif isinstance(value, Mapping):
            node[leaf] = dict(sorted(value.items()))
        else:
            node[leaf] = value
    return doc


def shape(doc: Any) -> Any:
    """The document with its key order made comparable (dict equality ignores order)."""
    if isinstance(doc, dict):
        return [(key, shape(value)) for key, value in doc.items()]
    return doc


VALUES: dict[str, Any] = {
    "time": 1.5,
    "a": "ä",
    "b": 0,
    "c": Colour.RED,
    "d": (1, 2),
    "e": {"z": 1, "a": 2},
    "f": False,
}


def test_every_pattern_of_missing_fields_builds_the_reference_document() -> None:
    for present in itertools.product((False, True), repeat=len(VALUES)):
        kwargs = {k: v for (k, v), keep in zip(VALUES.items(), present, strict=True) if keep}
        record = Sample(**kwargs)
        assert shape(to_document(record)) == shape(reference(record)), kwargs


def test_constants_are_shared_and_documents_are_fresh() -> None:
    first, second = to_document(Sample(d=(1,))), to_document(Sample())
    assert first["event"]["tags"] is Sample.ECS_CONSTANTS["event.tags"]
    assert first["event"] is not second["event"] and "d" not in second["event"]


def test_ids_differ_with_content_and_repeat_without() -> None:
    assert record_id(Sample(a="x")) == record_id(Sample(a="x")) != record_id(Sample(a="y"))
