"""Language choice and display helpers: Chinese first, English on request.

The language comes from ``?lang=`` (which also sets a cookie), then the cookie, then the
default, zh-CN. The text itself is in gettext catalogues (``dashboard/translations``, see
:mod:`dashboard.catalogue`) served through Flask-Babel: templates translate with
``_('key', name=value)``, Python code with ``flask_babel.gettext``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from flask import Flask, Response, current_app, g, request, url_for
from flask_babel import Babel, gettext

from correlator.aggregation import IncidentHeadline
from correlator.campaign import PREFIX as CAMPAIGN_PREFIX
from correlator.exceptions import ExceptionKind
from correlator.incident import Incident, IncidentStatus
from correlator.organisation import OrganisationMap
from correlator.posture import Direction
from dashboard.catalogue import CatalogueDomain, load
from dashboard.users import Role
from detectors.alert import Severity
from detectors.attack import Tactic
from sensors.ecs import format_time

LANGUAGES = ("zh-CN", "en")
"""Languages the dashboard speaks, the default first."""

DEFAULT_LANGUAGE = LANGUAGES[0]
"""Language used when neither ``?lang=`` nor the cookie chooses one."""

COOKIE = "nssa_lang"
"""Cookie remembering the language chosen with ``?lang=``."""

LANGUAGE_NAMES: Mapping[str, str] = {"zh-CN": "中文", "en": "English"}
"""Each language's name in that language, for the switch (so nobody is stranded)."""

BABEL_LOCALES: Mapping[str, str] = {"zh-CN": "zh_CN", "en": "en"}
"""Each language's babel locale: the folder of its catalogue under ``dashboard/translations``."""

TIMEZONE = ZoneInfo("Asia/Shanghai")
"""Times are shown in China Standard Time, as the city's staff read them."""

LABEL_PREFIXES: Mapping[type[StrEnum], str] = {
    IncidentStatus: "status",
    Severity: "severity",
    Tactic: "tactic",
    Direction: "direction",
    Role: "role",
    ExceptionKind: "exception_kind",
}
"""The catalogue key prefix of each enum the ``label`` filter names (``status.new``, ...)."""


def init_app(app: Flask) -> None:
    """Choose the language per request and give templates ``_`` and the display filters.

    :raise CatalogueError: when a language's catalogue is missing or malformed.
    """
    babel = Babel(
        app, default_locale=BABEL_LOCALES[DEFAULT_LANGUAGE], locale_selector=_babel_locale
    )
    # Flask-Babel would look for .mo files; ours are compiled from the .po files here, once.
    babel.domain_instance = CatalogueDomain(load(BABEL_LOCALES.values()))
    app.before_request(_choose_language)
    app.after_request(_remember_language)
    app.jinja_env.globals.update(  # ``_`` is Flask-Babel's, installed by Babel() above
        current_language=current_language,
        language_url=language_url,
        languages=LANGUAGES,
        language_names=LANGUAGE_NAMES,
    )
    app.jinja_env.filters.update(
        label=label,
        unit_name=unit_name,
        local_time=local_time,
        iso_time=format_time,
        incident_title=incident_title,
    )


def current_language() -> str:
    """The language of the current request."""
    return str(g.get("nssa_lang", DEFAULT_LANGUAGE))


def label(value: StrEnum) -> str:
    """The translated name of a status, severity or tactic."""
    return str(gettext(f"{LABEL_PREFIXES[type(value)]}.{value}"))


def unit_name(code: str) -> str:
    """A unit's name in the current language when the organisation map knows it, else its code."""
    organisation: OrganisationMap = current_app.extensions["nssa.organisation"]
    unit = organisation.by_code.get(code)
    if unit is None:
        return code
    return (unit.name_en or unit.name) if current_language() == "en" else unit.name


def incident_title(incident: Incident | IncidentHeadline) -> str:
    """An incident's title in the current language: what happened, from whom, to whom.

    Stored titles are English; known kinds are rendered from the catalogue instead, and an
    unknown kind keeps its stored title.
    """
    family = incident.kind.split(".", 1)[0]
    for key in (f"kind.{incident.kind}", f"family.{family}"):
        what = str(gettext(key))
        if what != key:  # gettext answers an unknown msgid with the msgid itself
            break
    else:
        return incident.title
    if not incident.attackers:  # host findings (tunnels, beacons) name the host itself
        return _titled(what, ", ".join(incident.victims[:2]))
    source = incident.attackers[0]
    if incident.entity.startswith(CAMPAIGN_PREFIX):  # many sources, one rule: count them
        source = str(gettext("title.sources", count=len(incident.attackers)))
    target = f" → {incident.victims[0]}" if len(incident.victims) == 1 else ""
    more = f" (+{len(incident.victims) - 1})" if len(incident.victims) > 1 else ""
    return _titled(what, f"{source}{target}{more}")


def _titled(what: str, subject: str) -> str:
    return str(gettext("title.format", what=what, subject=subject))


def local_time(epoch: float) -> str:
    """Epoch seconds as a Beijing-time timestamp, to the second."""
    return datetime.fromtimestamp(epoch, TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")


def language_url(code: str) -> str:
    """The current page's URL in language ``code`` (the incident list when there is no page)."""
    if request.endpoint is None or request.method != "GET":
        return url_for("overview.index", lang=code)
    values = {**request.args.to_dict(), **(request.view_args or {}), "lang": code}
    return url_for(request.endpoint, **values)


def _babel_locale() -> str:
    return BABEL_LOCALES[current_language()]


def _choose_language() -> None:
    requested = request.args.get("lang")
    remembered = request.cookies.get(COOKIE)
    for candidate in (requested, remembered):
        if candidate in LANGUAGES:
            g.nssa_lang = candidate
            return
    g.nssa_lang = DEFAULT_LANGUAGE


def _remember_language(response: Response) -> Response:
    requested = request.args.get("lang")
    if requested in LANGUAGES:
        response.set_cookie(
            COOKIE,
            requested,
            max_age=365 * 24 * 3600,
            secure=request.is_secure,
            httponly=True,
            samesite="Lax",
        )
    return response
