"""Country and AS beside outside addresses on the pages (see ``correlator.geography``).

The database folder comes from the app's ``GEO_DATABASE`` (``[geo] database``; None when
``[geo] enabled`` is false); it is loaded once per process, at the first page that asks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from babel import Locale
from flask import current_app
from flask_babel import get_locale

from correlator.geography import DEFAULT_DATABASE, Origin, OriginKind, geography


@dataclass(frozen=True, kw_only=True)
class SourceRow:
    """One row of a top-sources table: the address, its count and where it is registered."""

    address: str
    count: int
    origin: Origin | None  # None: not an address, or nothing known of it (or lookups off)


def locate(addresses: Sequence[str]) -> tuple[Origin | None, ...]:
    """The origin of each address, as the app's settings allow (all None when disabled)."""
    directory = current_app.config.get("GEO_DATABASE", DEFAULT_DATABASE)
    if directory is None or not addresses:
        return (None,) * len(addresses)
    return geography(Path(str(directory))).locate(addresses)


def source_rows(counts: Sequence[tuple[str, int]]) -> tuple[SourceRow, ...]:
    """``(address, count)`` rows with each address's origin, looked up in one batch."""
    origins = locate([address for address, _ in counts])
    return tuple(
        SourceRow(address=address, count=count, origin=origin)
        for (address, count), origin in zip(counts, origins, strict=True)
    )


@dataclass(frozen=True, kw_only=True)
class AddressOrigin:
    """An outside address and where it is registered."""

    address: str
    origin: Origin


def public_origins(addresses: Sequence[str]) -> tuple[AddressOrigin, ...]:
    """The addresses among ``addresses`` with a known country or AS, in their order."""
    return tuple(
        AddressOrigin(address=address, origin=origin)
        for address, origin in zip(addresses, locate(addresses), strict=True)
        if origin is not None and origin.kind is OriginKind.PUBLIC
    )


def country_name(code: str | None) -> str:
    """The country ``code`` (ISO 3166-1) names, in the page's language; the code if unnamed."""
    if not code:
        return ""
    locale = get_locale() or Locale("zh", "CN")
    return str(locale.territories.get(code, code))
