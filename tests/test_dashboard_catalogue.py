"""The gettext catalogues: every msgid the dashboard uses exists, in both languages alike."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from correlator.organisation import Criticality, UnitKind
from dashboard.catalogue import (
    TRANSLATIONS,
    CatalogueError,
    catalogue_path,
    compile_catalogue,
    load,
    read_catalogue,
)
from dashboard.exception_form import SCOPE_FIELDS
from dashboard.i18n import BABEL_LOCALES, LABEL_PREFIXES
from dashboard.report_data import PeriodKind
from dashboard.summary import stage_order

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "dashboard" / "templates"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")

# Keys templates build as `_('prefix.' ~ value)`, by prefix: every value each can take.
DYNAMIC: dict[str, tuple[str, ...]] = {
    "stage.": stage_order(),
    "unitkind.": tuple(UnitKind),
    "criticality.": tuple(Criticality),
    "report.title.": tuple(PeriodKind),
    "report.": ("new_list", "resolved_list"),
    "exceptions.": SCOPE_FIELDS,
    "alerts.filter.": ("source", "destination", "detector", "rule", "unit"),
}


def catalogues() -> dict[str, dict[str, str]]:
    """Each locale's messages, msgid to translation, header left out."""
    found = {}
    for locale in BABEL_LOCALES.values():
        catalog = read_catalogue(catalogue_path(locale))
        found[locale] = {str(m.id): str(m.string) for m in catalog if m.id}
    return found


def extracted() -> set[str]:
    """The msgids `pybabel extract -F babel.cfg` finds in the dashboard's code and templates."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    return {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT, method_map, options_map
        )
        if isinstance(message, str)
    }


def computed() -> set[str]:
    """The msgids looked up by computed key: enum labels and templates' dynamic keys."""
    keys = {f"{prefix}.{value}" for enum, prefix in LABEL_PREFIXES.items() for value in enum}
    keys |= {prefix + value for prefix, values in DYNAMIC.items() for value in values}
    return keys


def test_every_msgid_in_use_is_in_both_catalogues() -> None:
    used = extracted()
    # Python (N_, gettext) and template calls, with and without placeholders, are all found.
    assert {"exceptions.error.reason", "title.sources", "app.title", "paging.page"} <= used
    for locale, messages in catalogues().items():
        assert (locale, sorted((used | computed()) - messages.keys())) == (locale, [])


def test_every_dynamic_template_key_prefix_is_enumerated() -> None:
    prefixes = {
        prefix
        for template in TEMPLATES.glob("**/*.html")
        for prefix in re.findall(r"_\('([\w.]+\.)'\s*~", template.read_text(encoding="utf-8"))
    }
    assert prefixes == set(DYNAMIC)


def test_both_catalogues_have_the_same_msgids_and_placeholders() -> None:
    chinese, english = (catalogues()[BABEL_LOCALES[lang]] for lang in ("zh-CN", "en"))
    assert sorted(chinese.keys() ^ english.keys()) == []
    mismatched = [
        key
        for key in sorted(chinese)
        if sorted(PLACEHOLDER.findall(chinese[key])) != sorted(PLACEHOLDER.findall(english[key]))
    ]
    assert (len(chinese) > 250, mismatched) == (True, [])


def test_translations_are_non_empty_and_use_named_placeholders_only() -> None:
    for messages in catalogues().values():
        texts = [text for text in messages.values() if not text.strip()]
        # Templates always %-format (Jinja's newstyle gettext): a literal percent is "%%".
        stray = [t for t in messages.values() if "%" in PLACEHOLDER.sub("", t).replace("%%", "")]
        braces = [text for text in messages.values() if re.search(r"\{\w+\}", text)]
        assert (texts, stray, braces) == ([], [], [])


def test_no_compiled_catalogue_is_kept_in_the_tree() -> None:
    assert sorted(TRANSLATIONS.glob("**/*.mo")) == []


def test_compiled_catalogues_translate() -> None:
    loaded = load(BABEL_LOCALES.values())
    assert [loaded[BABEL_LOCALES[lang]].ugettext("nav.alerts") for lang in ("zh-CN", "en")] == [
        "告警",
        "Alerts",
    ]


GOOD = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'


@pytest.mark.parametrize(
    ("body", "line", "problem"),
    [
        ('msgid "a"\nmsgstr "A"\n\nstray text\n', 8, "misformatted"),
        ('msgid "a"\nmsgstr "A"\n\nmsgid "a"\nmsgstr "B"\n', 8, "duplicate msgid 'a'"),
        ('msgid "a"\nmsgstr "A"\n\nmsgid "b"\nmsgstr ""\n', 8, "no translation for 'b'"),
        ('#, fuzzy\nmsgid "a"\nmsgstr "A"\n', 6, "no translation for 'a'"),
        ('msgid "a"\n\nmsgid "b"\nmsgstr "B"\n', 5, "missing msgstr"),
    ],
)
def test_a_malformed_catalogue_is_refused_naming_file_and_line(
    tmp_path: Path, body: str, line: int, problem: str
) -> None:
    path = catalogue_path("en", tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(GOOD + body, encoding="utf-8")
    with pytest.raises(CatalogueError, match=re.escape(f"{path}:{line}: ") + ".*" + problem):
        load(["en"], tmp_path)


def test_a_catalogue_that_is_not_utf8_is_refused_naming_the_line(tmp_path: Path) -> None:
    path = catalogue_path("en", tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(GOOD.encode() + 'msgid "a"\nmsgstr "Å"\n'.encode("latin-1"))
    with pytest.raises(CatalogueError, match=re.escape(f"{path}:6: not UTF-8")):
        load(["en"], tmp_path)


def test_a_missing_catalogue_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="no catalogue for locale en"):
        load(["en"], tmp_path)


def test_a_valid_catalogue_compiles(tmp_path: Path) -> None:
    path = tmp_path / "messages.po"
    path.write_text(GOOD + 'msgid "a"\nmsgstr "%(n)s A"\n', encoding="utf-8")
    assert compile_catalogue(path).ugettext("a") % {"n": 2} == "2 A"
