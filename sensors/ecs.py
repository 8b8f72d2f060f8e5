"""Elastic Common Schema codec for frozen record dataclasses.

A record declares each field's ECS path once, with :func:`ecs`; :func:`to_document` and
:func:`from_document` then map both ways, and :func:`record_id` gives the deterministic id
under which a store keeps the document, so a re-sent batch overwrites instead of duplicating.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import json
import math
import operator
import types
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from sensors.ecsbuild import Builder, FieldPlan, compile_builder
from sensors.ecstext import TextWriter, compile_text_writer

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


_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# Last second whose rendering cannot carry into year 10000, which datetime refuses.
_LAST_FAST_SECOND = 253402300798


def format_time(epoch: float) -> str:
    """Render epoch seconds as an ISO-8601 UTC timestamp with microseconds."""
    if 0 <= epoch < _LAST_FAST_SECOND:  # NaN fails this too and gets datetime's error
        second, micros = _split(epoch)
        # str() of 1_000_000 + micros, less its leading 1, is %06d at a third of the cost.
        return _second(second) + str(1_000_000 + micros)[1:] + "Z"
    return datetime.fromtimestamp(epoch, UTC).strftime(_FORMAT)


def document_time(epoch: float) -> float:
    """Epoch seconds as a document holds them: ``parse_time(format_time(epoch))``, without
    the text (the microsecond rounding of :func:`format_time`, then one exact division)."""
    if 0 <= epoch < _LAST_FAST_SECOND:
        second, micros = _split(epoch)
        return (second * 1_000_000 + micros) / 1_000_000  # what timedelta.total_seconds does
    return parse_time(format_time(epoch))


def _split(epoch: float) -> tuple[int, int]:
    """Whole second and microseconds of a non-negative epoch, rounded as datetime does."""
    # Exactly datetime.fromtimestamp's rounding: the fraction's microseconds rounded
    # half to even (round() on a float does that), carried into the next second.
    fraction, whole = math.modf(epoch)
    micros, second = round(fraction * 1e6), int(whole)
    if micros >= 1_000_000:
        return second + 1, micros - 1_000_000
    return second, micros


@functools.lru_cache(maxsize=4096)
def _second(second: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.`` of a whole epoch second (cached: events share seconds)."""
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.")


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
_PLAIN_TYPES = frozenset(_PLAIN)


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


def _get_path(doc: Mapping[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return dataclasses.MISSING
        node = node[part]
    return node


_BUILDERS: dict[type, Builder] = {}


def _builder(cls: type) -> Builder:
    """The class's document builder, compiled on first use from its constants and fields."""
    builder = _BUILDERS.get(cls)
    if builder is None:
        constants = getattr(cls, "ECS_CONSTANTS", {})
        builder = compile_builder(
            constants, _plans(cls), encode=_encode, format_time=format_time, plain=_PLAIN_TYPES
        )
        _BUILDERS[cls] = builder
    return builder


_TEXT_WRITERS: dict[type, TextWriter] = {}


def _text_writer(cls: type) -> TextWriter:
    """The class's JSON text writer (``sensors.ecstext``), compiled on first use."""
    writer = _TEXT_WRITERS.get(cls)
    if writer is None:
        constants = getattr(cls, "ECS_CONSTANTS", {})
        writer = _TEXT_WRITERS[cls] = compile_text_writer(
            constants, _plans(cls), encode_tree=_ENCODE, encode=_encode, format_time=format_time
        )
    return writer


def _plans(cls: type) -> list[FieldPlan]:
    """Where each of the class's ECS fields goes, in field order."""
    plans = []
    for field in dataclasses.fields(cls):
        path = field.metadata.get(_PATH)
        if path is not None:
            *parents, leaf = path.split(".")
            is_time = bool(field.metadata.get(_TIME))
            plans.append(
                FieldPlan(name=field.name, parents=tuple(parents), leaf=leaf, is_time=is_time)
            )
    return plans


_READERS: dict[tuple[type, str], Callable[[Any], Any]] = {}


def path_reader(cls: type, path: str) -> Callable[[Any], Any]:
    """A function giving what a ``cls`` record's document holds at the dotted ECS ``path``
    before encoding (a field's raw value, epoch seconds for times, or a class constant; None
    when absent): a store's index columns without building the document."""
    reader = _READERS.get((cls, path))
    if reader is None:
        names = {f.metadata[_PATH]: f.name for f in dataclasses.fields(cls) if _PATH in f.metadata}
        if path in names:
            reader = operator.attrgetter(names[path])
        else:
            constant = getattr(cls, "ECS_CONSTANTS", {}).get(path)
            reader = lambda _record: constant  # noqa: E731
        _READERS[(cls, path)] = reader
    return reader


def path_value(record: Any, path: str) -> Any:
    """What ``record``'s document holds at ``path`` before encoding (see :func:`path_reader`)."""
    return path_reader(type(record), path)(record)


def to_text(record: Any) -> str:
    """The record's ECS document as compact JSON, written without building the document."""
    return _text_writer(type(record))(record.__dict__)


def to_document(record: Any) -> dict[str, Any]:
    """Map a record to its nested ECS document (without the id)."""
    return _builder(type(record))(record.__dict__)


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


_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _compact_encoder() -> Callable[[Any], str]:
    """``json.dumps(doc, ensure_ascii=False, separators=(",", ":"))``, built once.

    ``JSONEncoder.encode`` makes a new C encoder on every call, a third of the cost of a
    small document; CPython's is made once here (documents are trees, so without the
    circular-reference check). Other interpreters fall back to the encoder itself.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _COMPACT.encode
    escape = json.encoder.encode_basestring  # what ensure_ascii=False selects
    # Arguments: markers, default, escape, indent, separators, sort_keys, skipkeys, allow_nan.
    chunks = make(None, _COMPACT.default, escape, None, ":", ",", False, False, True)
    return lambda doc: "".join(chunks(doc, 0))


_ENCODE = _compact_encoder()


def record_id(record: Any, *, prefix: str = "") -> str:
    """Return a deterministic id: a hash of the record's ECS document (same content, same id).

    Records are immutable, so the id (and the document it came from) is computed once and
    kept on the instance; see :func:`cached_document`.
    """
    cached = record.__dict__.get("_record_id")
    if cached is not None:
        return str(cached)
    # No sort_keys: documents are built in a fixed field order and mappings are encoded sorted,
    # so the same content always serialises the same way (and sorting costs a third).
    text = cached_json(record)
    digest = prefix + hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()
    record.__dict__["_record_id"] = digest  # frozen: written around __setattr__
    return digest


def cached_json(record: Any) -> str:
    """The record's ECS document as compact JSON (the text its id was hashed from)."""
    text = record.__dict__.get("_record_json")
    if text is None:
        text = record.__dict__["_record_json"] = to_text(record)
    return str(text)


def cached_document(record: Any) -> dict[str, Any]:
    """The record's ECS document, computed once (stores serialise it; never mutate it)."""
    doc = record.__dict__.get("_record_doc")
    if doc is None:  # the id's text was written without a document: build it on demand
        doc = record.__dict__["_record_doc"] = to_document(record)
    return dict(doc)
