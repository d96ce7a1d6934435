"""A permission policy (`[sim.permissions]`, as the poller's IAM role scopes `ses:SendEmail`) that
allows only the configured template: requests naming another template are answered 403
`AccessDeniedException`, dead-lettered once with `access_denied` and the denied resource in the
detail, never retried; every other request is sent."""

import json
import time

from tests.harness import request_body
from tests.regimes.support import enqueue, reconcile

N = 60
DENIED_TEMPLATE = "Promo"


def test_a_denied_template_is_dead_lettered_with_access_denied_and_the_rest_is_sent(make_stack):
    stack = make_stack({
        "batch_size": 20,
        "maximum_concurrency": 2,
        "sim": {
            "max_send_rate": 0,
            "max_24_hour_send": -1,
            "permissions": {"templates": ["SimpleEmail"]},
        },
    })
    stack.seed()
    campaign = f"denied-{int(time.time())}"
    # Every fourth request names the template the policy does not allow.
    reqs = [request_body(campaign, n, **({"template_name": DENIED_TEMPLATE} if n % 4 == 0 else {}))
            for n in range(N)]
    denied = {b["unique_code"] for b in reqs if b["template_name"] == DENIED_TEMPLATE}
    accepted = enqueue(stack, campaign, reqs)
    stack.start()

    allowed = {b["unique_code"] for b in reqs} - denied
    reconcile(stack, campaign, accepted, allowed, dlq={"access_denied": denied})
    for row in stack.dlq_rows():
        assert json.loads(row["body"])["template_name"] == DENIED_TEMPLATE, row
        assert f"template/{DENIED_TEMPLATE}" in row["detail"], row["detail"]
    sim = stack.sim_stats()
    m = stack.stats()["metrics"]
    # Each denied request reached SES once: permanent, never retried.
    assert sim["access_denied"] == len(denied), sim
    assert m["access_denied"] == len(denied), m
    assert m.get("emails_retried", 0) == 0, m
    print(f"denied: {len(allowed)} sent, {len(denied)} in the DLQ (access_denied), e.g. "
          f"{stack.dlq_rows()[0]['detail'][:160]}")
