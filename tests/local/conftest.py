"""Harness of the local-stack tests: starts the real `sesload up` (binary $SESLOAD_BIN, else
$CARGO_TARGET_DIR/debug/sesload, else target/debug/sesload) on free ports in a temporary data
directory, and always stops what it started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "local-tests-key-0123456789"


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


def http(method: str, url: str, body: dict | None = None, headers: dict | None = None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode()
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


def send_body(campaign: str, n: int, customers: int = 200) -> dict:
    return {
        "from": "sender@example.com",
        "to": "success@simulator.amazonses.com",
        "template_name": "SimpleEmail",
        "user_id": str(n % customers + 1),
        "config_set": "load-test-config",
        "tags": [{"Name": "campaign", "Value": campaign}],
        "unique_code": f"{campaign}-{n:06d}",
    }


class Stack:
    def __init__(self, data_dir: Path, sets: list[str]):
        self.data_dir = data_dir
        self.sets = sets
        self.proc: subprocess.Popen | None = None
        self.info: dict = {}
        self.logs: list[Path] = []

    def start(self, timeout=60):
        ready = self.data_dir / "ready.json"
        ready.unlink(missing_ok=True)
        log = self.data_dir / f"up-{len(self.logs)}.log"
        self.logs.append(log)
        args = [str(sesload_bin()), "up", "--config", "none", "--data-dir", str(self.data_dir),
                "--port", "0", "--api-key", API_KEY, "--ready-file", str(ready)]
        for s in self.sets:
            args += ["--set", s]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(log, "w"),
                                     start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if ready.exists():
                try:
                    self.info = json.loads(ready.read_text())
                    return self
                except ValueError:
                    pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"sesload up exited: {log.read_text()[-3000:]}")
            time.sleep(0.05)
        raise RuntimeError(f"sesload up not ready in {timeout}s: {log.read_text()[-3000:]}")

    @property
    def url(self) -> str:
        return self.info["url"]

    def seed(self, count: int):
        subprocess.run([str(sesload_bin()), "seed", "--count", str(count), "--quiet",
                        "--data-dir", str(self.data_dir)], check=True, capture_output=True, timeout=120)

    def post(self, body: dict):
        return http("POST", self.url + "/send_messages/events", body,
                    {"x-api-key": API_KEY, "content-type": "application/json"})

    def stats(self, campaign: str | None = None) -> dict:
        q = f"?campaign={campaign}" if campaign else ""
        return http("GET", self.url + "/_local/stats" + q)[1]

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        return self.proc.returncode if self.proc else None


@pytest.fixture
def make_stack(tmp_path):
    stacks: list[Stack] = []

    def make(sets: list[str]) -> Stack:
        s = Stack(tmp_path / f"stack{len(stacks)}", sets)
        s.data_dir.mkdir(parents=True)
        stacks.append(s)
        return s

    yield make
    for s in stacks:
        s.kill9()
