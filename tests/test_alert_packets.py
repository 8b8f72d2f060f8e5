"""The packets behind an alert: capture registry, extraction, dashboard download and CLI.

Scenario captures are replayed into real stores (SQLite and the test Elasticsearch node);
the extracted files are read back with dpkt, an independent parser.
"""

from __future__ import annotations

import shutil
import socket
import sqlite3
import struct
from collections.abc import Iterator
from pathlib import Path

import dpkt
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from correlator.alert_packets import packet_source, with_captures, write_packets
from correlator.exceptions import AuditAction
from correlator.storage import AlertQuery, IncidentQuery, Store
from dashboard import create_app
from dashboard.users import Role, User
from detectors.alert import Alert
from nssa.cli import main
from nssa.pipeline import replay
from nssa.settings import load_settings
from nssa.stores.sqlite import SCHEMA_VERSION, SqliteStore
from sensors.capturefiles import CaptureQuery, FileCheck
from sensors.events import Flow, Transport
from sensors.extract import ExtractLimits, flow_key
from sensors.pcapwrite import OutputFormat
from tests.conftest import build_flow
from tests.dashboard_users import USERS as TEST_USERS
from tests.dashboard_users import signed_in
from tests.test_golden import run as golden_run

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = load_settings(ROOT / "examples" / "sanmenxia.toml")
SENSOR = "cloud-core"
Conversation = tuple[int, frozenset[object]]


def replayed(store: Store, tmp_path: Path, name: str) -> Path:
    """Copy a scenario capture into ``tmp_path`` and replay it into ``store``."""
    copy = tmp_path / name
    shutil.copyfile(ROOT / "pcaps" / name, copy)
    replay([copy], SETTINGS, store, sensor=SENSOR)
    return copy


def flow_alerts(store: Store) -> list[Alert]:
    """Stored alerts with evidence, most evidence first."""
    alerts = store.alerts(AlertQuery(limit=10_000))
    return sorted((a for a in alerts if a.evidence), key=lambda a: (-len(a.evidence), a.id))


def conversation_of_flow(flow: Flow) -> Conversation:
    """The conversation a flow is: protocol and its endpoints (addresses only for ICMP)."""
    proto = {Transport.TCP: 6, Transport.UDP: 17, Transport.ICMP: 1}[flow.transport]
    if proto == 1:
        return proto, frozenset({flow.src_ip, flow.dst_ip})
    return proto, frozenset({(flow.src_ip, flow.src_port), (flow.dst_ip, flow.dst_port)})


def conversation_of_frame(frame: bytes) -> Conversation:
    """The conversation of an Ethernet frame; an ICMP error counts for the packet it quotes."""
    ip = dpkt.ethernet.Ethernet(frame).data
    assert isinstance(ip, dpkt.ip.IP), "only IPv4 in the scenario captures"
    if ip.p == 1 and ip.data.type in (3, 11):  # unreachable, time exceeded: the quoted packet
        quoted = ip.data.data.data
        inner = quoted if isinstance(quoted, dpkt.ip.IP) else dpkt.ip.IP(bytes(quoted))
        ports = struct.unpack("!HH", bytes(inner.data)[:4])
        return inner.p, _ends(inner.src, ports[0], inner.dst, ports[1])
    if ip.p == 1:
        return 1, frozenset({socket.inet_ntoa(ip.src), socket.inet_ntoa(ip.dst)})
    return ip.p, _ends(ip.src, ip.data.sport, ip.dst, ip.data.dport)


def _ends(src: bytes, sport: int, dst: bytes, dport: int) -> frozenset[object]:
    return frozenset({(socket.inet_ntoa(src), sport), (socket.inet_ntoa(dst), dport)})


def frames(path: Path) -> list[tuple[float, bytes]]:
    """The packets of a classic pcap, read with dpkt."""
    with path.open("rb") as stream:
        return [(ts, bytes(buf)) for ts, buf in dpkt.pcap.Reader(stream)]


