"""The dt range: every saved query reads only the partitions between --from and --to (bound to
`dt BETWEEN ? AND ?`), the report takes its default from the campaign's span in the counters, and
bad ranges are refused with the bad value named."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from tests.analytics import expected as X
from tests.analytics import lakegen

CAMPAIGN = "span-1"
DAY1, DAY2 = "2026-11-26", "2026-11-27"


@pytest.fixture(scope="module")
def midnight(make_run, tmp_path_factory):
    """A campaign that runs across midnight: events under dt=DAY1 and dt=DAY2."""
    d = tmp_path_factory.mktemp("midnight")
    start = datetime(2026, 11, 26, 23, 59, 45, tzinfo=timezone.utc)
    counters = lakegen.generate(d / "lake", campaign=CAMPAIGN, n=300, start=start, duplicates=False)
    r = make_run(d)
    days = sorted(p.name for p in (d / "lake/ses_events").iterdir())
    assert days == [f"dt={DAY1}", f"dt={DAY2}"], days
    return r, counters


def query(r, name: str, *flags: str, check: bool = True):
    p = r("query", name, "--campaign", CAMPAIGN, "--format", "json", "--data-dir", str(r.data_dir), *flags,
          check=check)
    return json.loads(p.stdout) if check else p


@pytest.mark.parametrize("dt_from,dt_to", [(DAY1, DAY1), (DAY2, DAY2), (DAY1, DAY2)])
def test_queries_read_only_the_partitions_in_range(midnight, dt_from, dt_to):
    r, _ = midnight
    ev = X.campaign_events(r.data_dir / "lake", CAMPAIGN, dt_from, dt_to)
    assert ev, "each day of the fixture holds events of the campaign"
    summary = query(r, "01", "--from", dt_from, "--to", dt_to)[0]
    want = X.summary(ev)
    assert (summary["events"], summary["sends"], summary["deliveries"]) == (
        want["events"], want["sends"], want["deliveries"])
    rec = query(r, "06", "--from", dt_from, "--to", dt_to)[0]
    want = X.reconciliation(ev)
    for k in ("messages", "sent_requests", "delivered", "bounced", "pending"):
        assert rec[k] == want[k], (k, rec[k], want[k])
    tl = query(r, "03", "--from", dt_from, "--to", dt_to)
    assert {row["epoch_second"]: (row["sends"], row["deliveries"]) for row in tl} == X.timeline(ev)


def test_without_flags_the_local_lake_is_read_whole(midnight):
    r, _ = midnight
    all_events = X.campaign_events(r.data_dir / "lake", CAMPAIGN)
    assert query(r, "01")[0]["events"] == len(all_events)
    # A range outside the lake finds nothing (the query still runs: one empty-campaign row).
    assert query(r, "01", "--from", "2026-11-20", "--to", "2026-11-25")[0]["events"] == 0


def test_an_rfc3339_time_is_taken_as_its_utc_day(midnight):
    r, _ = midnight
    # 2026-11-27T00:30:00+01:00 is 2026-11-26T23:30:00Z: the first day only.
    got = query(r, "01", "--from", "2026-11-27T00:30:00+01:00", "--to", "2026-11-27T00:30:00+01:00")[0]
    assert got["events"] == len(X.campaign_events(r.data_dir / "lake", CAMPAIGN, DAY1, DAY1))


@pytest.mark.parametrize("flags,message", [
    (("--from", "27/11/2026"), 'invalid day "27/11/2026"'),
    (("--from", DAY2, "--to", DAY1), f"{DAY2} is after {DAY1}"),
])
def test_bad_ranges_are_refused(midnight, flags, message):
    r, _ = midnight
    p = query(r, "01", *flags, check=False)
    assert p.returncode != 0 and message in p.stderr, p.stderr


def test_report_defaults_to_the_campaign_span_from_the_counters(midnight, tmp_path):
    r, counters = midnight
    # The local stack's counters carry when the campaign accepted and sent requests; a campaign
    # that only ran on DAY1 reads DAY1 and the day after (late events), not the whole lake.
    day1 = int(datetime(2026, 11, 26, 23, 0, tzinfo=timezone.utc).timestamp() * 1000)
    c = dict(counters, first_accepted_ms=day1, last_accepted_ms=day1 + 60_000, last_sent_ms=day1 + 90_000)
    f = tmp_path / "counters.json"
    f.write_text(json.dumps(c))
    out = tmp_path / "r.html"
    p = r("report", "--campaign", CAMPAIGN, "--data-dir", str(r.data_dir), "--counters", str(f),
          "--out", str(out), "--json", check=False)
    rec = json.loads(p.stdout)
    assert (rec["dt_from"], rec["dt_to"]) == (DAY1, DAY2)
    # Explicit flags win over the span.
    p = r("report", "--campaign", CAMPAIGN, "--data-dir", str(r.data_dir), "--counters", str(f),
          "--out", str(out), "--from", DAY2, "--to", DAY2, check=False)
    assert f"events read: dt {DAY2}..{DAY2}" in p.stdout, p.stdout
    want = X.reconciliation(X.campaign_events(r.data_dir / "lake", CAMPAIGN, DAY2, DAY2))
    assert f"sent {want['sent_requests']} " in p.stdout, p.stdout
    # The events reach the last day read: the report says a later --to may find more.
    assert f"note: events reach the last day read ({DAY2})" in p.stdout
    assert f"<code>dt</code> {DAY2}..{DAY2}" in out.read_text()
