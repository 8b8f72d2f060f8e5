"""Settings: one TOML file, typed and validated once at start.

Every error names the file, the dotted key and what is wrong; unknown keys are rejected so a
misspelt threshold never silently falls back to its default.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from correlator import geography
from correlator.correlate import CorrelatorConfig
from correlator.organisation import OrganisationMap, Unit, UnitKind
from dashboard.users import User
from detectors.baselinemodel import TrainingConfig
from detectors.hostwindows import WindowSpec
from detectors.registry import REGISTRY
from detectors.site import Site
from nssa.errors import ConfigError
from sensors.flows import FlowTimeouts
from sensors.live import RingConfig
from sensors.recorder import FILE_BYTES, TOTAL_BYTES, RecorderConfig

T = TypeVar("T")
MAX_SENSOR_WORKERS = 64  # capture processes per link: one per core of a large sensor host
TOP_LEVEL = (
    "city",
    "store",
    "units",
    "sensors",
    "detectors",
    "flows",
    "correlator",
    "collect",
    "site",
    "dashboard",
    "anomaly",
    "intel",
    "geo",
)
_INDEX_PREFIX = re.compile(r"[a-z][a-z0-9_-]{0,39}")


@dataclass(frozen=True, kw_only=True)
class CitySettings:
    """The city at the root of the organisation map."""

    code: str = "city"
    name: str = "城市"
    name_en: str = "City"


MINIMUM_RETENTION_DAYS = 180
"""Network logs are kept at least this long (Cybersecurity Law of the PRC, article 21)."""


@dataclass(frozen=True, kw_only=True)
class StoreSettings:
    """Where records are kept: ``sqlite:///ABS/PATH.db`` or ``http(s)://HOST:PORT``.

    The other keys apply to Elasticsearch (and the spool to any store): authentication is an
    API key or a user and password (also accepted in the URL), never both.
    """

    url: str = ""
    index_prefix: str = "nssa"  # indices are PREFIX-events-YYYY.MM.DD, PREFIX-alerts-YYYY.MM, ...
    api_key: str = ""  # base64 "id:key" as Elasticsearch returns it
    username: str = ""
    password: str = ""
    ca_certs: str = ""  # PEM file of the CA that signed the cluster's certificate
    verify_certs: bool = True
    request_timeout: float = 30.0  # seconds per request
    replicas: int = 1  # replicas per index; 0 on a single node
    retention_days: int = MINIMUM_RETENTION_DAYS  # event and alert indices older are deleted
    disk_warn_ratio: float = 0.85  # warn when the node's disk is fuller than this
    spool_dir: str = ""  # where writes wait while the store is unreachable ("" = no spool)
    spool_max_bytes: int = 256 * 2**20  # the spool refuses new batches beyond this
    spool_warn_ratio: float = 0.8  # warn when the spool is fuller than this

    def __post_init__(self) -> None:
        if not _INDEX_PREFIX.fullmatch(self.index_prefix):
            raise ValueError(
                "index_prefix: use lowercase letters, digits, '-' and '_', starting with a letter"
            )
        if self.api_key and (self.username or self.password):
            raise ValueError("api_key: give an API key or a username and password, not both")
        if self.password and not self.username:
            raise ValueError("password: a password needs a username")
        if self.retention_days < MINIMUM_RETENTION_DAYS:
            raise ValueError(
                f"retention_days: must be at least {MINIMUM_RETENTION_DAYS} (network logs are"
                " kept six months by law)"
            )
        if self.request_timeout <= 0:
            raise ValueError("request_timeout: must be positive")
        if not 0 <= self.replicas <= 10:
            raise ValueError("replicas: must be 0 to 10")
        for name in ("disk_warn_ratio", "spool_warn_ratio"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name}: must be above 0 and at most 1")
        if self.spool_max_bytes < 2**16:
            raise ValueError("spool_max_bytes: must be at least 65536")
        if self.spool_dir and not Path(self.spool_dir).is_absolute():
            raise ValueError("spool_dir: must be an absolute path")


@dataclass(frozen=True, kw_only=True)
class SensorLink:
    """A mirror port a sensor daemon listens on, and the units whose traffic it sees."""

    name: str
    interface: str
    description: str = ""
    units: tuple[str, ...] = ()
    bpf: str = ""
    """Capture filter (tcpdump syntax) applied in the kernel; empty keeps everything."""
    fanout_group: int | None = None
    """Set to share the link among several sensor processes by flow hash (one per core)."""
    workers: int = 1
    """Capture processes (ring, decoding, flows, metadata); 0 captures in the daemon itself.

    The daemon's own process runs the detectors and the store writer. With more than one
    worker the link is shared by PACKET_FANOUT_HASH (``fanout_group``, or one derived from
    the daemon's process id), so both directions of a flow reach the same worker."""
    detect: bool = True
    """Run the detectors; false only records flows and metadata (e.g. to measure capture)."""
    block_size: int = RingConfig.block_size
    """Bytes per ring block (a power of two, 64 KiB to 256 MiB)."""
    block_count: int = RingConfig.block_count
    """Ring blocks (2 to 4096; block_size * block_count at most 4 GiB): the burst reserve."""
    block_timeout_ms: int = RingConfig.block_timeout_ms
    """The kernel hands over a part-filled block after this many milliseconds (1 to 10000)."""
    batch_packets: int = RingConfig.batch_packets
    """Ready ring blocks are joined into batches of up to this many packets (1 to 131072)."""
    write_queue: int = 50_000
    """Records (flows, metadata, alerts) waiting for the store writer (1000 to 10000000);
    beyond it batches are spooled when ``[store] spool_dir`` is set, else counted as queue
    drops and logged. 50000 records take about 100 MB while the store is slow."""
    capture_dir: str = ""
    """Absolute folder for rotating pcap files of what the link captured, registered in the
    store so analysts can download an alert's packets; empty keeps no packets."""
    capture_file_mb: int = FILE_BYTES >> 20
    """Size in MiB at which a capture file is closed and registered (1 to 4096)."""
    capture_total_mb: int = TOTAL_BYTES >> 20
    """MiB the link's closed capture files may take; the oldest are deleted beyond it (at
    least twice ``capture_file_mb``)."""

    def __post_init__(self) -> None:
        if not 0 <= self.workers <= MAX_SENSOR_WORKERS:
            raise ValueError(f"workers: must be between 0 and {MAX_SENSOR_WORKERS}")
        if not 1000 <= self.write_queue <= 10_000_000:
            raise ValueError("write_queue: must be between 1000 and 10000000")
        if self.capture_dir and not Path(self.capture_dir).is_absolute():
            raise ValueError("capture_dir: must be an absolute path")
        if not 1 <= self.capture_file_mb <= 4096:
            raise ValueError("capture_file_mb: must be between 1 and 4096")
        if self.capture_total_mb < 2 * self.capture_file_mb:
            raise ValueError("capture_total_mb: must be at least twice capture_file_mb")
        self.ring()  # the ring's own range checks, reported under this link's keys

    def recorder(self) -> RecorderConfig | None:
        """The rotating capture files these settings ask for, or None."""
        if not self.capture_dir:
            return None
        return RecorderConfig(
            directory=Path(self.capture_dir),
            file_bytes=self.capture_file_mb << 20,
            total_bytes=self.capture_total_mb << 20,
        )

    def ring(self) -> RingConfig:
        """The capture ring these settings describe."""
        return RingConfig(
            block_size=self.block_size,
            block_count=self.block_count,
            block_timeout_ms=self.block_timeout_ms,
            fanout_group=self.fanout_group,
            batch_packets=self.batch_packets,
        )


@dataclass(frozen=True, kw_only=True)
class CollectSettings:
    """The log collector (``nssa collect``): syslog listeners and followed files."""

    udp: str = ""
    """UDP syslog listener, HOST:PORT (e.g. "0.0.0.0:514"); empty: none."""
    tcp: str = ""
    """TCP syslog listener (newline or octet-counted framing), HOST:PORT; empty: none."""
    tls: str = ""
    """TLS syslog listener (RFC 5425), HOST:PORT; needs tls_cert and tls_key."""
    tls_cert: str = ""
    tls_key: str = ""
    files: tuple[str, ...] = ()
    """Log files to follow through rotation."""
    file_format: str = "auto"
    """Format of the followed files (a parser name, or auto)."""
    offsets: str = "nssa-offsets.json"
    """Where the read positions of followed files are saved."""
    queue_size: int = 100_000
    """Messages held between the listeners and the parsers; beyond it they are dropped."""
    max_message: int = 65_536
    """Longest syslog message accepted (bytes); longer ones are counted and skipped."""
    batch: int = 1000
    """Events stored and detected together."""
    poll_seconds: float = 1.0
    """How often followed files are checked when no syslog traffic arrives."""

    def __post_init__(self) -> None:
        if not 1 <= self.queue_size <= 10_000_000:
            raise ValueError(f"queue_size: {self.queue_size!r} is out of range")
        if not 480 <= self.max_message <= 1 << 24:  # RFC 5426: receivers accept >= 480 bytes
            raise ValueError(f"max_message: {self.max_message!r} is out of range")
        if not 1 <= self.batch <= 1_000_000 or not 0.01 <= self.poll_seconds <= 3600:
            raise ValueError("batch: batch or poll_seconds is out of range")
        if self.tls and not (self.tls_cert and self.tls_key):
            raise ValueError("tls: a TLS listener needs tls_cert and tls_key")


@dataclass(frozen=True, kw_only=True)
class DashboardSettings:
    """The dashboard's accounts and session keys; with no users it refuses to start."""

    secret_key: str = ""
    """Signs session cookies; empty: a random key per start (everyone signs in again)."""
    secure_cookies: bool = False
    """Send the session cookie over HTTPS only; set it when a TLS proxy fronts the dashboard."""
    users: tuple[User, ...] = ()
    """``[[dashboard.users]]``: name, role, password_hash (``nssa user hash``), units."""
    live_poll_seconds: float = 5.0
    """How often each open page's live-update stream reads the store for changes."""
    live_lifetime_seconds: float = 300.0
    """How long one live-update stream holds a server thread; the browser then reconnects."""

    def __post_init__(self) -> None:
        if not 0 < self.live_poll_seconds <= self.live_lifetime_seconds:
            raise ValueError("live_poll_seconds: must be above 0 and at most live_lifetime_seconds")
        if self.secret_key and len(self.secret_key) < 32:
            raise ValueError("secret_key: use at least 32 random characters, or leave it empty")
        names = [u.name for u in self.users]
        if len(set(names)) != len(names):
            raise ValueError("users: user names must be unique")


@dataclass(frozen=True, kw_only=True)
class AnomalySettings:
    """The anomaly baseline: where the trained model is, and how ``nssa baseline`` trains it."""

    model: str = ""
    """Model file written by ``nssa baseline`` (absolute path); empty: no anomaly scoring."""
    window_seconds: float = 300.0
    """Length of a host window when training (the model carries it to scoring)."""
    history_windows: int = 12
    """Windows a peer stays known to a host; older peers count as new again."""
    false_alarm_share: float = 0.005
    """Share of training windows that would have alerted: sets each forest's threshold."""
    min_rows: int = 32
    """Host windows a link or unit needs for its own forest."""
    trees: int = 100
    """Trees per IsolationForest."""
    random_state: int = 0
    """Seed of the forests: the same flows and seed give the same model."""

    def __post_init__(self) -> None:
        if self.model and not Path(self.model).is_absolute():
            raise ValueError("model: must be an absolute path")
        self.window_spec()  # range checks live with the detectors' own dataclasses
        self.training()

    def window_spec(self) -> WindowSpec:
        """How training cuts flows into host windows."""
        return WindowSpec(window_seconds=self.window_seconds, history_windows=self.history_windows)

    def training(self) -> TrainingConfig:
        """How training fits the forests."""
        return TrainingConfig(
            trees=self.trees,
            false_alarm_share=self.false_alarm_share,
            min_rows=self.min_rows,
            random_state=self.random_state,
        )


@dataclass(frozen=True, kw_only=True)
class IntelSettings:
    """Threat intelligence: the indicator database ``nssa intel import`` writes."""

    database: str = ""
    """SQLite file of imported indicators (absolute path); empty: the intel detector is inert."""
    known_good: bool = True
    """Suppress hits on the shipped known-good list (public resolvers, update services, CDNs)."""

    def __post_init__(self) -> None:
        if self.database and not Path(self.database).is_absolute():
            raise ValueError("database: must be an absolute path")


@dataclass(frozen=True, kw_only=True)
class GeoSettings:
    """Country and AS of outside sources on the dashboard (``correlator.geography``)."""

    enabled: bool = True
    """Show country and AS beside outside addresses; false: addresses only."""
    database: str = ""
    """Folder of the ``@ip-location-db/asn`` CSV files (absolute); empty: the one setup installs."""

    def __post_init__(self) -> None:
        if not self.database:
            return
        if not Path(self.database).is_absolute():
            raise ValueError("database: must be an absolute path")
        missing = geography.missing_files(Path(self.database))
        if self.enabled and missing:
            raise ValueError(f"database: {self.database} has no {', '.join(missing)}")

    def directory(self) -> Path | None:
        """The folder the AS database is read from; None when lookups are off."""
        if not self.enabled:
            return None
        return Path(self.database) if self.database else geography.DEFAULT_DATABASE


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
    collect: CollectSettings = field(default_factory=CollectSettings)
    site: Site = field(default_factory=Site)
    """Addresses in use and the city's own scanners (the organisation map adds its subnets)."""
    dashboard: DashboardSettings = field(default_factory=DashboardSettings)
    anomaly: AnomalySettings = field(default_factory=AnomalySettings)
    intel: IntelSettings = field(default_factory=IntelSettings)
    geo: GeoSettings = field(default_factory=GeoSettings)

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
        sensors=sensors,
        detectors=_detectors(file, _table(file, "detectors", raw.get("detectors", {}))),
        flows=build(FlowTimeouts, _table(file, "flows", raw.get("flows", {})), file, "flows"),
        correlator=build(
            CorrelatorConfig,
            _table(file, "correlator", raw.get("correlator", {})),
            file,
            "correlator",
        ),
        collect=build(
            CollectSettings, _table(file, "collect", raw.get("collect", {})), file, "collect"
        ),
        site=build(Site, _table(file, "site", raw.get("site", {})), file, "site"),
        dashboard=_dashboard(file, _table(file, "dashboard", raw.get("dashboard", {})), units),
        anomaly=build(
            AnomalySettings, _table(file, "anomaly", raw.get("anomaly", {})), file, "anomaly"
        ),
        intel=build(IntelSettings, _table(file, "intel", raw.get("intel", {})), file, "intel"),
        geo=build(GeoSettings, _table(file, "geo", raw.get("geo", {})), file, "geo"),
    )


def _dashboard(file: str, raw: dict[str, Any], units: tuple[Unit, ...]) -> DashboardSettings:
    table = dict(raw)
    users = tuple(
        build(User, _table(file, f"dashboard.users[{n}]", entry), file, f"dashboard.users[{n}]")
        for n, entry in enumerate(_array(file, "dashboard.users", table.pop("users", [])))
    )
    codes = {u.code for u in units}
    for n, user in enumerate(users):
        for code in user.units:
            if code not in codes:
                raise ConfigError(file, f"dashboard.users[{n}].units", f"no unit has code {code!r}")
    settings = build(DashboardSettings, table, file, "dashboard")
    try:
        return dataclasses.replace(settings, users=users)
    except ValueError as exc:
        raise ConfigError(file, "dashboard", str(exc)) from exc


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
    fields = {
        f.name: f
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        # Filled in by the pipeline (from [site], or a loaded model), not per table.
        if not f.metadata.get("site") and not f.metadata.get("injected")
    }
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
