"""Imports go one way: sensors ← detectors ← correlator ← dashboard, and nothing imports nssa."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"sensors", "detectors", "correlator", "dashboard", "nssa"}
ALLOWED = {
    "sensors": set(),
    "detectors": {"sensors"},
    "correlator": {"sensors", "detectors"},
    "dashboard": {"sensors", "detectors", "correlator"},
    "nssa": {"sensors", "detectors", "correlator", "dashboard"},
}


def imported_packages(path: Path) -> set[str]:
    """Top-level packages of ours that a module imports (absolute imports only)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_allowed_packages(package: str) -> None:
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules, f"{package} has no modules"
    wrong = {
        str(m.relative_to(ROOT)): sorted(imported_packages(m) - ALLOWED[package] - {package})
        for m in modules
    }
    assert {m: bad for m, bad in wrong.items() if bad} == {}


def test_nothing_outside_nssa_imports_it() -> None:
    others = [
        m
        for p in ("sensors", "detectors", "correlator", "dashboard")
        for m in (ROOT / p).rglob("*.py")
    ]
    assert [str(m) for m in others if "nssa" in imported_packages(m)] == []


def test_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from correlator.incident import Incident\nimport nssa.cli\n")
    assert imported_packages(module) == {"correlator", "nssa"}
