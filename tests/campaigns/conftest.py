"""Harness of the campaign tests: the real `sesload up` (binary $SESLOAD_BIN, else
$CARGO_TARGET_DIR/debug/sesload, else target/debug/sesload) on free ports in a temporary data
directory, and `sesload campaign` run against it. Everything started is stopped afterwards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "campaign-tests-key-0123456789"


def sesload_bin() -> Path:
    cands = []
    if os.environ.get("SESLOAD_BIN"):
        cands.append(Path(os.environ["SESLOAD_BIN"]))
    if os.environ.get("CARGO_TARGET_DIR"):
        cands.append(Path(os.environ["CARGO_TARGET_DIR"]) / "debug" / "sesload")
    cands.append(ROOT / "target" / "debug" / "sesload")
    for c in cands:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    pytest.fail(f"sesload binary not found (tried {cands}); run `cargo build -p sesload`")


def request_body(campaign: str, n: int, customers: int = 200, **over) -> dict:
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


class Stack:
    """One `sesload up` with `--set` overrides, its ready file, and `sesload campaign`."""

    def __init__(self, data_dir: Path, sets: list[str]):
        self.data_dir = data_dir
        self.sets = sets
        self.ready = data_dir / "ready.json"
        self.log = data_dir / "up.log"
        self.proc: subprocess.Popen | None = None
        self.info: dict = {}
        self.http = requests.Session()

    def seed(self, count: int = 200):
        subprocess.run([str(sesload_bin()), "seed", "--count", str(count), "--quiet",
                        "--data-dir", str(self.data_dir)], check=True, capture_output=True, timeout=120)

    def start(self, timeout: float = 60) -> Stack:
        args = [str(sesload_bin()), "up", "--config", "none", "--data-dir", str(self.data_dir),
                "--port", "0", "--sim-port", "0", "--api-key", API_KEY, "--ready-file", str(self.ready)]
        for s in self.sets:
            args += ["--set", s]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(self.log, "w"),
                                     start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.ready.exists():
                try:
                    self.info = json.loads(self.ready.read_text())
                    return self
                except ValueError:
                    pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"sesload up exited: {self.log.read_text()[-3000:]}")
            time.sleep(0.05)
        raise RuntimeError(f"sesload up not ready in {timeout}s: {self.log.read_text()[-3000:]}")

    def url(self, path: str = "") -> str:
        return self.info["url"] + path

    def sim_url(self, path: str = "") -> str:
        return self.info["sim_url"] + path

    def post(self, body: dict) -> requests.Response:
        return self.http.post(self.url("/send_messages/events"), data=json.dumps(body),
                              headers={"x-api-key": API_KEY, "content-type": "application/json"}, timeout=10)

    def sim_messages(self) -> list[dict]:
        r = self.http.get(self.sim_url("/_sim/messages"), params={"limit": 1_000_000}, timeout=30)
        r.raise_for_status()
        return r.json()["messages"]

    def campaign(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """`sesload campaign --ready-file … ARGS` (as operator `cli:tester`)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SESLOAD_")}
        env["RUST_BACKTRACE"] = "0"
        return subprocess.run([str(sesload_bin()), "campaign", "--ready-file", str(self.ready),
                               "--by", "cli:tester", *args],
                              capture_output=True, text=True, timeout=timeout, env=env)

    def campaign_json(self, *args: str) -> dict | list:
        p = self.campaign(*args, "--json")
        assert p.returncode == 0, f"sesload campaign {' '.join(args)}: {p.returncode}\n{p.stderr}"
        return json.loads(p.stdout)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


@pytest.fixture
def make_stack(tmp_path):
    stacks: list[Stack] = []

    def make(sets: list[str]) -> Stack:
        d = tmp_path / f"stack{len(stacks)}"
        d.mkdir()
        s = Stack(d, sets)
        stacks.append(s)
        return s

    yield make
    for s in stacks:
        s.stop()