def test_a_replay_registers_its_capture(store: Store, tmp_path: Path) -> None:
    assert store.captures(CaptureQuery(sensor=SENSOR)) == []  # before the index exists
    assert store.events_by_id(["nothing"]) == []
    copy = replayed(store, tmp_path, "ssh_bruteforce.pcap")
    found = store.captures(CaptureQuery(sensor=SENSOR))
    assert len(found) == 1
    capture = found[0]
    packets = frames(copy)
    assert capture.path == str(copy.resolve())
    assert capture.packets == len(packets)
    assert capture.size == copy.stat().st_size
    assert capture.link_types == (1,)
    assert (capture.first, capture.last) == pytest.approx((packets[0][0], packets[-1][0]))
    assert store.captures(CaptureQuery(sensor="other-link")) == []
    assert store.captures(CaptureQuery(sensor=SENSOR, until=capture.first - 1)) == []
    # Replaying the same file again registers nothing new.
    replay([copy], SETTINGS, store, sensor=SENSOR)
    assert store.captures(CaptureQuery()) == found


def test_an_alerts_packets_are_exactly_its_flows_packets(store: Store, tmp_path: Path) -> None:
    replayed(store, tmp_path, "ssh_bruteforce.pcap")
    alert = flow_alerts(store)[0]
    source = packet_source(store, alert)
    assert source.available and len(source.flows) == len(set(alert.evidence))
    out = tmp_path / "out.pcap"
    with out.open("wb") as stream:
        extraction = write_packets(source, stream)
    written = frames(out)
    wanted = {conversation_of_flow(f) for f in source.flows}
    assert {conversation_of_frame(frame) for _, frame in written} <= wanted
    assert len(written) == sum(f.packets_out + f.packets_in for f in source.flows)
    assert extraction.packets == len(written) and extraction.left_out == 0
    assert extraction.bytes == out.stat().st_size
    assert extraction.format is OutputFormat.PCAP and not extraction.problems


def test_every_scan_alert_gets_its_flows_packets(tmp_path: Path) -> None:
    """Scans mix TCP, UDP refused by ICMP, ICMP sweeps and stealth probes."""
    with SqliteStore(tmp_path / "nssa.db") as store:
        replayed(store, tmp_path, "recon_scan.pcap")
        alerts = flow_alerts(store)
        assert len(alerts) >= 3
        for alert in alerts:
            source = packet_source(store, alert)
            out = tmp_path / f"{alert.id}.pcap"
            with out.open("wb") as stream:
                write_packets(source, stream)
            written = frames(out)
            wanted = {conversation_of_flow(f) for f in source.flows}
            assert {conversation_of_frame(frame) for _, frame in written} <= wanted, alert.rule
            expected = sum(f.packets_out + f.packets_in for f in source.flows)
            assert len(written) == expected, alert.rule


def test_the_caps_cut_the_output_and_count_the_rest(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "nssa.db") as store:
        replayed(store, tmp_path, "ssh_bruteforce.pcap")
        source = packet_source(store, flow_alerts(store)[0])
    out = tmp_path / "out.pcap"
    with out.open("wb") as stream:
        extraction = write_packets(source, stream, ExtractLimits(max_packets=10))
    total = sum(f.packets_out + f.packets_in for f in source.flows)
    assert len(frames(out)) == extraction.packets == 10
    assert extraction.left_out == total - 10


@pytest.mark.parametrize("damage", ["moved", "changed"])
def test_a_moved_or_changed_capture_is_reported(tmp_path: Path, damage: str) -> None:
    with SqliteStore(tmp_path / "nssa.db") as store:
        copy = replayed(store, tmp_path, "ssh_bruteforce.pcap")
        source = packet_source(store, flow_alerts(store)[0])
    if damage == "moved":
        copy.rename(tmp_path / "elsewhere.pcap")
    else:
        data = bytearray(copy.read_bytes())
        data[-1] ^= 0xFF  # same size, different content: only the hash tells
        copy.write_bytes(bytes(data))
    out = tmp_path / "out.pcap"
    with out.open("wb") as stream:
        extraction = write_packets(source, stream)
    expected = FileCheck.MISSING if damage == "moved" else FileCheck.CHANGED
    assert [(p.path, p.check) for p in extraction.problems] == [(str(copy), expected)]
    assert extraction.packets == 0 and extraction.files == ()
    assert frames(out) == []  # still a valid, empty capture


