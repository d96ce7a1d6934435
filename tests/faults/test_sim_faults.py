"""Simulator faults: 5 % 5xx, 1 % timeouts, random throttles and bursts of throttling (the poller
is told the quota is twice what the simulator allows, so it keeps running into the real limit).
Nothing is lost and only the permanent failures are in the DLQ.

Duplicates (checked in the simulator's message log by unique_code and in the event lake): 5xx and
throttling answers mean SES did not send, so there must be none. A *timeout* is different: the
simulator, like SES, may have accepted the email although the client gave up (the injected slow
response still succeeds server-side), and no client can know. The poller then retries once the
claim lease expires; a duplicate is acceptable only there, so the timeout case asserts there are
never more extra sends than injected timeouts (and prints the poller's `ambiguous_retries`)."""

import collections
import time

import pytest

from tests.harness import sim_codes

N_VALID = 1200
N_PERMANENT = 20

BASE = {
    "maximum_concurrency": 4,
    "batch_size": 25,
    "maximum_batching_window_in_seconds": 1,
    "visibility_timeout_seconds": 60,
    "max_receive_count": 10,
    "retry_base_delay_seconds": 1,
    "claim_lease_seconds": 15,
    # The poller believes it may send 400/s; the simulator allows 100/s: throttling bursts.
    "ses_max_send_rate_override": 400.0,
}
ERRORS_AND_THROTTLES = {"seed": 7, "error_rate": 0.05, "throttle_rate": 0.02}
WITH_TIMEOUTS = {
    "seed": 11, "error_rate": 0.05, "throttle_rate": 0.02,
    "slow_rate": 0.01, "slow_ms": 11_000,  # beyond the SES client's 10 s attempt timeout
}


@pytest.mark.parametrize("faults", [ERRORS_AND_THROTTLES, WITH_TIMEOUTS], ids=["5xx+throttles", "5xx+throttles+timeouts"])
def test_faults_lose_nothing_and_send_nothing_twice(make_stack, faults):
    stack = make_stack(dict(BASE, sim={
        "max_send_rate": 100,
        "latency": {"p50_ms": 20, "p99_ms": 60},
        "faults": faults,
    }), customers=500)
    campaign, valid, c, drain_s = stack.drain_with_permanent_failures(
        "faults", N_VALID, N_PERMANENT, timeout=240)

    sim = stack.sim_stats()
    m = stack.stats()["metrics"]
    assert sim["fault_errors"] > 0, sim
    assert sim["throttled"] > 0 and sim["fault_throttles"] > 0, sim
    timeouts = sim["fault_slow"]
    if "slow_rate" in faults:
        assert timeouts > 0, sim

    # Duplicates at SES, by unique_code.
    codes = sim_codes(stack.sim_messages())
    counts = collections.Counter(x for x in codes if x.startswith(campaign))
    assert set(counts) == {b["unique_code"] for b in valid}
    dups = {k: v for k, v in counts.items() if v > 1}
    extra_sends = sum(v - 1 for v in dups.values())
    ambiguous = m.get("ambiguous_retries", 0)
    if "slow_rate" in faults:
        assert extra_sends <= timeouts, f"{extra_sends} extra sends but only {timeouts} timeouts: {dups}"
    else:
        assert not dups, f"sent more than once without any timeout: {dups}"

    # ... and in the event lake (Send events): the same picture.
    stack.sim_flush()
    deadline = time.monotonic() + 30
    while True:
        lake = collections.Counter(x for x in stack.lake_send_codes() if x.startswith(campaign))
        if sum(lake.values()) >= sum(counts.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert lake == counts, f"lake Send events differ from the simulator's log: {set(lake.items()) ^ set(counts.items())}"

    print(
        f"faults[{'timeouts' if 'slow_rate' in faults else 'no timeouts'}]: accepted {c['accepted']}, "
        f"sent {c['sent']}, dlq {c['dlq']} {c['dlq_by_reason']}, lost 0; SES sends {sum(counts.values())} "
        f"(duplicated codes {len(dups)}, extra sends {extra_sends}, ambiguous retries {ambiguous}); lake Send "
        f"events {sum(lake.values())}; injected 5xx {sim['fault_errors']}, timeouts {timeouts}, throttles "
        f"{sim['throttled']} quota + {sim['fault_throttles']} random; poller retried "
        f"{m.get('emails_retried', 0)}, throttled {m.get('emails_throttled', 0)}; drained in {drain_s:.1f} s"
    )
