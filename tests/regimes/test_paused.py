"""Sending paused mid-run, first for the whole account, then for the configuration set, each for
longer than several park cycles, then resumed (the simulator's `/_sim` control endpoints, as an
operator's or AWS's `PutAccountSendingAttributes` / `PutConfigurationSetSendingOptions` would).
The poller parks what it cannot send (`sending_paused`) without spending receive budget and
sends it after the resume: nothing lost, nothing twice, nothing in the DLQ."""

import time

from tests.regimes.support import bodies, enqueue, reconcile

N = 240
PAUSE_S = 8  # twice the largest park delay of the suite (park_max_delay_seconds 4)


def wait_sent(stack, campaign: str, n: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        c = stack.stats(campaign)["campaign"]
        if c["sent"] >= n:
            return c
        assert time.monotonic() < deadline, f"{n} never sent: {c}"
        time.sleep(0.1)


def pause(stack, path: str, campaign: str) -> int:
    """Pause at `path` for PAUSE_S; returns the largest number of parked copies seen waiting."""
    r = stack.session.post(stack.sim_url(path), json={"enabled": False}, timeout=10)
    assert r.status_code == 200, r.text
    seen = 0
    end = time.monotonic() + PAUSE_S
    while time.monotonic() < end:
        seen = max(seen, stack.stats(campaign)["queue"]["parked_by_reason"].get("sending_paused", 0))
        time.sleep(0.25)
    r = stack.session.post(stack.sim_url(path), json={"enabled": True}, timeout=10)
    assert r.status_code == 200, r.text
    return seen


def test_paused_sending_parks_and_resumes_without_loss_or_duplicates(make_stack):
    stack = make_stack({
        "batch_size": 20,
        "maximum_concurrency": 2,
        "sim": {"max_send_rate": 20, "max_24_hour_send": -1},
    })
    stack.seed()
    campaign = f"paused-{int(time.time())}"
    sent = bodies(campaign, N)
    accepted = enqueue(stack, campaign, sent)
    stack.start()

    wait_sent(stack, campaign, N // 4)
    parked_account = pause(stack, "/_sim/account/sending", campaign)
    after_account = stack.sim_stats()["sending_paused"]
    wait_sent(stack, campaign, N // 2)
    parked_set = pause(stack, "/_sim/configuration-sets/load-test-config/sending", campaign)

    c = reconcile(stack, campaign, accepted, {b["unique_code"] for b in sent}, timeout=90)
    sim = stack.sim_stats()
    m = stack.stats()["metrics"]
    # Each pause was met (SES answered SendingPausedException) and waited out parked.
    assert after_account > 0 and sim["sending_paused"] > after_account, sim
    assert parked_account > 0 and parked_set > 0, (parked_account, parked_set)
    assert m["emails_parked"] > 0 and m["invocation_timeouts"] == 0, m
    print(f"paused: {c['sent']} of {N} sent; parked copies waiting at most {parked_account} (account) "
          f"and {parked_set} (configuration set); parked {m['emails_parked']}; SES SendingPaused "
          f"answers {sim['sending_paused']}")