def test_flow_keys_order_endpoints_as_the_flow_table_does() -> None:
    forward = build_flow(src_ip="10.0.0.9", src_port=40000, dst_ip="10.0.0.1", dst_port=22)
    backward = build_flow(src_ip="10.0.0.1", src_port=22, dst_ip="10.0.0.9", dst_port=40000)
    assert flow_key(forward) == flow_key(backward)
    assert flow_key(forward)[7] == 2**64 - 1  # no VLAN, as the decoder's -1
    assert flow_key(build_flow(vlan=12))[7] == 12
    assert flow_key(build_flow(iana_number=6)) == flow_key(build_flow())
    ping = build_flow(transport=Transport.ICMP, src_port=8, dst_port=0, iana_number=1)
    pong = build_flow(
        transport=Transport.ICMP, src_ip="10.10.2.15", dst_ip="10.21.3.4", src_port=8, dst_port=0
    )
    assert flow_key(ping) == flow_key(pong)  # ICMP type/code keep their places


def test_registering_captures_leaves_golden_output_alone(tmp_path: Path) -> None:
    capture = ROOT / "pcaps" / "ssh_bruteforce.pcap"
    alerts, incidents = golden_run(capture, tmp_path)
    golden = ROOT / "tests" / "golden"
    assert alerts == (golden / "ssh_bruteforce.alerts.jsonl").read_text(encoding="utf-8")
    assert incidents == (golden / "ssh_bruteforce.incidents.jsonl").read_text(encoding="utf-8")


