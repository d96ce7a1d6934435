"""The shared Python test harness: the `sesload` binary, tools, free ports, request bodies, an
HTTP helper, the local stack (`LocalStack`) and the standalone SES simulator (`Simulator`).

Fixtures built on these live in tests/conftest.py. Test modules import what they need with
`from tests.harness import ...` (`tests` and every area directory are packages, so one pytest
session collects all of tests/ without module-name collisions).

The binary is `$SESLOAD_BIN`, else `<target>/debug/sesload` (`<target>` = `$CARGO_TARGET_DIR`,
else `target/`); the tests never build it: run `cargo build -p sesload` first (`just test` does).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "sesload-tests-key-0123456789abcdef"
INGEST_PATH = "/send_messages/events"
SCHEMA_PATH = ROOT / "schemas" / "send-request.schema.json"

# --------------------------------------------------------------------------------- tools

# Tools the README lists as optional ("What you need installed"): a test that needs one of them
# may skip when it is missing, with OPTIONAL_SKIP_PREFIX + the tool's name as the reason. Every
# other missing tool fails the test (tests/conftest.py turns any other skip into a failure, and
# with CI=true even these skips fail the run).
OPTIONAL_TOOLS = {"terraform": "Terraform >= 1.11 (only for the Terraform tests and the AWS deployment)"}
OPTIONAL_SKIP_PREFIX = "optional tool missing: "

# Required tools and how to get them (README "What you need installed"; `just setup`).
REQUIRED_TOOLS = {
    "node": "install Node.js 20 with npm (a README requirement)",
    "npm": "install Node.js 20 with npm (a README requirement)",
    "chromium": "run `just setup` as root (installs Debian's chromium) or install chromium",
    "cargo": "install Rust with rustup",
}


def require_tool(name: str) -> str:
    """The path of `name` on PATH. A missing optional tool (OPTIONAL_TOOLS) skips the test with
    the tool named in the reason; any other missing tool fails it."""
    found = shutil.which(name)
    if name == "chromium" and not found and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    if found:
        return found
    if name in OPTIONAL_TOOLS:
        pytest.skip(f"{OPTIONAL_SKIP_PREFIX}{name}: {OPTIONAL_TOOLS[name]} is not on PATH")
    pytest.fail(f"{name} not found on PATH: {REQUIRED_TOOLS.get(name, 'install it')}", pytrace=False)


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")


def sesload_bin() -> Path:
    """`$SESLOAD_BIN`, else `<target>/debug/sesload`; fails the test if it is not an executable."""
    env = os.environ.get("SESLOAD_BIN")
    path = Path(env) if env else target_dir() / "debug" / "sesload"
    if not (path.is_file() and os.access(path, os.X_OK)):
        origin = "$SESLOAD_BIN" if env else "the default (set SESLOAD_BIN to use another)"
        pytest.fail(f"sesload binary {path} ({origin}) is not an executable file: "
                    "run `cargo build -p sesload` first", pytrace=False)
    return path


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without SESLOAD_* (a developer's shell settings must not
    reach the processes under test), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESLOAD_")}
    env.update(extra)
    return env


def free_port() -> int:
    """A TCP port free on loopback now, for tools that cannot bind port 0 and report it
    (prefer `--port 0` + a ready file where the tool supports it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def terminate(proc: subprocess.Popen, timeout: float = 20.0) -> int:
    """SIGTERM the process group of `proc` (started with start_new_session=True), SIGKILL it
    after `timeout` s; returns the exit status."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    return proc.returncode


def wait_ready_file(path: Path, proc: subprocess.Popen, what: str, log: Path, timeout: float) -> dict:
    """The JSON object a process writes to its `--ready-file` once it listens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{tail(log)}")
        if path.exists():
            try:
                return json.loads(path.read_text())
            except ValueError:
                pass  # being written
        time.sleep(0.05)
    raise RuntimeError(f"{what} not ready in {timeout} s:\n{tail(log)}")


def tail(path: Path, n: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


# ------------------------------------------------------------------------------ requests


def request_body(campaign: str, n: int, customers: int = 500, **over) -> dict:
    """A valid ingest request (schemas/send-request.schema.json), the n-th of `campaign`: a
    mailbox-simulator recipient, a customer among 1..customers, unique_code `<campaign>-<n>`.
    Keyword arguments replace fields."""
    body = {
        "from": "sender@example.com",
        "to": f"success+{n}@simulator.amazonses.com",
        "template_name": "SimpleEmail",
        "user_id": str(n % customers + 1),
        "config_set": "load-test-config",
        "tags": [{"Name": "campaign", "Value": campaign}],
        "unique_code": f"{campaign}-{n:06d}",
    }
    body.update(over)
    return body


def http(method: str, url: str, body=None, headers: dict | None = None, timeout: float = 10):
    """One HTTP request: (status, JSON value when the answer is JSON, else its text)."""
    r = requests.request(method, url, json=body, headers=headers, timeout=timeout)
    try:
        return r.status_code, r.json()
    except ValueError:
        return r.status_code, r.text


def sim_codes(messages: list[dict]) -> list[str]:
    """The unique_code tags of the simulator's message log (`GET /_sim/messages`)."""
    return [m["tags"]["unique_code"] for m in messages if "unique_code" in m.get("tags", {})]


def lake_events(lake: Path) -> list[dict]:
    """Every SES event of a local event lake (completed files: a lake file is renamed into
    place when it is complete)."""
    out = []
    for f in sorted(lake.rglob("*.json")):
        for line in f.read_text().splitlines():
            if line.strip():
                out.append(json.loads(line))
    return out


def chromium(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Headless Chromium with a throw-away profile (fails the test when chromium is missing)."""
    exe = require_tool("chromium")
    profile = tempfile.mkdtemp(prefix="sesload-chromium-")
    try:
        return subprocess.run(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=timeout,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


# ---------------------------------------------------------------------------- TOML config


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


def to_toml(cfg: dict, prefix: str = "") -> str:
    """Minimal TOML writer: scalars and lists first, then sub-tables."""
    lines, tables = [], []
    for k, v in cfg.items():
        if isinstance(v, dict):
            tables.append((k, v))
        else:
            lines.append(f"{k} = {_toml_value(v)}")
    out = "\n".join(lines) + "\n"
    for k, v in tables:
        name = f"{prefix}{k}"
        out += f"\n[{name}]\n" + to_toml(v, prefix=name + ".")
    return out


def deep_merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


# ----------------------------------------------------------------------------- local stack


class LocalStack:
    """One `sesload up` in `data_dir`, restartable on the same data dir.

    `config` is written to `<data_dir>/sesload.toml` (keys as in sesload.toml; `{"sim": {...}}`
    for the simulator) on top of the test API key and a loopback host. The first start binds
    port 0 for the API and the simulator (`--port 0 --sim-port 0`) and reads the addresses from
    `--ready-file`; restarts reuse the same ports, as a restarted service would."""

    def __init__(self, data_dir: Path, config: dict | None = None, customers: int = 500,
                 api_key: str = API_KEY):
        self.data_dir = data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.api_key = api_key
        self.customers = customers
        self.config = deep_merge({"api_key": api_key, "host": "127.0.0.1"}, config or {})
        self.config_path = data_dir / "sesload.toml"
        self.config_path.write_text(to_toml(self.config))
        self.ready_path = data_dir / "ready.json"
        self.log_path = data_dir / "up.log"
        self.bin = sesload_bin()
        self.proc: subprocess.Popen | None = None
        self.info: dict = {}
        self.starts = 0
        self._ports = ("0", "0")
        self._local = threading.local()

    # -- lifecycle -------------------------------------------------------------------------
    def seed(self, count: int | None = None):
        """`sesload seed`: customers 1..count (default: `customers`) in the data dir."""
        p = subprocess.run(
            [str(self.bin), "seed", "--count", str(count or self.customers), "--quiet",
             "--data-dir", str(self.data_dir)],
            env=clean_env(), capture_output=True, text=True, timeout=120,
        )
        assert p.returncode == 0, f"sesload seed failed ({p.returncode}): {p.stderr[-2000:]}"

    def start(self, timeout: float = 60.0) -> LocalStack:
        assert self.proc is None, "already running"
        self.ready_path.unlink(missing_ok=True)
        port, sim_port = self._ports
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(self.bin), "up", "--config", str(self.config_path), "--data-dir", str(self.data_dir),
                 "--port", port, "--sim-port", sim_port, "--ready-file", str(self.ready_path)],
                env=clean_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        info = wait_ready_file(self.ready_path, self.proc, "sesload up", self.log_path, timeout)
        # Replaced only now: a client thread keeps using the previous address until the restart
        # is ready (the same ports after the first start).
        self.info = info
        self._ports = (str(urlsplit(info["url"]).port), str(urlsplit(info["sim_url"]).port))
        r = self.session.get(self.url("/healthz"), timeout=10)
        assert r.status_code == 200, f"/healthz answered {r.status_code}: {r.text}"
        return self

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM (graceful: running batches finish, pending events are written), SIGKILL after
        `timeout` s. Returns the exit status (None if it was not running)."""
        if self.proc is None:
            return None
        rc = terminate(self.proc, timeout)
        self.proc = None
        return rc

    def kill9(self):
        assert self.proc is not None and self.proc.poll() is None, "sesload up is not running"
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def log_tail(self, n: int = 4000) -> str:
        return tail(self.log_path, n)

    # -- HTTP ------------------------------------------------------------------------------
    @property
    def session(self) -> requests.Session:
        """A requests session of the calling thread."""
        s = getattr(self._local, "session", None)
        if s is None:
            s = self._local.session = requests.Session()
        return s

    def url(self, path: str = "") -> str:
        assert self.info, "the stack has not been started"
        return self.info["url"] + path

    def sim_url(self, path: str = "") -> str:
        assert self.info, "the stack has not been started"
        return self.info["sim_url"] + path

    def post(self, body, headers: dict | None = None, raw: bytes | None = None) -> requests.Response:
        """POST to the ingest API, with the stack's key unless `headers` replaces them."""
        h = {"x-api-key": self.api_key, "content-type": "application/json"} if headers is None else headers
        data = raw if raw is not None else json.dumps(body).encode()
        return self.session.post(self.url(INGEST_PATH), data=data, headers=h, timeout=10)

    def stats(self, campaign: str | None = None) -> dict:
        params = {"campaign": campaign} if campaign else None
        r = self.session.get(self.url("/_local/stats"), params=params, timeout=10)
        r.raise_for_status()
        return r.json()

    def sim_stats(self) -> dict:
        r = self.session.get(self.sim_url("/_sim/stats"), timeout=10)
        r.raise_for_status()
        return r.json()

    def sim_messages(self) -> list[dict]:
        r = self.session.get(self.sim_url("/_sim/messages"), params={"limit": 1_000_000}, timeout=30)
        r.raise_for_status()
        v = r.json()
        return v["messages"] if isinstance(v, dict) else v

    def sim_flush(self):
        """Write every pending simulator event (deliveries follow sends by a delay) now."""
        r = self.session.post(self.sim_url("/_sim/flush"), params={"all": "true"}, timeout=30)
        r.raise_for_status()

    def wait_settled(self, campaign: str, expected: int, timeout: float) -> dict:
        """Wait until `campaign` accepted `expected` requests and every accepted one is sent,
        dead-lettered or skipped as a repeated unique_code; returns the campaign's counters."""
        deadline = time.monotonic() + timeout
        c = {}
        while time.monotonic() < deadline:
            c = self.stats(campaign)["campaign"]
            settled = c["sent"] + c["dlq"] + c["duplicate_codes"]
            if c["accepted"] >= expected and settled >= c["accepted"] and c["queued"] == 0:
                return c
            time.sleep(0.25)
        raise AssertionError(f"campaign {campaign} did not settle in {timeout}s: {c}\n{self.log_tail()}")

    def drain_with_permanent_failures(self, prefix: str, n_valid: int, n_permanent: int,
                                      timeout: float) -> tuple[str, list[dict], dict, float]:
        """The fault suite's scenario: seed, queue `n_valid` good requests and `n_permanent` for
        unknown customers (straight into the queue, the stack stopped, so the backlog meets the
        quota at full speed), start, wait until it settles, and assert nothing was lost and only
        the permanent ones are in the DLQ (as `unknown_customer`). Returns the campaign, the valid
        bodies, the campaign's counters and the seconds the drain took."""
        self.seed()
        campaign = f"{prefix}-{int(time.time())}"
        valid = [request_body(campaign, n) for n in range(n_valid)]
        permanent = [request_body(campaign, 10_000 + n, user_id=f"nobody{n}") for n in range(n_permanent)]
        accepted = len(self.enqueue_raw([json.dumps(b) for b in valid + permanent], campaign))
        t0 = time.monotonic()
        self.start()
        c = self.wait_settled(campaign, accepted, timeout=timeout)
        drain_s = time.monotonic() - t0
        assert c["unaccounted"] == 0 and c["queued"] == 0, c
        assert c["sent"] == n_valid, c
        assert c["dlq"] == n_permanent, c
        assert c["dlq_by_reason"] == {"unknown_customer": n_permanent}, c
        return campaign, valid, c, drain_s

    def wait_queue_empty(self, expected_accepted: int, timeout: float) -> dict:
        """Wait until the stack accepted `expected_accepted` in all and its queue is empty."""
        deadline = time.monotonic() + timeout
        s = {}
        while time.monotonic() < deadline:
            s = self.stats()
            if s["accepted"] >= expected_accepted and s["queue"]["total"] == 0:
                return s
            time.sleep(0.25)
        raise AssertionError(f"queue not empty after {timeout}s: {s}\n{self.log_tail()}")

    # -- the data dir (read-only checks, and raw enqueue with the stack stopped) ------------
    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.data_dir / "sesload.db", timeout=30)

    def dlq_rows(self) -> list[dict]:
        with self.db() as c:
            c.row_factory = sqlite3.Row
            return [dict(r) for r in c.execute("SELECT * FROM dlq ORDER BY seq")]

    def enqueue_raw(self, bodies: list[str], campaign: str) -> list[str]:
        """Put bodies straight into the durable queue, bypassing ingest validation — what a
        producer writing to SQS directly could do. Only while the stack is stopped. Mirrors
        `Queue::send_batch` (messages + accepted log + campaign counter)."""
        assert self.proc is None, "enqueue_raw needs the stack stopped"
        now = int(time.time() * 1000)
        ids = []
        with self.db() as c:
            for b in bodies:
                mid = str(uuid.uuid4())
                code = None
                try:
                    v = json.loads(b)
                    if isinstance(v, dict) and isinstance(v.get("unique_code"), str):
                        code = v["unique_code"]
                except ValueError:
                    pass
                c.execute(
                    "INSERT INTO messages(id, body, campaign, unique_code, sent_at, visible_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)", (mid, b, campaign, code, now, now))
                c.execute(
                    "INSERT INTO accepted(message_id, unique_code, campaign, accepted_at)"
                    " VALUES (?, ?, ?, ?)", (mid, code, campaign, now))
                ids.append(mid)
            c.execute(
                "INSERT INTO campaigns(campaign, accepted, first_accepted_at, last_accepted_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT(campaign) DO UPDATE SET"
                " accepted = accepted + excluded.accepted, last_accepted_at = excluded.last_accepted_at",
                (campaign, len(bodies), now, now))
        return ids

    def lake_sends(self) -> list[tuple[str, int]]:
        """(unique_code tag, mail.timestamp in ms) of every Send event in the local lake."""
        out = []
        for ev in lake_events(self.data_dir / "lake"):
            if ev.get("eventType") != "Send":
                continue
            tag = ev["mail"]["tags"].get("unique_code")
            if tag:
                ts = datetime.fromisoformat(ev["mail"]["timestamp"].replace("Z", "+00:00"))
                out.append((tag[0], int(ts.timestamp() * 1000)))
        return out

    def lake_send_codes(self) -> list[str]:
        return [c for c, _ in self.lake_sends()]


# ------------------------------------------------------------------------------ simulator


class Simulator:
    """One `sesload sim` (the SES v2 simulator alone) on `--port 0` with `data_dir` as its data
    dir; the address comes from `--ready-file`. stdout goes to `<data_dir>/sim.out`, stderr to
    `<data_dir>/sim.log`."""

    def __init__(self, data_dir: Path, *flags: str, timeout: float = 30.0):
        self.dir = data_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        ready = data_dir / "ready.json"
        ready.unlink(missing_ok=True)
        self.log_path = data_dir / "sim.log"
        self.out_path = data_dir / "sim.out"
        with open(self.log_path, "w") as log, open(self.out_path, "w") as out:
            self.proc = subprocess.Popen(
                [str(sesload_bin()), "sim", "--port", "0", "--ready-file", str(ready),
                 "--data-dir", str(data_dir), *flags],
                cwd=data_dir, env=clean_env(), stdin=subprocess.DEVNULL, stdout=out, stderr=log,
                start_new_session=True,
            )
        try:
            self.info = wait_ready_file(ready, self.proc, "sesload sim", self.log_path, timeout)
        except BaseException:
            self.stop()
            raise
        self.endpoint = self.info["endpoint"]

    def sesv2(self, access_key_id: str = "AKIDTEST", config=None):
        """A boto3 `sesv2` client pointed at the simulator."""
        import boto3

        return boto3.client("sesv2", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=access_key_id, aws_secret_access_key="secret", config=config)

    def get(self, path: str):
        r = requests.get(self.endpoint + path, timeout=10)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, body: dict | None = None):
        """POST a JSON body (e.g. to a /_sim control endpoint); returns the JSON answer."""
        r = requests.post(self.endpoint + path, json=body or {}, timeout=10)
        r.raise_for_status()
        return r.json()

    def flush(self):
        """Write every pending event (deliveries follow sends by a delay) now."""
        requests.post(self.endpoint + "/_sim/flush", params={"all": "true"}, timeout=30).raise_for_status()

    def stdout_lines(self) -> list[str]:
        return self.out_path.read_text().splitlines()

    def stop(self, timeout: float = 15.0) -> int:
        return terminate(self.proc, timeout)
