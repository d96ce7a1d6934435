"""`sesload report` against the real local stack: `sesload up`, requests through the ingest API
(including repeated unique_codes and unknown customers), then the report with the stack's counters
read from `GET /_local/stats` (stack running) and from `<data-dir>/sesload.db` through
`sesload_local::stats::reconcile` (stack stopped)."""

from __future__ import annotations

import json

import pytest

from tests.analytics import expected as X
from tests.harness import LocalStack, request_body

CAMPAIGN = "stack-1"
N = 120
REPEATED = (5, 40)


@pytest.fixture(scope="module")
def stack(make_run, tmp_path_factory):
    s = LocalStack(tmp_path_factory.mktemp("stack") / "data", {"sim": {"max_send_rate": 100}},
                   customers=50, api_key="analytics-key")
    try:
        s.seed()
        s.start()
        kinds = ["success"] * 7 + ["bounce", "complaint", "ooto", "suppressionlist"]
        codes = []
        for i in [*range(N), *REPEATED]:
            body = request_body(CAMPAIGN, i, to=f"{kinds[i % len(kinds)]}+{i}@simulator.amazonses.com",
                                user_id=str(1 + i % 50) if i % 30 != 7 else "99999")
            codes.append(s.post(body).status_code)
        assert codes == [200] * (N + len(REPEATED))
        s.wait_settled(CAMPAIGN, N + len(REPEATED), timeout=90)
        # Deliveries follow sends by up to 1.5 s: write every pending event now.
        s.sim_flush()
        yield make_run(s.data_dir), s
    finally:
        s.stop()


def test_report_from_stats_url_then_from_the_database(stack, tmp_path):
    run, s = stack
    stats = s.stats(CAMPAIGN)["campaign"]
    p = run("report", "--campaign", CAMPAIGN, "--data-dir", str(run.data_dir), "--stats-url", s.url(),
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
    s.stop(timeout=30)
    p = run("report", "--campaign", CAMPAIGN, "--data-dir", str(run.data_dir), "--out", str(tmp_path / "b.html"),
            "--json", check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    db = json.loads(p.stdout)
    for k in ("accepted", "sent", "dlq", "dlq_by_reason", "queued", "duplicates_skipped", "lost", "delivered"):
        assert db[k] == live[k], k
