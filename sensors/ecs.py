"""Elastic Common Schema codec for frozen record dataclasses.

A record declares each field's ECS path once, with :func:`ecs`; :func:`to_document` and
:func:`from_document` then map both ways, and :func:`record_id` gives the deterministic id
under which a store keeps the document, so a re-sent batch overwrites instead of duplicating.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import types
import typing
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

R = TypeVar("R")

_PATH = "ecs.path"
_TIME = "ecs.time"


def ecs(
    path: str,
    *,
    time: bool = False,
    default: Any = dataclasses.MISSING,
    default_factory: Any = dataclasses.MISSING,
) -> Any:
    """Declare a dataclass field stored at the dotted ECS ``path`` (``time``: epoch seconds)."""
    meta = {_PATH: path, _TIME: time}
    if isinstance(default, list | dict | set):
        raise TypeError("mutable defaults are not allowed in records; use default_factory")
    return dataclasses.field(default=default, default_factory=default_factory, metadata=meta)


def format_time(epoch: float) -> str:
    """Render epoch seconds as an ISO-8601 UTC timestamp with microseconds."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> float:
    """Parse an ISO-8601 timestamp (``Z`` or offset) back to epoch seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """Resolved field types of a record class (cached: resolving is slow)."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


_PLAIN = (str, int, float, bool)


def _encode(value: Any) -> Any:
    if type(value) in _PLAIN:  # the common case first: most fields are plain values
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in sorted(value.items())}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Nested records (an incident's history) become plain objects, field by field.
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def _set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = doc
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _get_path(doc: Mapping[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return dataclasses.MISSING
        node = node[part]
    return node


_PLANS: dict[type, list[tuple[str, list[str], str, bool]]] = {}


def _plan(cls: type) -> list[tuple[str, list[str], str, bool]]:
    """Per record class: (field, parent path parts, leaf, is time) for every ECS field."""
    if cls not in _PLANS:
        plan = []
        for field in dataclasses.fields(cls):
            path = field.metadata.get(_PATH)
            if path is not None:
                *parents, leaf = path.split(".")
                plan.append((field.name, parents, leaf, bool(field.metadata.get(_TIME))))
        _PLANS[cls] = plan
    return _PLANS[cls]


def to_document(record: Any) -> dict[str, Any]:
    """Map a record to its nested ECS document (without the id)."""
    doc: dict[str, Any] = {}
    for path, value in getattr(record, "ECS_CONSTANTS", {}).items():
        _set_path(doc, path, value)
    values = record.__dict__
    for name, parents, leaf, is_time in _plan(type(record)):
        value = values[name]
        if value is None:
            continue
        node = doc
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = format_time(value) if is_time else _encode(value)
    return doc


def _decode(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _decode(inner[0], value) if len(inner) == 1 else value
    if origin is tuple:
        item = args[0] if args else Any
        return tuple(_decode(item, v) for v in value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        inner_hints = _hints(hint)
        fields = (f.name for f in dataclasses.fields(hint) if f.name in value)
        return hint(**{name: _decode(inner_hints[name], value[name]) for name in fields})
    if hint is float and isinstance(value, int):
        return float(value)
    return value


def from_document(cls: type[R], doc: Mapping[str, Any]) -> R:
    """Rebuild a record of type ``cls`` from an ECS document made by :func:`to_document`."""
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        path = field.metadata.get(_PATH)
        if path is None:
            continue
        value = _get_path(doc, path)
        if value is dataclasses.MISSING or value is None:
            continue
        if field.metadata.get(_TIME):
            value = parse_time(value)
        kwargs[field.name] = _decode(hints[field.name], value)
    return cls(**kwargs)


def record_id(record: Any, *, prefix: str = "") -> str:
    """Return a deterministic id: a hash of the record's ECS document (same content, same id).

    Records are immutable, so the id (and the document it came from) is computed once and
    kept on the instance; see :func:`cached_document`.
    """
    cached = record.__dict__.get("_record_id")
    if cached is not None:
        return str(cached)
    doc = to_document(record)
    # No sort_keys: documents are built in a fixed field order and mappings are encoded sorted,
    # so the same content always serialises the same way (and sorting costs a third).
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    digest = prefix + hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()
    record.__dict__["_record_id"] = digest  # frozen: written around __setattr__
    record.__dict__["_record_doc"] = doc
    record.__dict__["_record_json"] = text
    return digest


def cached_json(record: Any) -> str:
    """The record's ECS document as compact JSON (the text its id was hashed from)."""
    if "_record_json" not in record.__dict__:
        record_id(record)
    return str(record.__dict__["_record_json"])


def cached_document(record: Any) -> dict[str, Any]:
    """The record's ECS document, computed once (stores serialise it; never mutate it)."""
    doc = record.__dict__.get("_record_doc")
    if doc is None:
        record_id(record)
        doc = record.__dict__["_record_doc"]
    return dict(doc)
