"""The bounce guardrail against the real `sesload up` (with its SES simulator): of two campaigns
sent at once, the one whose recipients are 20 % `bounce@simulator.amazonses.com` is paused
automatically (state `auto_paused`, by `guardrail:bounce`, the rate and the threshold in the
reason) before 10 % of it has been sent — counted from the ledger at the moment the pause was
written — and the reason shows in `sesload campaign status`, `/_local/stats` and the dashboard;
the clean campaign beside it keeps running."""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.browser import Browser
from tests.harness import clean_env, request_body, sesload_bin

# Two campaigns share a 40/s account: ~20/s each. Default guardrails (5 %, 100 sends, 60 min).
CONFIG = {"batch_size": 10, "maximum_concurrency": 2, "maximum_batching_window_in_seconds": 0,
          "sim": {"max_send_rate": 40, "latency": {"p50_ms": 20, "p99_ms": 60}}}
SIZE = 3_000
BOUNCY, CLEAN = "guard-bouncy", "guard-clean"


def body(campaign: str, n: int) -> dict:
    over = {}
    if campaign == BOUNCY and n % 5 == 4:
        over["to"] = f"bounce+{n}@simulator.amazonses.com"
    return request_body(campaign, n, 200, **over)


def control(stack, name: str) -> dict:
    r = stack.session.get(stack.url(f"/_local/campaigns/{name}"), timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["control"]


def sent_by(stack, campaign: str, at_ms: int | None = None) -> int:
    """Ledger sends of `campaign` (its unique_codes are `<campaign>-NNNNNN`), up to `at_ms`."""
    with stack.db() as c:
        if at_ms is None:
            q, args = "SELECT count(*) FROM ledger WHERE unique_code LIKE ? AND sent_at IS NOT NULL", (f"{campaign}-%",)
        else:
            q, args = "SELECT count(*) FROM ledger WHERE unique_code LIKE ? AND sent_at <= ?", (f"{campaign}-%", at_ms)
        return c.execute(q, args).fetchone()[0]


def test_a_campaign_bouncing_a_fifth_is_auto_paused_before_a_tenth_is_sent(make_stack):
    stack = make_stack(CONFIG, customers=200)
    stack.seed()
    stack.start()
    interleaved = [(c, n) for n in range(SIZE) for c in (BOUNCY, CLEAN)]
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda cn: stack.post(body(*cn)).status_code, interleaved))
    assert set(codes) == {200}, Counter(codes)

    deadline = time.time() + 120
    bouncy = control(stack, BOUNCY)
    while bouncy["state"] != "auto_paused" and time.time() < deadline:
        time.sleep(0.25)
        bouncy = control(stack, BOUNCY)
    assert bouncy["state"] == "auto_paused", f"never auto-paused: {bouncy}\n{stack.log_tail()}"

    # Paused before a tenth of it was sent: the ledger's sends up to the moment of the pause.
    since = bouncy["since_ms"]
    at_pause = sent_by(stack, BOUNCY, since)
    print(f"auto-paused after {at_pause} of {SIZE} sent: {bouncy['reason']}")
    assert 100 <= at_pause < SIZE // 10, f"{at_pause} sent when paused"
    assert bouncy["updated_by"] == "guardrail:bounce"
    m = re.fullmatch(r"bounce rate ([\d.]+) % \((\d+) of (\d+) sends in the last 60 min\) is over the 5 % threshold",
                     bouncy["reason"])
    assert m, bouncy["reason"]
    rate, bounces, sends = float(m[1]), int(m[2]), int(m[3])
    assert 5 < rate <= 20 and 100 <= sends <= at_pause and bounces <= sends // 5 + 1, bouncy["reason"]

    # The reason is where an operator looks: status, stats, the dashboard.
    p = subprocess.run([str(sesload_bin()), "campaign", "--ready-file", str(stack.ready_path), "status", BOUNCY],
                       capture_output=True, text=True, timeout=60, env=clean_env(RUST_BACKTRACE="0"))
    assert p.returncode == 0, p.stderr
    first = p.stdout.splitlines()[0]
    assert "AUTO-PAUSED" in first and "guardrail:bounce" in first and bouncy["reason"] in first, p.stdout
    assert stack.stats()["metrics"]["guardrail_pauses"] == 1
    with Browser() as b:
        b.goto(stack.url("/dashboard"))
        shown = b.wait_for(f"""(() => {{
            const r = [...document.querySelectorAll('#campaigns tbody tr')].find(r => r.dataset.campaign === {BOUNCY!r});
            return r && r.dataset.state === 'auto_paused' ? r.querySelector('td.state').textContent : null; }})()""",
                           timeout=15)
    assert "auto-paused" in shown and f"guardrail:bounce: {bouncy['reason']}" in shown, shown

    # The clean campaign beside it keeps running well past the minimum, through several checks.
    while sent_by(stack, CLEAN) < 600 and time.time() < deadline:
        time.sleep(0.5)
    assert sent_by(stack, CLEAN) >= 600
    time.sleep(5)  # two more guardrail passes
    clean = control(stack, CLEAN)
    assert (clean["state"], clean["version"]) == ("running", 0), clean
    assert stack.stats()["metrics"]["guardrail_pauses"] == 1
