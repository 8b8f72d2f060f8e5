"""URL-encoded form bodies: read with the head for the web rules, never stored."""

from __future__ import annotations

import math

from detectors.webattack import WebAttack, WebAttackConfig
from sensors.events import HttpRequest
from sensors.http import MAX_FORM, parse_head

FORM = b"user=a&comment=%3Cscript%3Ealert%281%29%3C%2Fscript%3E"


def post(body: bytes, kind: bytes = b"application/x-www-form-urlencoded") -> bytes:
    return (
        b"POST /guestbook HTTP/1.1\r\nHost: h\r\nContent-Type: " + kind + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


def test_form_body_is_kept_capped_and_only_for_url_encoded_forms() -> None:
    head = parse_head(post(FORM))
    assert head is not None and head.form == FORM.decode()
    multipart = parse_head(post(FORM, b"multipart/form-data; boundary=x"))
    assert multipart is not None and multipart.form == ""
    big = parse_head(post(b"a=" + b"x" * (2 * MAX_FORM)))
    assert big is not None and len(big.form) == MAX_FORM


def event(form: str) -> HttpRequest:
    return HttpRequest(
        time=0.0, sensor="s", src_ip="192.0.2.66", method="POST", uri="/guestbook", form=form
    )


def test_form_is_neither_stored_nor_part_of_the_id() -> None:
    with_form, without = event(FORM.decode()), event("")
    assert with_form.id == without.id
    assert "alert" not in str(with_form.to_ecs())


def test_web_rules_read_the_form_as_arguments() -> None:
    detector = WebAttack(WebAttackConfig())
    alerts = detector.observe(event(FORM.decode())) + detector.flush(math.inf)
    assert [a.rule for a in alerts] == ["webattack.xss"]
    clean = WebAttack(WebAttackConfig())
    assert clean.observe(event("user=a&comment=hello")) + clean.flush(math.inf) == []
