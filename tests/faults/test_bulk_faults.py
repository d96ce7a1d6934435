"""SendBulkEmail under faults: `send_api = "bulk"`, two poller instances, 5 % of calls answered
5xx, 1 % of calls slow (2 s, still answered), 3 % of entries refused TRANSIENT_FAILURE. Every entry
is retried on its own (a 5xx call retries all of its entries, a refused entry only itself), and
none of these answers can mean "sent", so nothing may be lost and nothing sent twice: the
simulator's message log and the event lake hold each unique_code exactly once."""

import collections
import time

from tests.harness import sim_codes

N_VALID = 800
N_PERMANENT = 10

CONFIG = {
    "send_api": "bulk",
    "maximum_concurrency": 2,
    # small batches: many calls (at most 10 entries each), so that 5 % of them fail for sure
    "batch_size": 10,
    "maximum_batching_window_in_seconds": 1,
    "visibility_timeout_seconds": 30,
    "max_receive_count": 10,
    "retry_base_delay_seconds": 1,
    "claim_lease_seconds": 15,
    "sim": {
        "max_send_rate": 300,
        "latency": {"p50_ms": 20, "p99_ms": 60},
        "faults": {
            "seed": 7,
            "error_rate": 0.05,
            "slow_rate": 0.01,
            "slow_ms": 2_000,
            "entry_transient_failure_rate": 0.03,
        },
    },
}


def test_bulk_sending_under_faults_loses_nothing_and_sends_nothing_twice(make_stack):
    stack = make_stack(CONFIG, customers=500)
    campaign, valid, c, drain_s = stack.drain_with_permanent_failures(
        "bulk-faults", N_VALID, N_PERMANENT, timeout=120)

    sim = stack.sim_stats()
    m = stack.stats()["metrics"]
    # It was bulk sending, and the faults happened.
    assert sim["requests"].get("SendBulkEmail", 0) > 0, sim
    assert sim["requests"].get("SendEmail", 0) == 0, sim
    assert sim["fault_errors"] > 0 and sim["fault_slow"] > 0, sim
    assert sim["bulk_entry_statuses"].get("TRANSIENT_FAILURE", 0) > 0, sim
    assert m.get("emails_retried", 0) > 0, m

    # Nothing twice at SES, by unique_code, and the same picture in the event lake.
    codes = sim_codes(stack.sim_messages())
    counts = collections.Counter(x for x in codes if x.startswith(campaign))
    assert set(counts) == {b["unique_code"] for b in valid}
    dups = {k: v for k, v in counts.items() if v > 1}
    assert not dups, f"sent more than once: {dups}"
    assert m.get("ambiguous_retries", 0) == 0, m
    stack.sim_flush()
    deadline = time.monotonic() + 30
    while True:
        lake = collections.Counter(x for x in stack.lake_send_codes() if x.startswith(campaign))
        if sum(lake.values()) >= N_VALID or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert lake == counts, f"lake Send events differ from the simulator's log: {set(lake.items()) ^ set(counts.items())}"

    print(
        f"bulk faults: accepted {c['accepted']}, sent {c['sent']}, dlq {c['dlq']}, lost 0, twice 0; "
        f"SendBulkEmail calls {sim['requests']['SendBulkEmail']}, injected 5xx {sim['fault_errors']}, "
        f"slow {sim['fault_slow']}, transient entries {sim['bulk_entry_statuses'].get('TRANSIENT_FAILURE', 0)}; "
        f"poller retried {m.get('emails_retried', 0)}; drained in {drain_s:.1f} s"
    )
