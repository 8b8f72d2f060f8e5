"""The stores behind ``correlator.storage.Store``, chosen by the settings' store URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit

from correlator.storage import Store
from nssa.errors import StoreError
from nssa.settings import StoreSettings
from nssa.stores.elasticsearch import ElasticsearchStore
from nssa.stores.spool import Spool, SpoolingStore
from nssa.stores.sqlite import SqliteStore

__all__ = ["ElasticsearchStore", "SpoolingStore", "SqliteStore", "open_store"]

_EXPECTED = "expected sqlite:///ABS/PATH.db or http(s)://HOST:PORT"


def open_store(url: str, options: StoreSettings | None = None) -> Store:
    """Open the store ``url`` names: ``sqlite:///ABS/PATH.db`` or ``http(s)://HOST:PORT``.

    ``options`` are the ``[store]`` settings (authentication, TLS, index prefix, spool); with
    a ``spool_dir`` the store's writes are spooled on disk while it is unreachable.
    """
    parts = urlsplit(url)
    shown = _redacted(url, parts)
    options = options or StoreSettings()
    store: Store
    if parts.scheme in ("http", "https"):
        store = ElasticsearchStore(url, options)
    elif parts.scheme == "sqlite":
        store = SqliteStore(_sqlite_path(parts, shown))
    else:
        raise StoreError(f"{shown}: unknown store scheme {parts.scheme!r}; {_EXPECTED}")
    if not options.spool_dir:
        return store
    spool = Spool(
        Path(options.spool_dir),
        max_bytes=options.spool_max_bytes,
        warn_ratio=options.spool_warn_ratio,
    )
    return SpoolingStore(store, spool)


def _sqlite_path(parts: SplitResult, shown: str) -> Path:
    """The absolute database path of a ``sqlite:`` URL, with its folder created."""
    if parts.netloc:
        # sqlite://data/nssa.db reads "data" as a host: the path needs a third slash.
        raise StoreError(f"{shown}: a SQLite URL has no host ({parts.netloc!r}); {_EXPECTED}")
    if parts.query or parts.fragment:
        raise StoreError(f"{shown}: a SQLite URL takes no ?query or #fragment; {_EXPECTED}")
    path = Path(unquote(parts.path))
    if not path.is_absolute():
        # A relative path would depend on the daemon's working directory.
        raise StoreError(f"{shown}: the SQLite path must be absolute; {_EXPECTED}")
    if parts.path.endswith("/"):
        raise StoreError(f"{shown}: the SQLite URL names a folder, not a database file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{shown}: cannot create folder {path.parent}: {exc.strerror}") from exc
    return path


def _redacted(url: str, parts: SplitResult) -> str:
    """The URL as it may appear in an error message: any password replaced by ``***``."""
    if parts.password is None:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()
