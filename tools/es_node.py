"""Build, start and stop the single-node Elasticsearch of ``tools/es-node/`` (tests, development).

The node is Elasticsearch's server and HTTP transport jars from Maven Central, started by our
launcher under a Java 21+ runtime (Temurin 25 by default). ``build`` resolves and compiles it
(the only step that downloads, like ``pip install``); ``start`` runs it on loopback and waits
until the cluster is at least yellow. Used by ``make es-up``/``es-down`` and the test session.

    python -m tools.es_node build | up | down | status
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODULE = ROOT / "tools" / "es-node"
TARGET = MODULE / "target"
STATE = ROOT / ".es-node"  # the node `make es-up` leaves running
DEFAULT_JAVA_HOME = Path("/usr/lib/jvm/temurin-25-jdk-amd64")
JAVA_HOME_ENV = "NSSA_ES_JAVA_HOME"
HTTP_PORTS = "9250-9349"  # the first free port is taken, so a dev node and a test node coexist
HEAP = "512m"
START_DEADLINE_S = 180.0
MAIN_CLASS = "nssa.esnode.Main"


class NodeError(RuntimeError):
    """The node could not be built, started or stopped; the message says why."""


@dataclass(frozen=True)
class Toolchain:
    """The JDK that builds and runs the node, and Maven (None where it is missing)."""

    java_home: Path
    mvn: str | None

    @property
    def java(self) -> Path:
        """The ``java`` launcher of this JDK."""
        return self.java_home / "bin" / "java"


def find_toolchain() -> Toolchain | None:
    """The JDK from $NSSA_ES_JAVA_HOME or the default Temurin 25; None when absent."""
    home = Path(os.environ.get(JAVA_HOME_ENV) or DEFAULT_JAVA_HOME)
    if not (home / "bin" / "java").is_file():
        return None
    return Toolchain(java_home=home, mvn=shutil.which("mvn"))


def is_built() -> bool:
    """Whether the launcher is compiled and its runtime classpath copied."""
    jar = TARGET / "es-node-1.jar"
    if not (jar.is_file() and (TARGET / "lib").is_dir()):
        return False
    sources = [MODULE / "pom.xml", *MODULE.glob("src/**/*.java")]
    return all(src.stat().st_mtime <= jar.stat().st_mtime for src in sources)


def build(toolchain: Toolchain) -> None:
    """Resolve the jars from Maven Central and compile the launcher, unless up to date."""
    if is_built():
        return
    if toolchain.mvn is None or not (toolchain.java_home / "bin" / "javac").is_file():
        raise NodeError(f"building tools/es-node needs mvn and javac in {toolchain.java_home}")
    env = os.environ | {"JAVA_HOME": str(toolchain.java_home)}
    done = subprocess.run(
        [toolchain.mvn, "-B", "-q", "-f", str(MODULE / "pom.xml"), "package"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise NodeError(f"mvn package failed in tools/es-node:\n{done.stdout}{done.stderr}")


@dataclass(frozen=True)
class RunningNode:
    """A started node: where it listens, its process and how long it took to get ready."""

    url: str
    pid: int
    home: Path
    log: Path
    start_seconds: float

    def rss_bytes(self) -> int:
        """Resident memory now (VmRSS), 0 once the process is gone."""
        return _proc_status_kib(self.pid, "VmRSS") * 1024

    def peak_rss_bytes(self) -> int:
        """Highest resident memory so far (VmHWM), 0 once the process is gone."""
        return _proc_status_kib(self.pid, "VmHWM") * 1024


def start(toolchain: Toolchain, home: Path, *, ports: str = HTTP_PORTS) -> RunningNode:
    """Start a node with its data under ``home`` and wait until it serves (yellow health)."""
    if not is_built():
        raise NodeError("tools/es-node is not built: run `make es-build`")
    home.mkdir(parents=True, exist_ok=True)
    port_file, log = home / "http.port", home / "node.log"
    port_file.unlink(missing_ok=True)
    classpath = f"{TARGET / 'classes'}:{TARGET / 'lib'}/*"
    command = [
        str(toolchain.java),
        f"-Xms{HEAP}",
        f"-Xmx{HEAP}",
        "--enable-native-access=ALL-UNNAMED",
        "-cp",
        classpath,
        MAIN_CLASS,
        str(home),
        ports,
        str(port_file),
    ]
    started = time.monotonic()
    with log.open("wb") as out:
        # A session of its own: the node outlives `make es-up` and ignores the shell's ^C.
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = _wait_ready(process, port_file, log, started + START_DEADLINE_S)
    return RunningNode(
        url=url, pid=process.pid, home=home, log=log, start_seconds=time.monotonic() - started
    )


def stop(pid: int, *, timeout: float = 60.0) -> None:
    """Stop the node ``pid``: SIGTERM (a clean close), then SIGKILL after ``timeout``."""
    if not _alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        _reap(pid)
        time.sleep(0.1)


def health(url: str, *, timeout_s: float = 1.0) -> str | None:
    """The cluster status once at least yellow, or None while the node does not answer."""
    query = f"{url}/_cluster/health?wait_for_status=yellow&timeout={int(timeout_s * 1000)}ms"
    try:
        with urllib.request.urlopen(query, timeout=timeout_s + 5) as response:
            status = json.load(response).get("status")
    except (OSError, urllib.error.URLError, ValueError):
        return None
    return str(status) if status in ("yellow", "green") else None


def _wait_ready(
    process: subprocess.Popen[bytes], port_file: Path, log: Path, deadline: float
) -> str:
    """Poll for the port file, then for yellow health, until ``deadline``."""
    url = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise NodeError(f"node exited with {process.returncode} before serving:\n{_tail(log)}")
        if not url and port_file.is_file():
            url = f"http://127.0.0.1:{port_file.read_text().strip()}"
        if url and health(url):
            return url
        time.sleep(0.2)
    stop(process.pid)
    raise NodeError(f"node not ready within {START_DEADLINE_S:.0f}s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "State:\tZ" not in status.read_text()
    except OSError:
        return False


def _reap(pid: int) -> None:
    """Collect our own child's exit status, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _proc_status_kib(pid: int, key: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _command_build() -> int:
    toolchain = find_toolchain()
    if toolchain is None or toolchain.mvn is None:
        missing = "mvn" if toolchain else f"a JDK at ${JAVA_HOME_ENV} or {DEFAULT_JAVA_HOME}"
        if os.environ.get("CI") == "true":
            print(f"es-node: cannot build: {missing} is missing", file=sys.stderr)
            return 1
        print(f"es-node: {missing} is missing; ES tests will be skipped", file=sys.stderr)
        return 0
    build(toolchain)
    return 0


