"""Harness of the fault and fuzz suite (a uniquely named module: several test areas have a conftest.py): runs the real `sesload up` on loopback in a temporary data
directory, with free ports, and always stops what it started.

Binary: $SESLOAD_BIN, else $CARGO_TARGET_DIR/debug/sesload, else target/debug/sesload (build it
with `cargo build -p sesload`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "faults-suite-key-0123456789abcdef"
INGEST_PATH = "/send_messages/events"
SCHEMA_PATH = ROOT / "schemas" / "send-request.schema.json"
OPENAPI_PATH = ROOT / "openapi" / "send-request.openapi.json"


def sesload_bin() -> Path:
    candidates = []
    if os.environ.get("SESLOAD_BIN"):
        candidates.append(Path(os.environ["SESLOAD_BIN"]))
    if os.environ.get("CARGO_TARGET_DIR"):
        candidates.append(Path(os.environ["CARGO_TARGET_DIR"]) / "debug" / "sesload")
    candidates.append(ROOT / "target" / "debug" / "sesload")
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    raise RuntimeError(
        f"sesload binary not found (tried {', '.join(map(str, candidates))}); "
        "run `cargo build -p sesload` or set SESLOAD_BIN"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    lines = []
    tables = []
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


def request_body(campaign: str, n: int, **over) -> dict:
    body = {
        "from": "sender@example.com",
        "to": f"success+{n}@simulator.amazonses.com",
        "template_name": "SimpleEmail",
        "user_id": str(n % 500 + 1),
        "config_set": "load-test-config",
        "tags": [{"Name": "campaign", "Value": campaign}],
        "unique_code": f"{campaign}-{n:06d}",
    }
    body.update(over)
    return body


class Stack:
    """One `sesload up` in `data_dir`, restartable (the data dir survives restarts)."""

    def __init__(self, data_dir: Path, config: dict, customers: int = 500):
        self.data_dir = data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.sim_port = free_port()
        base = {
            "api_key": API_KEY,
            "host": "127.0.0.1",
            "port": self.port,
            "sim_port": self.sim_port,
            "data_dir": str(data_dir),
            "sim": {"message_log_capacity": 200_000, "max_24_hour_send": -1},
        }
        self.config = deep_merge(base, config)
        self.config_path = data_dir / "sesload.toml"
        self.config_path.write_text(to_toml(self.config))
        self.ready_path = data_dir / "ready.json"
        self.log_path = data_dir / "up.log"
        self.proc: subprocess.Popen | None = None
        self.session = requests.Session()
        self.bin = sesload_bin()
        self.customers = customers
        self.starts = 0

    # -- lifecycle -------------------------------------------------------------------------
    def seed(self):
        subprocess.run(
            [str(self.bin), "seed", "--count", str(self.customers), "--quiet",
             "--data-dir", str(self.data_dir)],
            check=True, timeout=120, stdout=subprocess.DEVNULL,
        )

    def start(self, timeout: float = 60.0):
        assert self.proc is None, "already running"
        if self.ready_path.exists():
            self.ready_path.unlink()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(self.bin), "up", "--config", str(self.config_path),
             "--data-dir", str(self.data_dir),
             "--port", str(self.port), "--ready-file", str(self.ready_path)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sesload up exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self.ready_path.exists() and self.ready_path.read_text().strip():
                try:
                    if self.session.get(self.url("/healthz"), timeout=2).status_code == 200:
                        return
                except requests.RequestException:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"sesload up not ready in {timeout}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 20.0):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def kill9(self):
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    # -- HTTP ------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def sim_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.sim_port}{path}"

    def post(self, body, headers=None, raw: bytes | None = None):
        h = {"x-api-key": API_KEY, "content-type": "application/json"}
        if headers is not None:
            h = headers
        data = raw if raw is not None else json.dumps(body).encode()
        return self.session.post(self.url(INGEST_PATH), data=data, headers=h, timeout=10)

    def enqueue_via_ingest(self, bodies: list[dict], workers: int = 8) -> int:
        """POST every body; each must be accepted. Returns how many were."""

        def one(chunk):
            s = requests.Session()
            ok = 0
            for b in chunk:
                r = s.post(self.url(INGEST_PATH), data=json.dumps(b),
                           headers={"x-api-key": API_KEY, "content-type": "application/json"},
                           timeout=10)
                assert r.status_code == 200, f"ingest answered {r.status_code}: {r.text}"
                ok += 1
            return ok

        chunks = [bodies[i::workers] for i in range(workers)]
        with ThreadPoolExecutor(workers) as ex:
            return sum(ex.map(one, chunks))

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
        self.session.post(self.sim_url("/_sim/flush"), params={"all": "true"}, timeout=30)

    def wait_settled(self, campaign: str, expected: int, timeout: float) -> dict:
        """Wait until every accepted message of `campaign` is sent, dead-lettered or skipped."""
        deadline = time.monotonic() + timeout
        c = {}
        while time.monotonic() < deadline:
            c = self.stats(campaign)["campaign"]
            settled = c["sent"] + c["dlq"] + c["duplicate_codes"]
            if c["accepted"] >= expected and settled >= c["accepted"] and c["queued"] == 0:
                return c
            time.sleep(0.25)
        raise AssertionError(f"campaign {campaign} did not settle in {timeout}s: {c}\n{self.log_tail()}")

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

    # -- direct database access (read-only checks, and raw enqueue with the stack stopped) ---
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
        """(unique_code tag, mail.timestamp in ms) of every Send event in the local lake
        (completed files only: a lake file is renamed into place when it is complete)."""
        from datetime import datetime

        out = []
        for f in sorted((self.data_dir / "lake").rglob("*.json")):
            for line in f.read_text().splitlines():
                if not line.strip():
                    continue
                ev = json.loads(line)
                if ev.get("eventType") != "Send":
                    continue
                tag = ev["mail"]["tags"].get("unique_code")
                if tag:
                    ts = datetime.fromisoformat(ev["mail"]["timestamp"].replace("Z", "+00:00"))
                    out.append((tag[0], int(ts.timestamp() * 1000)))
        return out

    def lake_send_codes(self) -> list[str]:
        return [c for c, _ in self.lake_sends()]


def sim_codes(messages: list[dict]) -> list[str]:
    return [m["tags"]["unique_code"] for m in messages if "unique_code" in m.get("tags", {})]
