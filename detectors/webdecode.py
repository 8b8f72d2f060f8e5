"""Decoding of request parts before the web rules match them, the way CRS transforms them.

URL decoding repeated until stable (double encoding), IIS ``%uXXXX``, ``\\xHH`` escapes (as
servers log unprintable bytes), HTML entities, Log4j lookups that only hide characters, and
base64 parameter values.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from collections.abc import Iterator
from urllib.parse import unquote

_PERCENT_U = re.compile(r"%u([0-9a-fA-F]{4})")
_ESCAPE_SEQUENCE = re.compile(r"\\x([0-9a-fA-F]{2})")
"""``\\xHH``: how web servers log bytes they will not print (CRS ``t:escapeSeqDecode``)."""
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]{16,}={0,2}$")
_SPACES = re.compile(r"[^\S\r\n]+")


def url_decode(text: str, *, plus: bool, rounds: int = 3) -> str:
    """Percent-decode (also ``%uXXXX``) until stable, at most ``rounds`` times (double encoding)."""
    if plus:
        text = text.replace("+", " ")
    for _ in range(rounds):
        decoded = unquote(
            _PERCENT_U.sub(lambda m: chr(int(m.group(1), 16)), text), errors="replace"
        )
        if decoded == text:
            break
        text = decoded
    return text


def normalise(text: str, *, plus: bool) -> str:
    """A request part as the rules see it: URL-, escape- and entity-decoded, runs of spaces
    and tabs compressed to one space."""
    decoded = _ESCAPE_SEQUENCE.sub(lambda m: chr(int(m.group(1), 16)), url_decode(text, plus=plus))
    # newlines stay: a shell reads them as command separators
    return unnest_lookups(_SPACES.sub(" ", html.unescape(decoded)).replace("\r", ""))


_LOOKUP = re.compile(r"\$\{(?:lower:|upper:|[^${}]*?:-)([^${}]*)\}", re.IGNORECASE)


def unnest_lookups(text: str, rounds: int = 8) -> str:
    """Resolve Log4j lookups that only hide characters (``${lower:j}``, ``${::-n}``)."""
    for _ in range(rounds):
        if "${" not in text:
            break
        resolved = _LOOKUP.sub(lambda m: m.group(1), text)
        if resolved == text:
            break
        text = resolved
    return text


def base64_values(args: str) -> Iterator[str]:
    """Decoded parameter values that look like base64 and decode to printable text."""
    for pair in args.split("&"):
        value = pair.partition("=")[2]
        if not _BASE64.match(value):
            continue
        padded = value + "=" * (-len(value) % 4)
        try:
            text = base64.b64decode(padded, altchars=b"-_", validate=False).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            continue
        if text.isprintable():
            yield text