def _command_up() -> int:
    state = _read_state()
    if state and _alive(int(state["pid"])) and health(str(state["url"])):
        print(f"ES_URL={state['url']}")
        return 0
    toolchain = find_toolchain()
    if toolchain is None:
        print(f"es-node: no JDK at ${JAVA_HOME_ENV} or {DEFAULT_JAVA_HOME}", file=sys.stderr)
        return 1
    build(toolchain)
    shutil.rmtree(STATE / "home", ignore_errors=True)
    node = start(toolchain, STATE / "home")
    record = {
        "url": node.url,
        "pid": node.pid,
        "start_seconds": round(node.start_seconds, 2),
        "rss_mib": round(node.rss_bytes() / 2**20),
    }
    (STATE / "node.json").write_text(json.dumps(record) + "\n")
    print(f"es-node: ready in {node.start_seconds:.1f}s, RSS {record['rss_mib']} MiB")
    print(f"ES_URL={node.url}")
    return 0


def _command_down() -> int:
    state = _read_state()
    if state is None:
        print("es-node: no node running")
        return 0
    stop(int(state["pid"]))
    shutil.rmtree(STATE, ignore_errors=True)
    print(f"es-node: stopped {state['url']}")
    return 0


def _command_status() -> int:
    state = _read_state()
    if state is None or not _alive(int(state["pid"])):
        print("es-node: not running")
        return 1
    print(json.dumps(state | {"health": health(str(state["url"]))}))
    return 0


def _read_state() -> dict[str, Any] | None:
    try:
        state = json.loads((STATE / "node.json").read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


COMMANDS = {
    "build": _command_build,
    "up": _command_up,
    "down": _command_down,
    "status": _command_status,
}


def main(argv: list[str]) -> int:
    """Run one command: build, up, down or status."""
    if len(argv) != 1 or argv[0] not in COMMANDS:
        print(f"usage: python -m tools.es_node {{{','.join(COMMANDS)}}}", file=sys.stderr)
        return 64
    try:
        return COMMANDS[argv[0]]()
    except NodeError as exc:
        print(f"es-node: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
