"""The exception form as pure functions: its fields to an ``AlertException`` and back.

Times in the form are Beijing time, as the staff enter them; an expiry date means "until
the end of that day". A unit user's exception must be scoped to one of their units, so
it can never hide another unit's alerts; that check is here, on the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from correlator.exceptions import AlertException, ExceptionKind, Scope
from dashboard.catalogue import N_

TIMEZONE = ZoneInfo("Asia/Shanghai")
"""The zone form times are read in and written out in."""

SCOPE_FIELDS = ("detector", "source", "destination", "unit", "sensor")
"""Text fields of the scope, in the order the form shows them."""

FORM_FIELDS = (*SCOPE_FIELDS, "kind", "starts", "ends", "reason", "expires", "replaces")
"""Every field the form posts (besides the CSRF token)."""

MAX_FIELD = 500
"""Longest value a field may hold; reasons are one or two sentences."""


class FormError(ValueError):
    """The form cannot become an exception; ``key`` is the msgid of the message saying why."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True, kw_only=True)
class ExceptionRow:
    """One exception on the list: whether it is in force and how many alerts it marked."""

    exception: AlertException
    active: bool
    marked: int
    editable: bool  # the signed-in user may revise or expire it


def form_values(form: Mapping[str, str]) -> dict[str, str]:
    """The form's known fields, trimmed (what the page shows back after a preview)."""
    return {name: form.get(name, "").strip() for name in FORM_FIELDS}


def exception_from_form(
    form: Mapping[str, str], *, owner: str, now: float, units: frozenset[str] | None
) -> AlertException:
    """The exception the form describes, owned by ``owner`` and created ``now``.

    ``units`` are the codes the user may scope to (None: any).

    :raise FormError: for a missing, malformed or out-of-bounds field.
    """
    values = form_values(form)
    if any(len(v) > MAX_FIELD for v in values.values()):
        raise FormError(N_("exceptions.error.too_long"))
    if not values["reason"]:
        raise FormError(N_("exceptions.error.reason"))
    unit = values["unit"] or None
    if units is not None and unit not in units:
        raise FormError(N_("exceptions.error.unit"))
    try:
        kind = ExceptionKind(values["kind"] or ExceptionKind.SUPPRESS.value)
        scope = Scope(
            **{name: values[name] or None for name in SCOPE_FIELDS},
            starts=_moment(values["starts"]),
            ends=_moment(values["ends"]),
        )
    except ValueError as exc:
        raise FormError(N_("exceptions.error.scope")) from exc
    expires = _day_end(values["expires"])
    try:
        return AlertException(
            kind=kind,
            scope=scope,
            reason=values["reason"],
            owner=owner,
            created=now,
            expires=expires,
        )
    except ValueError as exc:
        raise FormError(N_("exceptions.error.expires")) from exc


def values_of(exception: AlertException) -> dict[str, str]:
    """The form fields that describe ``exception`` (to revise it)."""
    scope = exception.scope
    values = {name: getattr(scope, name) or "" for name in SCOPE_FIELDS}
    last_day = datetime.fromtimestamp(exception.expires - 1, TIMEZONE).date()
    return values | {
        "kind": exception.kind.value,
        "starts": _form_moment(scope.starts),
        "ends": _form_moment(scope.ends),
        "reason": exception.reason,
        "expires": last_day.isoformat(),
        "replaces": exception.id,
    }


def inside_units(exception: AlertException, units: frozenset[str] | None) -> bool:
    """Whether a user limited to ``units`` (None: all) may see and change ``exception``."""
    return units is None or exception.scope.unit in units


def _moment(text: str) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=TIMEZONE).timestamp()
    except ValueError as exc:
        raise FormError(N_("exceptions.error.scope")) from exc


def _form_moment(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, TIMEZONE).strftime("%Y-%m-%dT%H:%M")


def _day_end(text: str) -> float:
    """The end of day ``text`` (YYYY-MM-DD) in Beijing time."""
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise FormError(N_("exceptions.error.expires")) from exc
    start = datetime(day.year, day.month, day.day, tzinfo=TIMEZONE)
    return (start + timedelta(days=1)).timestamp()
