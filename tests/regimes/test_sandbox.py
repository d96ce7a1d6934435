"""A sandbox account (1 email/s) with the Terraform defaults: batch 20, function timeout 30 s,
maximum concurrency 2. The two instances share one send schedule at 0.98/s, so a batch of 20
needs about 40 s of the fleet's slots, longer than an invocation may run: each invocation starts
no send after its deadline minus 3 s and parks the rest (`deadline`), which the next invocation
sends. Nothing times out, nothing is lost or sent twice.

And a function timeout shorter than any batch needs (5 s at 1/s): every invocation returns
before its timeout, parking what it could not send, until everything is sent."""

import time

from tests.regimes.support import bodies, enqueue, reconcile

SANDBOX = {
    "batch_size": 20,
    "maximum_concurrency": 2,
    "function_timeout_seconds": 30,
    "sim": {"max_send_rate": 1, "max_24_hour_send": -1},
}


def drain_paced(make_stack, config: dict, n: int, name: str) -> tuple[dict, dict, dict]:
    stack = make_stack(config)
    stack.seed()
    campaign = f"{name}-{int(time.time())}"
    sent = bodies(campaign, n)
    accepted = enqueue(stack, campaign, sent)
    stack.start()
    c = reconcile(stack, campaign, accepted, {b["unique_code"] for b in sent}, timeout=60 + 3 * n)
    return c, stack.stats()["metrics"], stack.sim_stats()


def test_sandbox_rate_with_the_terraform_defaults_sends_everything_without_a_timeout(make_stack):
    # 60 messages rather than 200: three batches of 20 already take both instances through a
    # batch that cannot finish before the timeout (two at once need ~40 s each), its parked
    # tail and a later batch mixing parked and fresh records; more messages repeat the cycle
    # at 1 s each.
    c, m, sim = drain_paced(make_stack, SANDBOX, 60, "sandbox")
    assert m["invocation_timeouts"] == 0, m
    assert m["deadline_returns"] > 0, m
    print(f"sandbox: {c['sent']} sent at {c['achieved_send_rate']:.2f}/s, deadline returns "
          f"{m['deadline_returns']}, parked {m['emails_parked']}, SES throttled {sim['throttled']}, "
          f"invocation timeouts {m['invocation_timeouts']}")


def test_a_function_timeout_shorter_than_a_batch_needs_returns_before_it(make_stack):
    c, m, sim = drain_paced(make_stack, dict(SANDBOX, function_timeout_seconds=5), 20, "short-timeout")
    assert m["invocation_timeouts"] == 0, m
    assert m["deadline_returns"] > 0, m
    print(f"timeout 5 s at 1/s: {c['sent']} sent, deadline returns {m['deadline_returns']}, "
          f"invocation timeouts {m['invocation_timeouts']}")
