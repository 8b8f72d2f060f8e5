"""A record's ECS document as compact JSON text, written straight from its fields.

A record's id hashes the compact JSON of its document. Building the nested dicts and then
encoding them cost about 20 µs for a flow (half of it the allocation and the garbage collector's
work on millions of short-lived dicts), and most records are never read back as documents. A
text writer is compiled per record class and per *shape* (which fields are None): the shape
fixes where every object opens and in what order its keys come, so the writer is one join of
literal pieces and the encoded field values. The text is exactly what
``json.dumps(to_document(record), ensure_ascii=False, separators=(",", ":"))`` gives; a test
compares them over every record type.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from itertools import repeat
from typing import Any

from sensors.ecsbuild import FieldPlan

TextWriter = Callable[[Mapping[str, Any]], str]
_escape: Callable[[str], str] = json.encoder.encode_basestring


@dataclass(frozen=True, slots=True)
class _Slot:
    """Where one field's encoded value goes in a shape's skeleton."""

    position: int  # the field's place in the record's row of values
    is_time: bool


def compile_text_writer(
    constants: Mapping[str, Any],
    fields: Iterable[FieldPlan],
    *,
    encode_tree: Callable[[Any], str],
    encode: Callable[[Any], Any],
    format_time: Callable[[float], str],
) -> TextWriter:
    """A function from a record's ``__dict__`` to its document's compact JSON text.

    ``encode_tree`` is the compact encoder of a whole document, used for the constants and
    for values that are not plain (tuples, mappings, nested records, after ``encode``).
    """
    plans = tuple(fields)
    names = tuple(plan.name for plan in plans)
    values_of = operator.itemgetter(*names) if len(names) > 1 else lambda d: (d[names[0]],)
    nones = tuple(repeat(None, len(names)))
    writers: dict[tuple[bool, ...], Callable[[tuple[Any, ...]], str]] = {}
    value_text = _value_encoder(encode_tree, encode)

    def write(values: Mapping[str, Any]) -> str:
        row = values_of(values)
        shape = tuple(map(operator.is_, row, nones))
        writer = writers.get(shape)
        if writer is None:
            writer = writers[shape] = _shape_writer(
                constants, plans, row, encode_tree, value_text, format_time
            )
        return writer(row)

    return write


def _shape_writer(
    constants: Mapping[str, Any],
    plans: tuple[FieldPlan, ...],
    first: tuple[Any, ...],
    encode_tree: Callable[[Any], str],
    value_text: Callable[[Any], str],
    format_time: Callable[[float], str],
) -> Callable[[tuple[Any, ...]], str]:
    """The writer of the shape of row ``first``: literal text, and one expression per slot
    specialised to the type ``first`` has there (other types take the general encoder)."""
    skeleton = _constants_tree(constants, encode_tree)
    for position, (plan, value) in enumerate(zip(plans, first, strict=True)):
        if value is None:
            continue
        node = skeleton
        for part in plan.parents:  # parents open where their first present field needs them
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[plan.leaf] = _Slot(position, plan.is_time)  # an existing key keeps its place
    pieces: list[str | _Slot] = []
    _render(skeleton, pieces)
    literals: list[str] = [""]
    expressions: list[str] = []
    names: dict[str, Any] = {"value": value_text, "time": format_time, **_FAST}
    for piece in pieces:
        if isinstance(piece, str):
            literals[-1] += piece
            continue
        expressions.append(_expression(piece, first[piece.position], names))
        literals.append("")
    names["template"] = "%s".join(text.replace("%", "%%") for text in literals)
    # Safe to exec: the source holds only integer positions and names bound in ``names``.
    arguments = "".join(expression + ", " for expression in expressions)
    exec(f"def write(row):\n    return template % ({arguments})\n", names)
    writer: Callable[[tuple[Any, ...]], str] = names["write"]
    return writer


def _expression(slot: _Slot, sample: Any, names: dict[str, Any]) -> str:
    """Source for one slot's JSON text, fast for ``sample``'s exact type (checked per row)."""
    item = f"row[{slot.position}]"
    if slot.is_time:
        return f"('\"' + time({item}) + '\"')"
    kind = type(sample)
    fast = {str: "escape({v})", int: "int_text({v})", float: "float_text({v})"}.get(kind)
    if fast is None and isinstance(sample, Enum) and type(sample.value) is str:
        fast = "escape({v}._value_)"  # the member's value, without the slow property
    if fast is None:
        return f"value({item})"
    type_name = names.setdefault(f"type_{slot.position}", kind) and f"type_{slot.position}"
    return f"({fast.format(v=item)} if type({item}) is {type_name} else value({item}))"


def _constants_tree(
    constants: Mapping[str, Any], encode_tree: Callable[[Any], str]
) -> dict[str, Any]:
    """The class's constants as a nested tree whose leaves are their JSON text."""
    tree: dict[str, Any] = {}
    for path, value in constants.items():
        *parents, leaf = path.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = encode_tree(value)
    return tree


def _render(tree: Mapping[str, Any], pieces: list[str | _Slot]) -> None:
    """Append the compact JSON of ``tree`` to ``pieces``: literal text, and a slot per field."""
    pieces.append("{")
    for index, (key, value) in enumerate(tree.items()):
        pieces.append(("," if index else "") + _escape(key) + ":")
        if isinstance(value, dict):
            _render(value, pieces)
        else:
            pieces.append(value)
    pieces.append("}")


def _value_encoder(
    encode_tree: Callable[[Any], str], encode: Callable[[Any], Any]
) -> Callable[[Any], str]:
    """JSON text of one field value, as the document encoder would write it in place."""

    def slow(value: Any) -> str:
        if isinstance(value, Enum) and type(value.value) is str:
            return _escape(value.value)
        return encode_tree(encode(value))

    # Exact types only, as the encoder checks them (a bool is not written as an int).
    fast: dict[type, Callable[[Any], str]] = {
        str: _escape,
        int: int.__repr__,
        float: _float_text,
        bool: lambda value: "true" if value else "false",
    }  # the general case: each slot's writer is specialised further (``_expression``)

    def text(value: Any) -> str:
        return fast.get(type(value), slow)(value)

    return text


def _float_text(value: float) -> str:
    """A float as json writes it (``allow_nan``: NaN and the infinities as JavaScript names)."""
    if math.isfinite(value):
        return float.__repr__(value)
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


# What the shape writers call for their specialised slots (``_expression``).
_FAST: dict[str, Any] = {
    "escape": _escape,
    "int_text": int.__repr__,
    "float_text": _float_text,
}