def test_a_version_3_database_gains_the_registry(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    SqliteStore(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("DROP TABLE captures")
        raw.execute("UPDATE schema_version SET version = 3")
    with SqliteStore(path) as store:
        copy = replayed(store, tmp_path, "ssh_bruteforce.pcap")
        assert [c.path for c in store.captures(CaptureQuery())] == [str(copy)]
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema_version").fetchone() == (SCHEMA_VERSION,)


# The dashboard download and the CLI.

HASH = TEST_USERS[0].password_hash  # hashing once more per session would be slow
USERS = (
    User(name="analyst", role=Role.ANALYST, password_hash=HASH),
    User(name="bigdata-viewer", role=Role.VIEWER, password_hash=HASH, units=("bigdata",)),
    User(name="police-viewer", role=Role.VIEWER, password_hash=HASH, units=("police",)),
)


@pytest.fixture
def scene(store: Store, tmp_path: Path) -> tuple[Store, Alert]:
    """The SSH scenario replayed into each kind of store, and its alert with most evidence."""
    replayed(store, tmp_path, "ssh_bruteforce.pcap")
    return store, flow_alerts(store)[0]


@pytest.fixture
def sqlite_scene(tmp_path: Path) -> Iterator[tuple[SqliteStore, Alert]]:
    with SqliteStore(tmp_path / "nssa.db") as store:
        replayed(store, tmp_path, "ssh_bruteforce.pcap")
        yield store, flow_alerts(store)[0]


def _client(store: Store, user: str) -> FlaskClient:
    app = create_app(
        store,
        config={"TESTING": True, "users": USERS, "organisation": SETTINGS.organisation},
    )
    return signed_in(app, user)


@pytest.mark.parametrize("user", ["analyst", "bigdata-viewer"])
def test_the_alert_page_offers_its_packets_and_serves_them(
    scene: tuple[Store, Alert], tmp_path: Path, user: str
) -> None:
    store, alert = scene
    client = _client(store, user)
    page = client.get(f"/alerts/{alert.id}")
    assert page.status_code == 200
    link = f"/alerts/{alert.id}/packets.pcap"
    assert link in page.get_data(as_text=True)
    assert "下载告警相关报文" in page.get_data(as_text=True)
    english = client.get(f"/alerts/{alert.id}?lang=en").get_data(as_text=True)
    assert "Download the packets (pcap)" in english
    response = client.get(link)
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.tcpdump.pcap"
    assert f"filename=nssa-{alert.id}.pcap" in response.headers["Content-Disposition"]
    body = tmp_path / "download.pcap"
    body.write_bytes(response.get_data())
    flows = packet_source(store, alert).flows
    assert len(frames(body)) == sum(f.packets_out + f.packets_in for f in flows)
    audit = [r for r in store.audit_records() if r.action is AuditAction.PACKETS_DOWNLOADED]
    assert [(r.who, r.exception_id) for r in audit] == [(user, alert.id)]


def test_another_units_viewer_gets_404_and_no_audit(scene: tuple[Store, Alert]) -> None:
    store, alert = scene
    client = _client(store, "police-viewer")
    assert client.get(f"/alerts/{alert.id}/packets.pcap").status_code == 404
    assert client.get("/alerts/a-unknown/packets.pcap").status_code == 404
    assert not [r for r in store.audit_records() if r.action is AuditAction.PACKETS_DOWNLOADED]


def test_the_incident_page_links_each_alerts_packets(scene: tuple[Store, Alert]) -> None:
    store, alert = scene
    incident = store.incidents(IncidentQuery())[0]
    page = _client(store, "analyst").get(f"/incidents/{incident.id}")
    assert f"/alerts/{alert.id}/packets.pcap" in page.get_data(as_text=True)
    assert alert.id in with_captures(store, [alert])


def test_no_link_without_a_registered_capture(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "nssa.db") as store:
        replayed(store, tmp_path, "ssh_bruteforce.pcap")
        alert = flow_alerts(store)[0]
        with sqlite3.connect(tmp_path / "nssa.db") as raw:
            raw.execute("DELETE FROM captures")
        client = _client(store, "analyst")
        page = client.get(f"/alerts/{alert.id}")
        assert "packets.pcap" not in page.get_data(as_text=True)
        assert client.get(f"/alerts/{alert.id}/packets.pcap").status_code == 404


def test_the_cli_writes_the_alerts_packets(
    sqlite_scene: tuple[SqliteStore, Alert], tmp_path: Path
) -> None:
    store, alert = sqlite_scene
    out = tmp_path / "cli.pcap"
    result = CliRunner().invoke(
        main, ["packets", alert.id, "-o", str(out), "--store", f"sqlite:///{store.path}"]
    )
    assert result.exit_code == 0, result.output
    flows = packet_source(store, alert).flows
    assert len(frames(out)) == sum(f.packets_out + f.packets_in for f in flows)
    assert f"{len(frames(out))} packets" in result.output
    missing = CliRunner().invoke(
        main, ["packets", "a-nope", "-o", str(out), "--store", f"sqlite:///{store.path}"]
    )
    assert missing.exit_code != 0 and "no alert" in missing.output


def test_a_rebased_replay_is_cut_at_the_files_own_times(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "nssa.db") as store:
        copy = tmp_path / "ssh_bruteforce.pcap"
        shutil.copyfile(ROOT / "pcaps" / "ssh_bruteforce.pcap", copy)
        replay([copy], SETTINGS, store, sensor=SENSOR, rebase_to=2_000_000_000.0)
        (capture,) = store.captures(CaptureQuery())
        assert capture.first == pytest.approx(2_000_000_000.0)
        assert capture.time_shift == pytest.approx(2_000_000_000.0 - frames(copy)[0][0])
        source = packet_source(store, flow_alerts(store)[0])
    out = tmp_path / "out.pcap"
    with out.open("wb") as stream:
        write_packets(source, stream)
    written = frames(out)
    assert len(written) == sum(f.packets_out + f.packets_in for f in source.flows)
    assert written[0][0] < 2_000_000_000.0  # the packets keep the times they were captured at


UDP_SCAN = ROOT.parent / "shared" / "corpus" / "scan" / "evilfingers_nmap_udp_scan.pcap"


@pytest.mark.skipif(not UDP_SCAN.is_file(), reason="../shared/corpus is absent")
def test_icmp_refusals_come_out_with_the_probes_they_answer(tmp_path: Path) -> None:
    """A real nmap -sU scan: each closed port's ICMP unreachable belongs to its probe's flow."""
    with SqliteStore(tmp_path / "nssa.db") as store:
        replay([UDP_SCAN], SETTINGS, store, sensor=SENSOR)  # read in place, never copied
        alert = next(a for a in flow_alerts(store) if a.rule == "scan.udp")
        source = packet_source(store, alert)
    out = tmp_path / "out.pcap"
    with out.open("wb") as stream:
        write_packets(source, stream)
    written = frames(out)
    assert len(written) == sum(f.packets_out + f.packets_in for f in source.flows)
    assert {conversation_of_frame(f) for _, f in written} == {
        conversation_of_flow(f) for f in source.flows
    }
    unreachable = [f for _, f in written if dpkt.ethernet.Ethernet(f).data.p == 1]
    assert len(unreachable) == len(source.flows)  # one refusal per probed port
