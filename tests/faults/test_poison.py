"""Poison records of every kind, put straight into the queue (bypassing ingest validation, as a
producer writing to SQS directly could): each lands in the DLQ exactly once with its reason, after
exactly one invocation, and none is retried (no batch item failure, no second SendEmail).
Valid records in the same batches are still sent."""

import json
import time

from tests.harness import request_body, sim_codes

CAMPAIGN = "poison"


def poison_records():
    """(label, body, expected DLQ reasons, reaches SES?)"""
    ok = lambda n, **kw: json.dumps(request_body(CAMPAIGN, n, **kw))  # noqa: E731
    base = request_body(CAMPAIGN, 0)
    missing = {k: v for k, v in base.items() if k != "unique_code"}
    return [
        ("truncated JSON", '{"from": "sender@example.com", "to": ', {"invalid_json"}, False),
        ("not JSON", "this is not json", {"invalid_json"}, False),
        ("JSON array", "[1, 2, 3]", {"schema_violation"}, False),
        ("missing unique_code", json.dumps(missing), {"schema_violation"}, False),
        ("user_id is an object", ok(101, user_id={"id": 1}), {"schema_violation"}, False),
        ("tags is a string", ok(102, tags="campaign=poison"), {"schema_violation"}, False),
        ("unknown field", ok(103, bcc="x@simulator.amazonses.com"), {"schema_violation"}, False),
        ("recipient not allowed", ok(104, to="someone@gmail.com"), {"recipient_not_allowed"}, False),
        ("unknown customer", ok(105, user_id="99999999"), {"unknown_customer"}, False),
        ("tag value with a space", ok(106, tags=[{"Name": "campaign", "Value": "has space"}]), {"invalid_tag"}, False),
        ("tag name with @", ok(107, tags=[{"Name": "camp@ign", "Value": "x"}]), {"invalid_tag"}, False),
        ("unknown template", ok(108, template_name="NoSuchTemplate"), {"ses_not_found"}, True),
        ("unknown configuration set", ok(109, config_set="no-such-config-set"), {"ses_not_found"}, True),
        ("unverified sender", ok(110, **{"from": "someone@unverified-domain.org"}),
         {"ses_rejected", "sender_not_verified"}, True),
    ]


def test_every_poison_record_is_dead_lettered_once_with_its_reason(make_stack):
    stack = make_stack({
        "maximum_concurrency": 2,
        "batch_size": 10,
        "max_receive_count": 5,
        "retry_base_delay_seconds": 1,
        "sim": {"max_send_rate": 0, "latency": {"p50_ms": 5, "p99_ms": 5}},
    })
    stack.seed()
    poison = poison_records()
    valid = [json.dumps(request_body(CAMPAIGN, 1000 + n)) for n in range(30)]
    # Interleave so poison shares batches with valid records.
    bodies, labels = [], []
    vi = iter(valid)
    for label, body, _, _ in poison:
        bodies.append(body)
        labels.append(label)
        for _ in range(2):
            bodies.append(next(vi))
            labels.append("valid")
    rest = list(vi)
    bodies += rest
    labels += ["valid"] * len(rest)
    ids = stack.enqueue_raw(bodies, CAMPAIGN)
    by_id = dict(zip(ids, zip(labels, bodies)))

    stack.start()
    # Poison bodies carry no usable campaign tag, so wait on the whole queue, not the campaign.
    stack.wait_queue_empty(len(bodies), timeout=60)
    time.sleep(1.0)  # anything wrongly retried would show up as a second DLQ row or send

    rows = [r for r in stack.dlq_rows() if r["source_message_id"] in by_id]
    seen = {}
    for r in rows:
        seen.setdefault(r["source_message_id"], []).append(r)
    checked = 0
    for mid, (label, body) in by_id.items():
        if label == "valid":
            assert mid not in seen, f"valid record dead-lettered: {seen.get(mid)}"
            continue
        expected = next(p[2] for p in poison if p[0] == label)
        got = seen.get(mid, [])
        assert len(got) == 1, f"{label}: {len(got)} DLQ rows: {got}"
        row = got[0]
        assert row["reason"] in expected, f"{label}: reason {row['reason']} (detail {row['detail']}), expected {expected}"
        assert row["detail"], f"{label}: empty detail"
        assert row["body"] == body, f"{label}: body changed in the DLQ"
        # (the local DLQ records 0 when the dead letter is written by the handler, not redrive)
        assert row["receive_count"] <= 1, f"{label}: received {row['receive_count']} times (retried)"
        checked += 1
    assert checked == len(poison)

    # Nothing retried: no batch item failures, no whole-batch retries.
    metrics = stack.stats()["metrics"]
    assert metrics.get("emails_retried", 0) == 0, metrics
    # SES saw each valid record once, and each SES-level poison once (no retry of a 4xx).
    sim = stack.sim_stats()
    ses_poison = sum(1 for p in poison if p[3])
    assert sim["requests"].get("SendEmail", 0) == len(valid) + ses_poison, sim
    codes = sim_codes(stack.sim_messages())
    valid_codes = {json.loads(b)["unique_code"] for b in valid}
    assert sorted(x for x in codes if x in valid_codes) == sorted(valid_codes)
    s = stack.stats()
    assert s["ledger"]["sent"] == len(valid), s
    assert s["dlq"]["total"] == len(poison), s
    reasons = sorted({r["reason"] for r in rows})
    print(f"poison: {len(poison)} poison records -> {len(rows)} DLQ rows, reasons {reasons}; "
          f"{len(valid)} valid sent once each; SendEmail calls {sim['requests'].get('SendEmail', 0)}; "
          f"emails_retried {metrics.get('emails_retried', 0)}")
