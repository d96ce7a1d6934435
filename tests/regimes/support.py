"""Helpers of the regimes suite and its one reconciliation.

Every case drives the real `sesload up` (the real poller code behind the event-source emulator,
the SES simulator in one of the regimes AWS puts a sender in) and ends with `reconcile`: each
accepted request is accounted for from the ledger (the campaign's reconciliation), the DLQ
(reasons, never `retries_exhausted`) and the simulator's message log (no unique_code sent twice).
"""

from __future__ import annotations

import collections
import json

from tests.harness import LocalStack, request_body, sim_codes


def enqueue(stack: LocalStack, campaign: str, bodies: list[dict]) -> int:
    """Queue `bodies` before the stack starts (the backlog meets the regime at full speed)."""
    return len(stack.enqueue_raw([json.dumps(b) for b in bodies], campaign))


def bodies(campaign: str, n: int, start: int = 0, **over) -> list[dict]:
    return [request_body(campaign, start + i, **over) for i in range(n)]


def reconcile(stack: LocalStack, campaign: str, accepted: int, sent_codes: set[str],
              dlq: dict[str, set[str]] | None = None, timeout: float = 120) -> dict:
    """Wait until `campaign` settled, then check it from three sources:

    - the ledger (the campaign's reconciliation): 0 unaccounted, 0 queued (the queue empty,
      parked copies included), `sent` = the codes expected sent;
    - the DLQ: exactly the codes of `dlq` ({reason: codes}), none `retries_exhausted`;
    - the simulator's message log: every code of `sent_codes` accepted by SES exactly once, and
      no other code of the campaign.

    Returns the campaign's counters."""
    dlq = dlq or {}
    stack.wait_settled(campaign, accepted, timeout=timeout)
    # A code counts as sent once one of its messages is; its other copies (a producer's
    # repeat, parked behind the live claim) must have left the queue too.
    stack.wait_queue_empty(accepted, timeout=timeout)
    c = stack.stats(campaign)["campaign"]
    assert c["unaccounted"] == 0 and c["queued"] == 0, c
    assert "retries_exhausted" not in c["dlq_by_reason"], c
    assert c["sent"] == len(sent_codes), c
    assert c["dlq"] == sum(len(v) for v in dlq.values()), c

    rows = [r for r in stack.dlq_rows() if json.loads(r["body"]).get("unique_code", "").startswith(campaign)]
    by_reason = collections.defaultdict(set)
    for r in rows:
        by_reason[r["reason"]].add(json.loads(r["body"])["unique_code"])
    assert dict(by_reason) == dlq, f"DLQ by reason {dict(by_reason)}, expected {dlq}"
    assert len(rows) == sum(len(v) for v in dlq.values()), f"a code dead-lettered twice: {rows}"

    ses = collections.Counter(x for x in sim_codes(stack.sim_messages()) if x.startswith(campaign))
    twice = {k: v for k, v in ses.items() if v > 1}
    assert not twice, f"sent more than once at SES: {twice}"
    assert set(ses) == sent_codes, (
        f"SES accepted {len(ses)} codes, expected {len(sent_codes)}: "
        f"missing {sorted(sent_codes - set(ses))[:10]}, extra {sorted(set(ses) - sent_codes)[:10]}"
    )
    return c
