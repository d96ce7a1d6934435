"""Artillery (artillery/run.sh local) against the real local stack (`sesload up`): every request
is accepted, and the stack's own reconciliation of the run's campaign accounts for every one of
them (sent + in the DLQ by reason, nothing lost, no duplicate sends) once the queue drains.

Needs the `sesload` binary (`cargo build -p sesload`; $SESLOAD_BIN) and `just setup`; the stack is
the shared `local_stack` fixture (500 customers seeded).
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid

from tests.harness import ROOT, clean_env

RUN = ROOT / "artillery" / "run.sh"


def test_artillery_run_is_fully_accounted_for_by_the_local_stack(local_stack):
    campaign = f"e2e-{uuid.uuid4().hex[:10]}"
    env = clean_env(
        SESLOAD_TARGET=local_stack.info["target"],
        SESLOAD_API_KEY=local_stack.api_key,
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

    deadline = time.monotonic() + 120
    while True:
        rec = local_stack.stats(campaign)["campaign"]
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
