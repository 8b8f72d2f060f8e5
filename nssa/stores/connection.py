"""The Elasticsearch client a store URL and the ``[store]`` settings describe."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from elasticsearch import Elasticsearch

from nssa.errors import StoreError
from nssa.settings import StoreSettings

MAX_RETRIES = 2
"""Retries of one request on another connection before the store counts as unreachable."""


def redact(url: str) -> str:
    """The URL as it may appear in messages: any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


def client_options(url: str, options: StoreSettings) -> dict[str, Any]:
    """Keyword arguments for ``Elasticsearch``: host, authentication, TLS and timeouts.

    A user and password in the URL win over the settings file's; an API key excludes both.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StoreError(f"{redact(url)}: expected http(s)://HOST:PORT")
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise StoreError(f"{redact(url)}: an Elasticsearch URL has no path, ?query or #fragment")
    port = parts.port or (443 if parts.scheme == "https" else 9200)
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    kwargs: dict[str, Any] = {
        "hosts": [f"{parts.scheme}://{host}:{port}"],
        "request_timeout": options.request_timeout,
        "max_retries": MAX_RETRIES,
        "retry_on_timeout": True,
    }
    username = unquote(parts.username) if parts.username else options.username
    password = unquote(parts.password) if parts.password else options.password
    if options.api_key and username:
        raise StoreError(f"{redact(url)}: give an API key or a username and password, not both")
    if options.api_key:
        kwargs["api_key"] = options.api_key
    elif username:
        kwargs["basic_auth"] = (username, password)
    if parts.scheme == "https":
        kwargs["verify_certs"] = options.verify_certs
        if options.ca_certs:
            kwargs["ca_certs"] = options.ca_certs
    elif options.ca_certs or not options.verify_certs:
        raise StoreError(f"{redact(url)}: TLS settings (ca_certs, verify_certs) need https://")
    return kwargs


def connect(url: str, options: StoreSettings) -> Elasticsearch:
    """A client for ``url``; it connects lazily, on the first request."""
    return Elasticsearch(**client_options(url, options))
