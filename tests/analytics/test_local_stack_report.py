"""`sesload report` against the real local stack: `sesload up`, requests through the ingest API
(including repeated unique_codes and unknown customers), then the report with the stack's counters
read from `GET /_local/stats` (stack running) and from `<data-dir>/sesload.db` through
`sesload_local::stats::reconcile` (stack stopped)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

import expected as X
import pytest
from conftest import Run

CAMPAIGN = "stack-1"
N = 120
REPEATED = (5, 40)


def _post(url: str, body: dict, key: str) -> int:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"x-api-key": key, "Content-Type": "application/json"})
    try:
        return urllib.request.urlopen(req, timeout=10).status
    except urllib.error.HTTPError as e:
        return e.code


def _get(url: str) -> dict:
    return json.loads(urllib.request.urlopen(url, timeout=10).read())


@pytest.fixture(scope="module")
def stack(sesload_bin, duckdb_bin, tmp_path_factory):
    p = subprocess.run([str(sesload_bin), "up", "--help"], capture_output=True, text=True, timeout=30)
    if p.returncode != 0 or "--ready-file" not in p.stdout:
        pytest.skip("this sesload build has no `sesload up` yet")
    d = tmp_path_factory.mktemp("stack")
    data = d / "data"
    ready = d / "ready.json"
    subprocess.run([str(sesload_bin), "seed", "--count", "50", "--data-dir", str(data), "--quiet"],
                   check=True, timeout=60, capture_output=True)
    proc = subprocess.Popen(
        [str(sesload_bin), "up", "--config", "none", "--data-dir", str(data), "--port", "0", "--sim-port", "0",
         "--api-key", "analytics-key", "--ready-file", str(ready), "--set", "sim.max_send_rate=100"],
        stdout=subprocess.DEVNULL, stderr=open(d / "up.log", "w"), start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"sesload up did not start: {(d / 'up.log').read_text()[-2000:]}")
            time.sleep(0.1)
        time.sleep(0.1)
        info = json.loads(ready.read_text())
        kinds = ["success"] * 7 + ["bounce", "complaint", "ooto", "suppressionlist"]
        codes = []
        for i in [*range(N), *REPEATED]:
            body = {"from": "sender@example.com", "to": f"{kinds[i % len(kinds)]}+{i}@simulator.amazonses.com",
                    "template_name": "SimpleEmail", "user_id": str(1 + i % 50) if i % 30 != 7 else "99999",
                    "config_set": "load-test-config", "tags": [{"Name": "campaign", "Value": CAMPAIGN}],
                    "unique_code": f"stack-{i:05d}"}
            codes.append(_post(info["ingest_url"], body, info["api_key"]))
        assert codes == [200] * (N + len(REPEATED))
        stats_url = f"{info['url']}/_local/stats?campaign={CAMPAIGN}"
        deadline = time.monotonic() + 90
        while True:
            c = _get(stats_url)["campaign"]
            if c["queued"] == 0 and c["sent"] + c["dlq"] + c["duplicate_codes"] == c["accepted"]:
                break
            assert time.monotonic() < deadline, f"the stack did not drain: {c}"
            time.sleep(0.5)
        # Deliveries follow sends by up to 1.5 s: write every pending event now.
        req = urllib.request.Request(info["sim_url"] + "/_sim/flush?all=true", method="POST", data=b"")
        urllib.request.urlopen(req, timeout=30).read()
        yield Run(sesload_bin, duckdb_bin, data), info, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_report_from_stats_url_then_from_the_database(stack, tmp_path):
    run, info, proc = stack
    stats = _get(f"{info['url']}/_local/stats?campaign={CAMPAIGN}")["campaign"]
    p = run("report", "--campaign", CAMPAIGN, "--data-dir", str(run.data_dir), "--stats-url", info["url"],
            "--out", str(tmp_path / "a.html"), "--json", check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    live = json.loads(p.stdout)
    assert live["accepted"] == stats["accepted"] == N + len(REPEATED)
    assert live["sent"] == stats["sent"]  # events in the lake == the ledger
    assert live["duplicates_skipped"] == len(REPEATED) and live["duplicates"] == 0 and live["lost"] == 0
    assert live["dlq_by_reason"] == {"unknown_customer": sum(1 for i in range(N) if i % 30 == 7)}
    assert live["max_send_rate"] == 100.0 and live["ses_send_p99_ms"] is not None
    ev = X.campaign_events(run.data_dir / "lake", CAMPAIGN)
    want = X.reconciliation(ev)
    assert (live["delivered"], live["bounced"], live["complained"]) == (
        want["delivered"], want["bounced"], want["complained"])

    # Stop the stack; the same counters now come from <data-dir>/sesload.db.
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)
    p = run("report", "--campaign", CAMPAIGN, "--data-dir", str(run.data_dir), "--out", str(tmp_path / "b.html"),
            "--json", check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    db = json.loads(p.stdout)
    for k in ("accepted", "sent", "dlq", "dlq_by_reason", "queued", "duplicates_skipped", "lost", "delivered"):
        assert db[k] == live[k], k
