"""Two poller instances and an SES that is sometimes slower than the claim lease.

Every request is queued twice (a producer that retried: two messages, one unique_code), the two
copies in batches that the two instances take at the same time, so they meet in the ledger.
One in ten SendEmail calls takes 2 s, longer than the 1 s claim lease (and shorter than the
SES client's 10 s attempt timeout, so the answer is certain: SES accepted). The copy that finds
the claim held is parked for the lease left; when it comes back the slow send may still be in
flight. An attempt keeps its claim alive while its send is in flight, so the copy is parked again
(never sent: a second send is certain here, not ambiguous) and is skipped as a duplicate once the
first attempt recorded the send."""

import time

from tests.harness import request_body
from tests.regimes.support import enqueue, reconcile

# 1,000 messages rather than 2,000: a batch lasts as long as its slowest send, so the run time
# is set by the number of batches; 500 codes in batches of 50 meet ~50 slow sends, each a chance
# for the race (before claims were renewed, about one slow send in two ended sent twice).
CODES = 500
BATCH = 50


def test_a_send_slower_than_its_lease_is_not_sent_again_by_the_other_instance(make_stack):
    stack = make_stack({
        "maximum_concurrency": 2,
        "batch_size": BATCH,
        "maximum_batching_window_in_seconds": 0,
        "claim_lease_seconds": 1,
        "sim": {
            "max_send_rate": 0,  # unpaced: the race, not the quota
            "max_24_hour_send": -1,
            "faults": {"seed": 23, "slow_rate": 0.1, "slow_ms": 2000},
        },
    })
    stack.seed()
    campaign = f"lease-{int(time.time())}"
    originals = [request_body(campaign, n) for n in range(CODES)]
    # Batch k of the originals, then batch k again: the two instances take them together.
    queued = []
    for k in range(0, CODES, BATCH):
        chunk = originals[k:k + BATCH]
        queued += chunk + chunk
    accepted = enqueue(stack, campaign, queued)
    stack.start()

    c = reconcile(stack, campaign, accepted, {b["unique_code"] for b in originals}, timeout=120)
    assert c["duplicate_codes"] == CODES, c

    sim = stack.sim_stats()
    m = stack.stats()["metrics"]
    assert sim["fault_slow"] > 0, sim
    # The copies met their original's live claim (parked `claim_in_flight`) and were skipped
    # once it was recorded.
    assert m["emails_parked"] > 0, m
    assert m["duplicates_skipped"] == CODES, m
    # No send repeated another (reconcile found no code twice at SES), and none was counted as
    # possibly repeated: every claim was held by a live attempt.
    assert m["ambiguous_retries"] == 0, m
    assert m["invocation_timeouts"] == 0, m
    print(f"lease race: {accepted} messages, {CODES} codes sent once each; slow SES calls "
          f"{sim['fault_slow']}, parked {m['emails_parked']}, duplicates skipped "
          f"{m['duplicates_skipped']}, ambiguous retries {m['ambiguous_retries']}")
