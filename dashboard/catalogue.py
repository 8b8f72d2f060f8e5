"""The UI message catalogues: gettext ``.po`` files, compiled in memory when the app starts.

``translations/LOCALE/LC_MESSAGES/messages.po`` is the only source of UI text. No ``.mo`` file
is generated or shipped: each ``.po`` is checked and compiled into a ``Translations`` object
once per app, so a clean checkout, an editable install and an installed wheel behave alike,
and a broken catalogue stops the start with the file and line to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po
from babel.support import NullTranslations, Translations
from flask_babel import Domain, get_locale

TRANSLATIONS = Path(__file__).with_name("translations")
"""The folder holding one ``LOCALE/LC_MESSAGES/messages.po`` per language."""

DOMAIN = "messages"
"""The gettext domain: the catalogues' file name without ``.po``."""

_MSGID_LINE = re.compile(r'^msgid "(.*)"\s*$')


class CatalogueError(ValueError):
    """A catalogue that cannot be served; the message starts with ``FILE:LINE:``."""


def N_(message_id: str) -> str:  # noqa: N802 (gettext's name for it, which pybabel extracts)
    """Mark ``message_id`` for extraction where it is stored now and translated when shown."""
    return message_id


def catalogue_path(locale: str, directory: Path = TRANSLATIONS) -> Path:
    """Where the ``.po`` file of babel locale ``locale`` (``zh_CN``, ``en``) lives."""
    return directory / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalogue(path: Path) -> Catalog:
    """The messages of the ``.po`` file at ``path``, each with a non-empty translation.

    :raise CatalogueError: for a syntax error, text that is not UTF-8, a duplicate msgid, or a
        message that is empty, fuzzy or untranslated, naming the file and line.
    """
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CatalogueError(f"{path}:{line}: not UTF-8 text") from exc
    _reject_duplicates(path, text.splitlines())
    try:
        catalog = read_po(text.splitlines(), abort_invalid=True)
    except PoFileError as exc:
        problem = str(exc).removesuffix(f" on {exc.lineno}")  # babel counts lines from 0
        raise CatalogueError(f"{path}:{exc.lineno + 1}: {problem}: {exc.line!r}") from exc
    for message in catalog:
        if not message.id:
            continue  # the header entry
        if not isinstance(message.id, str) or not isinstance(message.string, str):
            raise CatalogueError(f"{path}:{message.lineno}: plural forms are not used here")
        if message.fuzzy or not message.string:
            raise CatalogueError(f"{path}:{message.lineno}: no translation for {message.id!r}")
    return catalog


def compile_catalogue(path: Path) -> Translations:
    """The ``.po`` file at ``path`` as gettext translations, compiled in memory.

    :raise CatalogueError: as :func:`read_catalogue`.
    """
    buffer = BytesIO()
    write_mo(buffer, read_catalogue(path))
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def load(locales: Iterable[str], directory: Path = TRANSLATIONS) -> Mapping[str, Translations]:
    """The compiled catalogue of each babel locale in ``locales``.

    :raise CatalogueError: when a catalogue is missing or malformed.
    """
    catalogues = {}
    for locale in locales:
        path = catalogue_path(locale, directory)
        if not path.is_file():
            raise CatalogueError(f"{path}:0: no catalogue for locale {locale}")
        catalogues[locale] = compile_catalogue(path)
    return catalogues


class CatalogueDomain(Domain):  # type: ignore[misc]  # flask_babel ships no type hints
    """Flask-Babel's message domain, served from catalogues compiled at start, not ``.mo`` files."""

    def __init__(self, catalogues: Mapping[str, Translations]) -> None:
        super().__init__(domain=DOMAIN)
        # Keyed as get_locale() spells them: babel reads zh_CN as zh_Hans_CN.
        self._catalogues = {str(Locale.parse(name)): found for name, found in catalogues.items()}

    def get_translations(self) -> NullTranslations:
        """The current request's catalogue (untranslated outside a request)."""
        locale = get_locale()
        found = None if locale is None else self._catalogues.get(str(locale))
        return NullTranslations() if found is None else found


def _reject_duplicates(path: Path, lines: list[str]) -> None:
    # Babel keeps the last of two equal msgids silently; one of them is a mistake.
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        match = _MSGID_LINE.match(line)
        if match is None or not match.group(1):
            continue
        if match.group(1) in seen:
            raise CatalogueError(f"{path}:{number}: duplicate msgid {match.group(1)!r}")
        seen.add(match.group(1))
