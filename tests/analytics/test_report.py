"""`sesload report`: reconciliation, exit code, and the HTML checked in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.analytics import expected as X
from tests.analytics import lakegen
from tests.harness import chromium

@pytest.fixture(scope="module")
def clean(make_run, tmp_path_factory):
    """A campaign without duplicates, with counters that balance."""
    d = tmp_path_factory.mktemp("clean")
    counters = lakegen.generate(d / "lake", campaign="clean-1", duplicates=False)
    (d / "counters.json").write_text(json.dumps(counters))
    return make_run(d), counters


def report(r, campaign: str, *extra: str, check=False):
    out = r.data_dir / f"{campaign}.html"
    p = r("report", "--campaign", campaign, "--data-dir", str(r.data_dir), "--out", str(out), *extra, check=check)
    return p, out


def test_balanced_campaign_passes_with_exit_0(clean):
    r, counters = clean
    p, out = report(r, "clean-1", "--counters", str(r.data_dir / "counters.json"), "--quota", "14")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "PASS" in p.stdout and str(out) in p.stdout
    assert f"accepted {counters['accepted']}" in p.stdout
    assert "lost 0" in p.stdout


def test_reconciliation_json_matches_raw_events(clean):
    r, counters = clean
    p, _ = report(r, "clean-1", "--counters", str(r.data_dir / "counters.json"), "--json")
    rec = json.loads(p.stdout)
    want = X.reconciliation(X.campaign_events(r.data_dir / "lake", "clean-1"))
    assert rec["sent"] == want["sent_requests"] == counters["sent"]
    for k in ("delivered", "bounced", "complained", "rendering_failed", "pending"):
        assert rec[k] == want[k], k
    assert rec["dlq_by_reason"] == counters["dlq_by_reason"]
    assert rec["lost"] == 0 and rec["duplicates"] == 0 and rec["problems"] == []
    assert rec["ses_send_p99_ms"] == 95.0 and rec["max_send_rate"] == 14.0


def test_lost_request_fails_with_exit_1(clean, tmp_path):
    r, counters = clean
    c = dict(counters, accepted=counters["accepted"] + 3)
    f = tmp_path / "c.json"
    f.write_text(json.dumps(c))
    p, _ = report(r, "clean-1", "--counters", str(f))
    assert p.returncode == 1
    assert "FAIL: 3 accepted request(s)" in p.stdout and "lost 3" in p.stdout


def test_duplicates_fail_with_exit_1(run, fixture_lake):
    d, _ = fixture_lake
    p, out = report(run, "fixture-1", "--counters", str(d / "counters.json"))
    assert p.returncode == 1
    assert "FAIL: 2 unique_code(s) were sent more than once (2 extra email(s))" in p.stdout
    assert "FAIL" in out.read_text()


def test_without_counters_says_so(clean):
    r, _ = clean
    p, _ = report(r, "clean-1")
    assert p.returncode == 0
    assert "no local-stack counters" in p.stdout


def test_report_renders_in_chromium_with_charts_that_have_data(clean, tmp_path):
    r, counters = clean
    p, out = report(r, "clean-1", "--counters", str(r.data_dir / "counters.json"), "--quota", "14")
    assert p.returncode == 0
    html = out.read_text()
    # Self-contained: no script, no stylesheet or image fetched from anywhere.
    assert "<script" not in html and "<link" not in html and not re.search(r'(src|href)="', html)
    dom = chromium("--dump-dom", out.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    doc = dom.stdout
    assert 'id="verdict" class="verdict pass"' in doc
    charts = dict(re.findall(r'data-chart="([a-z]+)" data-points="(\d+)"', doc))
    assert set(charts) == {"timeline", "latency", "outcomes"}, charts
    assert all(int(n) > 0 for n in charts.values()), charts
    ev = X.campaign_events(r.data_dir / "lake", "clean-1")
    tl = X.timeline(ev)
    seconds = max(tl) - min(tl) + 1
    # Two series (sends, deliveries), one point per second of the run, gaps filled with 0.
    assert int(charts["timeline"]) == 2 * seconds
    assert re.search(r'<polyline class="series" data-series="sends" data-points="\d+"[^>]*points="[0-9.]+,', doc)
    assert 'class="reference"' in doc  # the quota line
    assert int(charts["latency"]) == len(X.histogram(ev))
    # Outcome bars carry the numbers of the reconciliation.
    want = X.reconciliation(ev)
    assert f'<rect class="bar" data-value="{want["delivered"]}"' in doc
    shot = tmp_path / "report.png"
    s = chromium(f"--screenshot={shot}", "--window-size=1200,2200", "--hide-scrollbars", out.as_uri())
    assert s.returncode == 0 and shot.exists() and shot.stat().st_size > 20_000, s.stderr[-2000:]
    keep = Path(__file__).resolve().parents[2] / "target" / "analytics-report.png"
    keep.parent.mkdir(exist_ok=True)
    shutil.copy(shot, keep)
