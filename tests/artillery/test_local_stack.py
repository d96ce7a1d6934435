"""Artillery (artillery/run.sh local) against the real local stack (`sesload up`): every request
is accepted, and the stack's own reconciliation of the run's campaign accounts for every one of
them (sent + in the DLQ by reason, nothing lost, no duplicate sends) once the queue drains.

Needs the `sesload` binary (`cargo build -p sesload`; $SESLOAD_BIN) and `just setup`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "artillery" / "run.sh"
KEY = "artillery-e2e-key-0123456789"


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
        f"sesload binary not found (tried {', '.join(map(str, candidates))}); run `cargo build -p sesload`"
    )


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


@pytest.fixture()
def stack(tmp_path):
    if not (ROOT / "artillery" / "node_modules" / ".bin" / "artillery").exists():
        pytest.skip("artillery/node_modules missing: run `just setup`")
    binary = sesload_bin()
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESLOAD_")}
    seeded = subprocess.run(
        [str(binary), "seed", "--count", "200", "--data-dir", str(data), "--quiet"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert seeded.returncode == 0, seeded.stderr
    ready = tmp_path / "ready.json"
    log = open(tmp_path / "up.log", "w")
    proc = subprocess.Popen(
        [
            str(binary), "up", "--config", "none", "--data-dir", str(data), "--port", "0",
            "--sim-port", "0", "--api-key", KEY, "--ready-file", str(ready),
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() or not ready.read_text().strip():
            assert proc.poll() is None, f"sesload up exited: {(tmp_path / 'up.log').read_text()[-2000:]}"
            assert time.monotonic() < deadline, "sesload up not ready after 60 s"
            time.sleep(0.1)
        time.sleep(0.1)
        yield json.loads(ready.read_text())
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_artillery_run_is_fully_accounted_for_by_the_local_stack(stack):
    campaign = f"e2e-{uuid.uuid4().hex[:10]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESLOAD_")}
    env.update(
        SESLOAD_TARGET=stack["target"],
        SESLOAD_API_KEY=KEY,
        SESLOAD_CAMPAIGN=campaign,
        SESLOAD_WARMUP_DURATION="1",
        SESLOAD_WARMUP_RATE="25",
        SESLOAD_RATE="25",
        SESLOAD_DURATION="4",
        SESLOAD_CUSTOMERS="200",
        SESLOAD_MIX="success=80,bounce=10,complaint=5,ooto=5",
    )
    run = subprocess.run(
        [str(RUN), "local", "--quiet"], env=env, capture_output=True, text=True, timeout=180,
        stdin=subprocess.DEVNULL,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "ok: http.codes.200 == vusers.created" in out
    expected = 25 + 25 * 4

    stats_url = f"{stack['stats_url']}?campaign={campaign}"
    deadline = time.monotonic() + 120
    while True:
        rec = get_json(stats_url)["campaign"]
        if rec["queued"] == 0 and rec["sent"] + rec["dlq"] >= rec["accepted"]:
            break
        assert time.monotonic() < deadline, f"queue not drained after 120 s: {rec}"
        time.sleep(0.5)
    print(f"artillery -> local stack: {json.dumps(rec)}")
    assert rec["accepted"] == expected
    assert rec["sent"] + rec["dlq"] == expected
    assert rec["unaccounted"] == 0
    assert rec["duplicate_codes"] == 0
    # All customers are seeded and all recipients are simulator addresses: nothing is poison.
    assert rec["dlq"] == 0, rec["dlq_by_reason"]
