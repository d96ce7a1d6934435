"""kill -9 of `sesload up` three times while it drains a backlog, restarting it each time:
every accepted message ends sent exactly once (or in the DLQ), nothing is lost, nothing is sent
twice. The queue, ledger and lake are on disk; the simulator's in-memory message log restarts
with the stack, so duplicates across restarts are looked for in the event lake (Send events
stamped before the last restart) against the last run's message log."""

import collections
import time

from conftest import request_body, sim_codes

N = 3000


def test_kill9_three_times_loses_nothing_and_sends_nothing_twice(make_stack):
    stack = make_stack({
        "maximum_concurrency": 4,
        "batch_size": 50,
        "maximum_batching_window_in_seconds": 1,
        "visibility_timeout_seconds": 10,
        "claim_lease_seconds": 5,
        "retry_base_delay_seconds": 1,
        "sim": {"max_send_rate": 150, "latency": {"p50_ms": 20, "p99_ms": 40}},
    }, customers=500)
    stack.seed()
    stack.start()
    campaign = f"kill9-{int(time.time())}"
    accepted = stack.enqueue_via_ingest([request_body(campaign, n) for n in range(N)])
    assert accepted == N

    sent_at_kill = []
    last_start_ms = 0
    for _ in range(3):
        time.sleep(3.0)
        sent_at_kill.append(stack.stats(campaign)["campaign"]["sent"])
        stack.kill9()
        stack.start()
        last_start_ms = int(time.time() * 1000)
    assert sent_at_kill[-1] < N, f"the backlog drained before the last kill: {sent_at_kill}"

    c = stack.wait_settled(campaign, N, timeout=180)
    assert c["unaccounted"] == 0 and c["queued"] == 0, c
    assert c["sent"] == N and c["dlq"] == 0, c

    # Duplicates within the last run (the simulator's log) ...
    last_run = collections.Counter(x for x in sim_codes(stack.sim_messages()) if x.startswith(campaign))
    dups = {k: v for k, v in last_run.items() if v > 1}
    assert not dups, f"sent twice in the last run: {dups}"
    # ... and across runs (the lake keeps the Send events of every run).
    stack.sim_flush()
    time.sleep(1.5)
    lake = [(code, ts) for code, ts in stack.lake_sends() if code.startswith(campaign)]
    lake_counts = collections.Counter(code for code, _ in lake)
    lake_dups = {k: v for k, v in lake_counts.items() if v > 1}
    assert not lake_dups, f"Send events twice in the lake: {lake_dups}"
    earlier = {code for code, ts in lake if ts < last_start_ms - 1000}
    across = earlier & set(last_run)
    assert not across, f"sent before the last restart and again after it: {sorted(across)[:10]}"
    m = stack.stats()["metrics"]
    print(
        f"kill9: accepted {N}, killed at sent={sent_at_kill}, after 3 restarts sent {c['sent']}, "
        f"dlq {c['dlq']}, lost 0, duplicates 0 (last-run log {sum(last_run.values())}, "
        f"lake Send events {len(lake)}, earlier runs {len(earlier)}); "
        f"ambiguous retries in the last run {m.get('ambiguous_retries', 0)}"
    )
