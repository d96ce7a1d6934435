"""The saved queries, run by `sesload query` over a lake, against counts computed in Python from
the raw JSON lines (tests/analytics/expected.py)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from tests.analytics import expected as X
from tests.analytics import lakegen

CAMPAIGN = "fixture-1"


@pytest.fixture(scope="module")
def ev(fixture_lake):
    return X.campaign_events(fixture_lake[0] / "lake", CAMPAIGN)


def close(a, b, tol=1e-6):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=tol, abs_tol=1e-6)


def test_campaign_summary(run, ev):
    rows = run.query("01_campaign_summary", CAMPAIGN)
    assert len(rows) == 1
    got, want = rows[0], X.summary(ev)
    assert got["campaign"] == CAMPAIGN
    for k, v in want.items():
        assert close(got[k], v, 1e-6) if isinstance(v, float) else got[k] == v, (k, got[k], v)
    # The fixture really contains what the queries must find.
    assert want["rendering_failures"] > 0 and want["complaints"] > 0 and want["delivery_delays"] > 0


def test_other_campaigns_and_untagged_events_are_excluded(run, fixture_lake):
    other = run.query("01_campaign_summary", "other-campaign")[0]
    assert other["sends"] == len([e for e in X.campaign_events(fixture_lake[0] / "lake", "other-campaign")
                                  if e["eventType"] == "Send"]) == 25
    none = run.query("01_campaign_summary", "no-such-campaign")[0]
    assert none["events"] == 0 and none["campaign"] is None


def test_duplicates(run, ev):
    rows = run.query("02_duplicates", CAMPAIGN)
    got = {(r["check_name"], r["duplicate_key"], r["occurrences"]) for r in rows}
    want = X.duplicates(ev)
    assert got == want
    assert {c for c, _, _ in want} == {"unique_code", "recipient", "message_id"}


def test_throughput_timeline(run, ev):
    rows = run.query("03_throughput", CAMPAIGN)
    want = X.timeline(ev)
    assert {r["epoch_second"]: (r["sends"], r["deliveries"]) for r in rows} == want
    first = min(want)
    assert all(r["offset_second"] == r["epoch_second"] - first for r in rows)
    assert rows[-1]["cumulative_sends"] == sum(s for s, _ in want.values())
    assert rows[-1]["cumulative_deliveries"] == sum(d for _, d in want.values())


def test_latency(run, ev):
    rows = run.query("04_latency", CAMPAIGN)
    want = X.latency(ev)
    assert {r["metric"] for r in rows} == set(want)
    for r in rows:
        for k, v in want[r["metric"]].items():
            assert close(r[k], v), (r["metric"], k, r[k], v)


def test_bounces_and_complaints(run, ev):
    rows = run.query("05_bounces_complaints", CAMPAIGN)
    got = {(r["recipient"], r["event_type"], r["bounce_type"], r["bounce_subtype"],
            r["complaint_feedback_type"]): r["events"] for r in rows}
    assert got == dict(X.bounces_complaints(ev))
    assert any(k[3] == "OnAccountSuppressionList" for k in got)


def test_reconciliation_inputs(run, ev):
    rows = run.query("06_reconciliation", CAMPAIGN)
    assert len(rows) == 1
    got, want = rows[0], X.reconciliation(ev)
    for k, v in want.items():
        assert close(got[k], v) if isinstance(v, float) or v is None else got[k] == v, (k, got[k], v)
    assert got["duplicate_unique_codes"] == 2 and got["duplicate_send_events"] == 1


def test_throughput_segments_never_divide_by_zero(run, ev):
    rows = run.query("07_throughput_segments", CAMPAIGN)
    want = X.segments(ev)
    got = {(r["event_type"], r["segment"]): (r["events"], r["events_per_second"]) for r in rows}
    assert set(got) == set(want)
    for k, (n, rate) in want.items():
        assert got[k][0] == n, k
        assert close(got[k][1], rate, 1e-6), (k, got[k], rate)


def test_zero_span_gives_null_rate_not_an_error(make_run, tmp_path):
    # Every event in the same millisecond: the original query divided by zero here.
    import json
    from datetime import datetime, timezone
    d = tmp_path / "lake" / "ses_events" / "dt=2026-11-27" / "hour=10"
    d.mkdir(parents=True)
    at = datetime(2026, 11, 27, 10, 0, 0, tzinfo=timezone.utc)
    lines = []
    for i in range(3):
        m = lakegen.mail(f"m{i}", at, f"success+{i}@simulator.amazonses.com", {"campaign": "burst", "unique_code": f"u{i}"}, "s")
        lines.append(json.dumps({"eventType": "Send", "mail": m, "send": {}}))
    (d / "a.json").write_text("\n".join(lines) + "\n")
    r = make_run(tmp_path)
    seg = r.query("07_throughput_segments", "burst")
    assert seg and all(s["events_per_second"] is None for s in seg), seg
    rec = r.query("06_reconciliation", "burst")[0]
    assert rec["achieved_send_rate"] is None and rec["send_span_seconds"] == 0


def test_latency_histogram(run, ev):
    rows = run.query("08_latency_histogram", CAMPAIGN)
    assert {r["bucket_index"]: r["deliveries"] for r in rows} == X.histogram(ev)
    for r in rows:
        assert r["lower_ms"] == round(2 ** (r["bucket_index"] / 2))


def test_query_by_short_name_number_and_file(run):
    a = run.query("duplicates", CAMPAIGN)
    b = run.query("2", CAMPAIGN)
    c = run.query(str(Path("sql/queries/02_duplicates.sql")), CAMPAIGN)
    assert a == b == c


def test_table_and_csv_formats(run, ev):
    table = run.query("01_campaign_summary", CAMPAIGN, fmt="table")
    assert "campaign" in table and CAMPAIGN in table and "(1 row)" in table
    csv_text = run.query("04_latency", CAMPAIGN, fmt="csv")
    lines = csv_text.strip().splitlines()
    assert lines[0].split(",")[:3] == ["metric", "samples", "min_ms"]
    assert len(lines) == 3


def test_list(run):
    out = run("query", "--list").stdout
    for n in ("01_campaign_summary", "06_reconciliation", "08_latency_histogram"):
        assert n in out


@pytest.mark.parametrize("campaign", ["x'; DROP TABLE t; --", "a b", "é"])
def test_campaign_injection_is_rejected(run, campaign):
    p = run("query", "01", "--campaign", campaign, "--data-dir", str(run.data_dir), check=False)
    assert p.returncode != 0
    assert "invalid campaign" in p.stderr and "SES tag values" in p.stderr


def test_clear_errors(run, tmp_path):
    p = run("query", "nope", "--campaign", CAMPAIGN, "--data-dir", str(run.data_dir), check=False)
    assert p.returncode != 0 and "unknown query" in p.stderr and "02_duplicates" in p.stderr
    p = run("query", "01", "--data-dir", str(run.data_dir), check=False)
    assert p.returncode != 0 and "--campaign" in p.stderr
    p = run("query", "01", "--campaign", CAMPAIGN, "--data-dir", str(tmp_path / "empty"), check=False)
    assert p.returncode != 0 and "no SES events under" in p.stderr
    env = {"SESLOAD_DUCKDB": str(tmp_path / "missing"), "PATH": "/usr/bin:/bin"}
    p = run("query", "01", "--campaign", CAMPAIGN, "--data-dir", str(run.data_dir), check=False,
            env=env, cwd=tmp_path)
    assert p.returncode != 0 and "DuckDB CLI not found" in p.stderr, p.stderr


def test_sql_dir_override_reads_edited_files(run, tmp_path):
    import shutil
    root = Path(__file__).resolve().parents[2]
    shutil.copytree(root / "sql", tmp_path / "sql")
    q = tmp_path / "sql/queries/01_campaign_summary.sql"
    q.write_text(q.read_text().replace("count(*) AS events", "count(*) + 1000000 AS events"))
    base = run.query("01", CAMPAIGN)[0]["events"]
    edited = run("query", "01", "--campaign", CAMPAIGN, "--format", "json", "--data-dir", str(run.data_dir),
                 env={"SESLOAD_SQL_DIR": str(tmp_path / "sql")})
    import json
    assert json.loads(edited.stdout)[0]["events"] == base + 1000000
