"""Simulator faults: 5 % 5xx, 1 % timeouts, random throttles and bursts of throttling (the poller
is told the quota is twice what the simulator allows, so it keeps running into the real limit).
Nothing is lost, only the permanent failures are in the DLQ, nothing is sent twice (checked in
the simulator's message log by unique_code and in the event lake)."""

import collections
import time

from conftest import request_body, sim_codes

N_VALID = 1200
N_PERMANENT = 20


def test_faults_lose_nothing_and_send_nothing_twice(make_stack):
    stack = make_stack({
        "maximum_concurrency": 4,
        "batch_size": 25,
        "maximum_batching_window_in_seconds": 1,
        "visibility_timeout_seconds": 60,
        "max_receive_count": 10,
        "retry_base_delay_seconds": 1,
        "claim_lease_seconds": 15,
        # The poller believes it may send 600/s; the simulator allows 300/s: throttling bursts.
        "ses_max_send_rate_override": 600.0,
        "sim": {
            "max_send_rate": 300,
            "latency": {"p50_ms": 20, "p99_ms": 60},
            "faults": {
                "seed": 7,
                "error_rate": 0.05,
                "slow_rate": 0.01,
                "slow_ms": 11_000,  # beyond the SES client's 10 s attempt timeout
                "throttle_rate": 0.02,
            },
        },
    }, customers=500)
    stack.seed()
    stack.start()
    campaign = f"faults-{int(time.time())}"
    valid = [request_body(campaign, n) for n in range(N_VALID)]
    permanent = [request_body(campaign, 10_000 + n, user_id=f"nobody{n}") for n in range(N_PERMANENT)]
    t0 = time.monotonic()
    accepted = stack.enqueue_via_ingest(valid + permanent)
    assert accepted == N_VALID + N_PERMANENT
    c = stack.wait_settled(campaign, accepted, timeout=240)
    drain_s = time.monotonic() - t0

    # Nothing lost.
    assert c["unaccounted"] == 0 and c["queued"] == 0, c
    assert c["sent"] == N_VALID, c
    # Only the permanent failures in the DLQ.
    assert c["dlq"] == N_PERMANENT, c
    assert c["dlq_by_reason"] == {"unknown_customer": N_PERMANENT}, c

    # No duplicates at SES, by unique_code.
    codes = sim_codes(stack.sim_messages())
    counts = collections.Counter(x for x in codes if x.startswith(campaign))
    dups = {k: v for k, v in counts.items() if v > 1}
    assert not dups, f"sent more than once: {dups}"
    assert set(counts) == {b["unique_code"] for b in valid}

    # ... and in the event lake (Send events).
    stack.sim_flush()
    deadline = time.monotonic() + 30
    while True:
        lake = collections.Counter(x for x in stack.lake_send_codes() if x.startswith(campaign))
        if len(lake) >= N_VALID or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    lake_dups = {k: v for k, v in lake.items() if v > 1}
    assert not lake_dups, f"Send events more than once: {lake_dups}"
    assert len(lake) == N_VALID, f"{len(lake)} Send events in the lake for {N_VALID} sends"

    sim = stack.sim_stats()
    m = stack.stats()["metrics"]
    assert sim["fault_errors"] > 0 and sim["fault_slow"] > 0, sim
    assert sim["throttled"] + sim["fault_throttles"] > 0, sim
    print(
        f"faults: accepted {accepted}, sent {c['sent']}, dlq {c['dlq']} {c['dlq_by_reason']}, lost 0, "
        f"duplicates 0 (sim log {len(codes)} codes, lake {sum(lake.values())} Send events); "
        f"injected 5xx {sim['fault_errors']}, slow {sim['fault_slow']}, throttles "
        f"{sim['throttled']} quota + {sim['fault_throttles']} random; poller retried "
        f"{m.get('emails_retried', 0)}, throttled {m.get('emails_throttled', 0)}, "
        f"ambiguous {m.get('ambiguous_retries', 0)}; drained in {drain_s:.1f} s"
    )
