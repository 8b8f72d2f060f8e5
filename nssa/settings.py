"""Settings: one TOML file, typed and validated once at start.

Every error names the file, the dotted key and what is wrong; unknown keys are rejected so a
misspelt threshold never silently falls back to its default.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from correlator.correlate import CorrelatorConfig
from correlator.organisation import OrganisationMap, Unit, UnitKind
from detectors.registry import REGISTRY
from nssa.errors import ConfigError
from sensors.flows import FlowTimeouts

T = TypeVar("T")
TOP_LEVEL = ("city", "store", "units", "sensors", "detectors", "flows", "correlator")


@dataclass(frozen=True, kw_only=True)
class CitySettings:
    """The city at the root of the organisation map."""

    code: str = "city"
    name: str = "城市"
    name_en: str = "City"


@dataclass(frozen=True, kw_only=True)
class StoreSettings:
    """Where records are kept: ``sqlite:///ABS/PATH.db`` or ``http(s)://HOST:PORT``."""

    url: str = ""


@dataclass(frozen=True, kw_only=True)
class SensorLink:
    """A mirror port a sensor daemon listens on, and the units whose traffic it sees."""

    name: str
    interface: str
    description: str = ""
    units: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything NSSA is configured with."""

    source: str = "<defaults>"
    city: CitySettings = field(default_factory=CitySettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    organisation: OrganisationMap = field(default_factory=OrganisationMap)
    sensors: tuple[SensorLink, ...] = ()
    detectors: Mapping[str, Any] = field(default_factory=dict)
    flows: FlowTimeouts = field(default_factory=FlowTimeouts)
    correlator: CorrelatorConfig = field(default_factory=CorrelatorConfig)

    def detector_config(self, name: str) -> Any:
        """The config of detector ``name``: from the file, else the detector's defaults."""
        return self.detectors.get(name) or REGISTRY[name].Config()


def load_settings(path: Path | str | None) -> Settings:
    """Read and validate a settings file; None gives the built-in defaults."""
    if path is None:
        return Settings()
    file = str(path)
    try:
        with Path(path).open("rb") as handle:
            raw = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(file, "", f"cannot read: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(file, "", f"not valid TOML: {exc}") from exc
    return _settings(file, raw)


def _settings(file: str, raw: dict[str, Any]) -> Settings:
    _reject_unknown(file, "", raw, TOP_LEVEL)
    city = build(CitySettings, _table(file, "city", raw.get("city", {})), file, "city")
    units = _units(file, city, raw.get("units", []))
    known = {u.code for u in units}
    sensors = tuple(
        _sensor(file, f"sensors[{n}]", table, known)
        for n, table in enumerate(_array(file, "sensors", raw.get("sensors", [])))
    )
    return Settings(
        source=file,
        city=city,
        store=build(StoreSettings, _table(file, "store", raw.get("store", {})), file, "store"),
        organisation=OrganisationMap(units),
    bpf: str = ""
    """Capture filter (tcpdump syntax) applied in the kernel; empty keeps everything."""
    fanout_group: int | None = None
    """Set to share the link among several sensor processes by flow hash (one per core)."""
        sensors=sensors,
        detectors=_detectors(file, _table(file, "detectors", raw.get("detectors", {}))),
        flows=build(FlowTimeouts, _table(file, "flows", raw.get("flows", {})), file, "flows"),
        correlator=build(
            CorrelatorConfig,
            _table(file, "correlator", raw.get("correlator", {})),
            file,
            "correlator",
        ),
    )


def _units(file: str, city: CitySettings, raw: Any) -> tuple[Unit, ...]:
    root = Unit(code=city.code, name=city.name, name_en=city.name_en, kind=UnitKind.CITY)
    units = [root]
    for n, table in enumerate(_array(file, "units", raw)):
        key = f"units[{n}]"
        unit = build(Unit, table, file, key)
        if unit.code in {u.code for u in units}:
            raise ConfigError(file, f"{key}.code", f"duplicate unit code {unit.code!r}")
        for net in unit.subnets:
            _check_subnet(file, f"{key}.subnets", net)
        if not 1 <= unit.mlps_level <= 5:
            raise ConfigError(file, f"{key}.mlps_level", "等保 level must be 1 to 5")
        units.append(unit)
    codes = {u.code for u in units}
    for n, unit in enumerate(units[1:]):
        if unit.parent is not None and unit.parent not in codes:
            raise ConfigError(file, f"units[{n}].parent", f"no unit has code {unit.parent!r}")
    return tuple(units)


def _check_subnet(file: str, key: str, net: str) -> None:
    try:
        ipaddress.ip_network(net)
    except ValueError as exc:
        raise ConfigError(file, key, f"{net!r} is not a network ({exc})") from exc


def _sensor(file: str, key: str, table: dict[str, Any], units: set[str]) -> SensorLink:
    link = build(SensorLink, table, file, key)
    for code in link.units:
        if code not in units:
            raise ConfigError(file, f"{key}.units", f"no unit has code {code!r}")
    return link


def _detectors(file: str, raw: dict[str, Any]) -> dict[str, Any]:
    _reject_unknown(file, "detectors", raw, tuple(REGISTRY))
    return {
        name: build(
            REGISTRY[name].Config,
            _table(file, f"detectors.{name}", table),
            file,
            f"detectors.{name}",
        )
        for name, table in raw.items()
    }


def build(cls: type[T], table: Mapping[str, Any], file: str, prefix: str) -> T:
    """Build dataclass ``cls`` from a TOML table, checking keys, types and ranges."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    _reject_unknown(file, prefix, table, tuple(fields))
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        key = f"{prefix}.{name}"
        if name in table:
            kwargs[name] = _convert(file, key, hints[name], table[name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(file, key, "is required")
    try:
        return cls(**kwargs)
    except ValueError as exc:
        name, _, problem = str(exc).partition(": ")
        key = f"{prefix}.{name}" if name in fields else prefix
        raise ConfigError(file, key, problem if name in fields else str(exc)) from exc


def _convert(file: str, key: str, hint: Any, value: Any) -> Any:
    """Check ``value`` against the field type ``hint`` and convert it."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        return _convert(file, key, options[0], value)
    if origin is tuple:
        items = _array(file, key, value)
        return tuple(_convert(file, f"{key}[{n}]", args[0], v) for n, v in enumerate(items))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        allowed = [m.value for m in hint]
        if value not in allowed:
            raise ConfigError(file, key, f"{value!r} is not one of {allowed}")
        return hint(value)
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if (
        isinstance(hint, type)
        and isinstance(value, hint)
        and not (isinstance(value, bool) and hint is not bool)
    ):
        return value
    name = getattr(hint, "__name__", str(hint))
    raise ConfigError(file, key, f"expected {name}, got {type(value).__name__} {value!r}")


def _reject_unknown(
    file: str, prefix: str, table: Mapping[str, Any], known: tuple[str, ...]
) -> None:
    for name in table:
        if name not in known:
            key = f"{prefix}.{name}" if prefix else name
            raise ConfigError(file, key, f"unknown key (expected one of: {', '.join(known)})")


def _table(file: str, key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(file, key, f"expected a table, got {type(value).__name__}")
    return value


def _array(file: str, key: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(file, key, f"expected an array, got {type(value).__name__}")
    return value
