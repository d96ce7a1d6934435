"""The saved queries over a lake written by the real simulator (`sesload sim`), fed by an
independent client (boto3 `sesv2`): a deterministic mix of mailbox-simulator addresses, rendering
failures (a template variable missing from TemplateData) and a request sent twice under one
unique_code. Every number is compared with the same number computed from the raw JSON lines."""

from __future__ import annotations

import json
import math

import pytest

from tests.analytics import expected as X
from tests.harness import Simulator

CAMPAIGN = "sim-1"
KINDS = ["success"] * 6 + ["bounce", "ooto", "complaint", "suppressionlist", "render"]
N = 66
DUPLICATED = (3, 10)


@pytest.fixture(scope="module")
def sim_lake(make_run, tmp_path_factory):
    d = tmp_path_factory.mktemp("sim-data")
    sim = Simulator(d, "--no-quota", "--latency-ms", "0", "--delivery-delay-ms-min", "20",
                    "--delivery-delay-ms-max", "400", "--roll-ms", "200", "--seed", "7", "--verified-identity", "*")
    try:
        ses = sim.sesv2("AKIDEXAMPLE")
        ses.create_email_template(TemplateName="AnalyticsTest", TemplateContent={
            "Subject": "Hello {{first_name}}", "Text": "Hi {{first_name}}, code {{unique_code}}",
            "Html": "<p>Hi {{first_name}}, code {{unique_code}}</p>"})

        def send(i: int, campaign: str, code: str) -> str:
            kind = KINDS[i % len(KINDS)]
            label = "success" if kind == "render" else kind
            data = {"unique_code": code}
            if kind != "render":
                data["first_name"] = f"Customer{i % 13}"
            r = ses.send_email(
                FromEmailAddress="sender@example.com",
                Destination={"ToAddresses": [f"{label}+{i}@simulator.amazonses.com"]},
                Content={"Template": {"TemplateName": "AnalyticsTest", "TemplateData": json.dumps(data)}},
                EmailTags=[{"Name": "campaign", "Value": campaign}, {"Name": "unique_code", "Value": code}],
                ConfigurationSetName="load-test-config")
            return r["MessageId"]

        ids = [send(i, CAMPAIGN, f"sim-{i:04d}") for i in range(N)]
        ids += [send(i, CAMPAIGN, f"sim-{i:04d}") for i in DUPLICATED]  # the same request, sent twice
        ids += [send(i, "sim-other", f"other-{i}") for i in range(5)]
        assert len(set(ids)) == len(ids)
        sim.flush()
        yield make_run(d)
    finally:
        sim.stop(timeout=10)


@pytest.fixture(scope="module")
def ev(sim_lake):
    events = X.campaign_events(sim_lake.data_dir / "lake", CAMPAIGN)
    assert events, "the simulator wrote no events for the campaign"
    return events


def test_lake_has_what_was_sent(ev):
    types = {}
    for e in ev:
        types[e["eventType"]] = types.get(e["eventType"], 0) + 1
    sent = [KINDS[i % len(KINDS)] for i in [*range(N), *DUPLICATED]]
    renders = sent.count("render")
    # Every send is either published as Send or as Rendering Failure.
    assert types.get("Send", 0) + types.get("Rendering Failure", 0) == N + len(DUPLICATED)
    assert types.get("Rendering Failure", 0) == renders
    assert types.get("Complaint", 0) == sent.count("complaint")
    assert types.get("Bounce", 0) == sent.count("bounce") + sent.count("suppressionlist")


def test_summary(sim_lake, ev):
    got, want = sim_lake.query("01_campaign_summary", CAMPAIGN)[0], X.summary(ev)
    for k, v in want.items():
        assert math.isclose(got[k], v, rel_tol=1e-6) if isinstance(v, float) else got[k] == v, (k, got[k], v)


def test_duplicates_by_unique_code(sim_lake, ev):
    rows = sim_lake.query("02_duplicates", CAMPAIGN)
    got = {(r["check_name"], r["duplicate_key"], r["occurrences"]) for r in rows}
    assert got == X.duplicates(ev)
    assert {k for c, k, _ in got if c == "unique_code"} == {f"sim-{i:04d}" for i in DUPLICATED}


def test_timeline_latency_bounces_segments_histogram(sim_lake, ev):
    tl = sim_lake.query("03_throughput", CAMPAIGN)
    assert {r["epoch_second"]: (r["sends"], r["deliveries"]) for r in tl} == X.timeline(ev)
    lat = {r["metric"]: r for r in sim_lake.query("04_latency", CAMPAIGN)}
    for metric, want in X.latency(ev).items():
        for k, v in want.items():
            assert math.isclose(lat[metric][k], v, rel_tol=1e-9), (metric, k)
    # The simulator's processingTimeMillis is the gap between the two timestamps.
    assert lat["processing_time_ms"]["p50_ms"] == lat["send_to_delivery_ms"]["p50_ms"]
    b = sim_lake.query("05_bounces_complaints", CAMPAIGN)
    assert {(r["recipient"], r["event_type"], r["bounce_type"], r["bounce_subtype"], r["complaint_feedback_type"]):
            r["events"] for r in b} == dict(X.bounces_complaints(ev))
    seg = sim_lake.query("07_throughput_segments", CAMPAIGN)
    want = X.segments(ev)
    assert {(r["event_type"], r["segment"]): r["events"] for r in seg} == {k: v[0] for k, v in want.items()}
    h = sim_lake.query("08_latency_histogram", CAMPAIGN)
    assert {r["bucket_index"]: r["deliveries"] for r in h} == X.histogram(ev)


def test_reconciliation_and_report(sim_lake, ev, tmp_path):
    rec = sim_lake.query("06_reconciliation", CAMPAIGN)[0]
    want = X.reconciliation(ev)
    for k, v in want.items():
        if isinstance(v, float):
            # The lake keeps millisecond timestamps as doubles: a 0.161 s span reads 0.16099977.
            assert math.isclose(rec[k], v, rel_tol=1e-5, abs_tol=1e-6), (k, rec[k], v)
        else:
            assert rec[k] == v, (k, rec[k], v)
    assert rec["sent_requests"] == N and rec["duplicate_unique_codes"] == len(DUPLICATED)
    counters = tmp_path / "counters.json"
    counters.write_text(json.dumps({"campaign": CAMPAIGN, "accepted": N, "dlq_by_reason": {}, "queued": 0}))
    out = tmp_path / "r.html"
    p = sim_lake("report", "--campaign", CAMPAIGN, "--data-dir", str(sim_lake.data_dir), "--counters", str(counters),
                 "--out", str(out), check=False)
    assert p.returncode == 1, p.stdout + p.stderr  # the two duplicates
    assert "lost 0" in p.stdout and "duplicates 2" in p.stdout
