"""The posture report as PDF: WeasyPrint (BSD-3-Clause) lays out the same HTML, offline.

WeasyPrint may fetch what a page links to; here it gets only the dashboard's own static
files, read from disk, and every other address is refused, so rendering a report never
touches the network (an attacker-controlled value cannot make the server fetch a URL).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

STATIC_PREFIX = "/static/"
"""Where the report's stylesheets are linked from (Flask's static route)."""

MEDIA_TYPES = {".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml"}
"""The static files a report may use, by suffix."""


def render_pdf(html: str, static_folder: Path) -> bytes:
    """The PDF of ``html`` (a rendered report), its stylesheets read from ``static_folder``."""
    # Imported here: WeasyPrint loads Pango when imported, and only this route needs it.
    from weasyprint import HTML

    fetcher = _static_fetcher(static_folder)
    pdf: bytes = HTML(string=html, base_url="file:///", url_fetcher=fetcher).write_pdf()
    return pdf


def static_file(url: str, static_folder: Path) -> Path | None:
    """The file under ``static_folder`` that ``url`` names, or None for anything else."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    if parts.scheme != "file" or parts.netloc or not path.startswith(STATIC_PREFIX):
        return None
    root = static_folder.resolve()
    found = (root / path.removeprefix(STATIC_PREFIX)).resolve()
    if not found.is_relative_to(root) or found.suffix not in MEDIA_TYPES or not found.is_file():
        return None
    return found


def _static_fetcher(static_folder: Path) -> Any:
    from weasyprint.urls import URLFetcher, URLFetcherResponse, URLFetchingError

    class StaticOnly(URLFetcher):  # type: ignore[misc]
        """Serves the dashboard's static files and refuses every other URL."""

        def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
            found = static_file(url, static_folder)
            if found is None:
                raise URLFetchingError(f"not fetched (reports are rendered offline): {url}")
            content_type = {"Content-Type": MEDIA_TYPES[found.suffix]}
            return URLFetcherResponse(url, body=found.read_bytes(), headers=content_type)

    return StaticOnly()
