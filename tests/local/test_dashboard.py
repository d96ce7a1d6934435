"""The live dashboard in headless Chromium: after load, every chart has data points and the
queuing chart shows non-zero series; a screenshot is written for a human to look at.
Also checks the Prometheus endpoint names (sesload_ prefix, common metric names)."""

import os
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

from tests.harness import chromium, http, request_body, require_tool

WINDOW = "--window-size=1400,1100"


def test_dashboard_charts_have_data_in_headless_chromium(make_stack, tmp_path):
    require_tool("chromium")  # before the stack: a missing browser fails at once
    stack = make_stack({"batch_size": 10, "maximum_concurrency": 2, "maximum_batching_window_in_seconds": 0,
                        "sim": {"max_send_rate": 40, "latency": {"p50_ms": 20, "p99_ms": 60}}})
    stack.start()
    stack.seed(100)
    campaign = f"dash-{int(time.time())}"
    # ~6 s of load above the 40/s quota, so queueing, sending and deliveries all show.
    with ThreadPoolExecutor(4) as pool:
        for second in range(6):
            t = time.time()
            list(pool.map(lambda n: stack.post(request_body(campaign, n, 100)), range(second * 80, second * 80 + 80)))
            time.sleep(max(0.0, 1.0 - (time.time() - t)))
    time.sleep(2)

    url = stack.url("/dashboard")
    dom = chromium(WINDOW, "--virtual-time-budget=4000", "--dump-dom", url, timeout=60).stdout
    charts = dict(re.findall(r'<svg id="c-[a-z]+" data-chart="([a-z]+)"[^>]*data-points="(\d+)"', dom))
    assert set(charts) == {"queuing", "depth", "latency", "poller", "dlq"}, charts
    assert all(int(n) >= 3 for n in charts.values()), charts
    series = {k: float(v) for k, v in re.findall(r'data-series="([a-z_0-9]+)"[^>]*data-max="([0-9.e+-]+)"', dom)}
    for key in ["emails_received", "records_processed", "emails_sent", "queue_visible", "ses_send_ms_avg",
                "batch_duration_ms_avg", "concurrency", "invocations"]:
        assert series.get(key, 0) > 0, f"{key} has no data: {series}"
    assert re.search(r'id="k-accepted">[1-9]', dom), "header KPIs filled"

    shot = tmp_path / "dashboard.png"
    r = chromium(WINDOW, "--virtual-time-budget=4000", f"--screenshot={shot}", url, timeout=60)
    assert shot.exists() and shot.stat().st_size > 10_000, r.stderr[-2000:]
    keep = os.environ.get("SESLOAD_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
    print(f"dashboard: charts {charts}; screenshot {keep or shot}")

    status, text = http("GET", stack.url("/metrics"))
    assert status == 200
    for name in ["emails_received", "emails_sent", "emails_throttled", "emails_retried", "emails_dead_lettered",
                 "duplicates_skipped", "ambiguous_retries"]:
        assert re.search(rf"^sesload_{name}_total \d+$", text, re.M), name
    assert re.search(r"^sesload_emails_sent_total [1-9]", text, re.M)
    assert re.search(r'^sesload_queue_messages\{state="visible"\} \d+', text, re.M)
