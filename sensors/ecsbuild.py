"""Document builders compiled once per record class from its ECS fields.

The generic codec walked every field's dotted path for every record; a builder is that walk
unrolled for one class into straight-line Python (the way ``dataclasses`` writes ``__init__``),
so encoding an event costs a few dict stores. It builds exactly the generic walk's document:
the same keys in the same insertion order, since record ids hash the JSON text unsorted, and
a parent object appears where its first non-None field puts it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Builder = Callable[[Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class FieldPlan:
    """Where one dataclass field goes in the document, and whether it is an epoch time."""

    name: str
    parents: tuple[str, ...]
    leaf: str
    is_time: bool


def compile_builder(
    constants: Mapping[str, Any],
    fields: Iterable[FieldPlan],
    *,
    encode: Callable[[Any], Any],
    format_time: Callable[[float], str],
    plain: frozenset[type],
) -> Builder:
    """A function from a record's ``__dict__`` to its ECS document (fresh dicts every call)."""
    fields = tuple(fields)
    names: dict[str, Any] = {"encode": encode, "format_time": format_time, "plain": plain}
    template: dict[str, Any] = {}
    for index, (path, value) in enumerate(constants.items()):
        *parents, leaf = path.split(".")
        node = template
        for part in parents:
            node = node.setdefault(part, {})
        # Constants are shared by reference, as the generic walk did, so name them, not repr.
        node[leaf] = names[f"constant_{index}"] = value
    shared = {id(value): name for name, value in names.items() if name.startswith("constant_")}
    overwritten = {(*f.parents, f.leaf) for f in fields}
    known = {path for path in _nodes(template, (), shared) if path not in overwritten}
    lines = ["def build(values):", f"    doc = {_literal(template, shared)}"]
    for field in fields:
        lines += _field_lines(field, known)
    lines.append("    return doc")
    # Safe to exec: the source holds only field names (identifiers) and repr()-quoted keys.
    exec("\n".join(lines), names)
    builder: Builder = names["build"]
    return builder


def _nodes(
    tree: Mapping[str, Any], path: tuple[str, ...], shared: Mapping[int, str]
) -> Iterable[tuple[str, ...]]:
    """Every object the constants' paths create: those exist before any field is set."""
    for key, value in tree.items():
        if id(value) not in shared:
            yield (*path, key)
            yield from _nodes(value, (*path, key), shared)


def _literal(tree: Mapping[str, Any], shared: Mapping[int, str]) -> str:
    """Source for a fresh copy of the constants' tree whose leaves are the shared values."""
    items = (
        f"{key!r}: {shared[id(value)] if id(value) in shared else _literal(value, shared)}"
        for key, value in tree.items()
    )
    return "{" + ", ".join(items) + "}"


def _field_lines(field: FieldPlan, known: set[tuple[str, ...]]) -> list[str]:
    """Set one field when it is not None, creating its parents the first time they are needed."""
    lines = [f"    value = values[{field.name!r}]", "    if value is not None:"]
    node = "doc"
    for depth, part in enumerate(field.parents, start=1):
        child = f"node_{depth}"
        if field.parents[:depth] in known:
            lines.append(f"        {child} = {node}[{part!r}]")
        else:
            lines.append(f"        {child} = {node}.get({part!r})")
            lines.append(f"        if {child} is None:")
            lines.append(f"            {child} = {node}[{part!r}] = {{}}")
        node = child
    if field.is_time:
        encoded = "format_time(value)"
    else:  # plain values first, as the generic encoder does: most fields are plain
        encoded = "value if type(value) in plain else encode(value)"
    lines.append(f"        {node}[{field.leaf!r}] = {encoded}")
    return lines
