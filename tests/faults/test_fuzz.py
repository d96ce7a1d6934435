"""Ingest fuzzing: schemathesis generates valid and invalid requests from the OpenAPI document the
stack serves; no answer is a 5xx, invalid bodies are refused (negative_data_rejection), every
body that was accepted (200) validates against the one JSON Schema, and the poller finds nothing
schema-invalid in what was queued. Plus hand-written hostile requests."""

import json
import subprocess
import time
from pathlib import Path

import jsonschema

from tests.harness import API_KEY, INGEST_PATH, ROOT, SCHEMA_PATH, request_body

MAX_EXAMPLES = 200

# JSON Schema patterns are ECMA-262 regular expressions. Python's `\s` also matches U+001C..U+001F
# (which ECMA-262 does not), so the patterns are checked with ECMA-262's whitespace class spelled out.
ECMA_WS = "\t\n\x0b\x0c\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def ecma_validator(schema: dict):
    import re

    def pattern(validator, patrn, instance, schema):
        if not validator.is_type(instance, "string"):
            return
        assert "[" in patrn or "\\s" not in patrn, patrn
        rx = patrn.replace("\\s", ECMA_WS)
        if not re.search(rx, instance):
            yield jsonschema.ValidationError(f"{instance!r} does not match {patrn!r} (ECMA-262 \\s)")

    cls = jsonschema.validators.extend(jsonschema.Draft4Validator, {"pattern": pattern})
    return cls(schema)


def test_schemathesis_finds_no_5xx_and_nothing_invalid_is_enqueued(make_stack, tmp_path):
    stack = make_stack({"maximum_concurrency": 2, "batch_size": 10,
                        "sim": {"max_send_rate": 0, "latency": {"p50_ms": 1, "p99_ms": 1}}})
    stack.seed()
    stack.start()
    har = tmp_path / "fuzz.har"
    cmd = [
        str(ROOT / ".venv" / "bin" / "schemathesis"), "run", stack.url("/openapi.json"),
        "--url", stack.url(""),
        "-H", f"x-api-key: {API_KEY}",
        "--checks", "not_a_server_error,negative_data_rejection,status_code_conformance",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", "20261127",
        "--generation-database", "none",
        "--workers", "4",
        "--request-timeout", "10",
        "--report", "har", "--report-har-path", str(har),
        "--no-color",
    ]
    t0 = time.monotonic()
    # cwd: schemathesis keeps state in ./.schemathesis; keep it out of the work tree.
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    took = time.monotonic() - t0
    assert r.returncode == 0, f"schemathesis failed ({r.returncode}):\n{r.stdout[-6000:]}\n{r.stderr[-2000:]}"

    entries = json.loads(har.read_text())["log"]["entries"]
    schema = json.loads(Path(SCHEMA_PATH).read_text())
    validator = ecma_validator(schema)
    statuses: dict[int, int] = {}
    accepted = 0
    for e in entries:
        status = e["response"]["status"]
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, f"5xx for {e['request']}"
        if e["request"]["method"] == "POST" and e["request"]["url"].endswith(INGEST_PATH) and status == 200:
            text = (e["request"].get("postData") or {}).get("text", "")
            body = json.loads(text)
            errors = list(validator.iter_errors(body))
            assert not errors, f"accepted an invalid body {text!r}: {errors[0].message}"
            accepted += 1
    assert len(entries) >= 50, f"only {len(entries)} requests were made"

    # What was queued is consumed by the poller, which re-validates with the same schema: nothing
    # may come out as invalid_json / schema_violation.
    deadline = time.monotonic() + 60
    while True:
        s = stack.stats()
        if s["queue"]["total"] == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert s["queue"]["total"] == 0, s
    by_reason = s["dlq"]["by_reason"]
    invalid = [r for r in stack.dlq_rows() if r["reason"] in ("invalid_json", "schema_violation")]
    assert not invalid, (
        f"ingest accepted {len(invalid)} bodies the poller rejects as invalid ({by_reason}); e.g.\n"
        + "\n".join(f"  {r['reason']}: {r['detail']}\n    body {r['body'][:300]}" for r in invalid[:3])
    )
    assert s["accepted"] == accepted, f"stack accepted {s['accepted']}, HAR shows {accepted} 200s"
    print(f"fuzz: {len(entries)} schemathesis requests in {took:.0f} s, statuses {dict(sorted(statuses.items()))}, "
          f"{accepted} accepted and all schema-valid, 0 5xx; DLQ after processing {by_reason or '{}'}")


def test_hostile_requests_get_4xx_and_enqueue_nothing(make_stack):
    stack = make_stack({"maximum_concurrency": 2, "batch_size": 10, "sim": {"max_send_rate": 0}})
    stack.seed()
    stack.start()
    good = json.dumps(request_body("hostile", 1)).encode()
    h = {"x-api-key": API_KEY, "content-type": "application/json"}
    cases = [
        ("empty body", b"", h),
        ("invalid UTF-8", b'{"from": "\xff\xfe"}', h),
        ("deep nesting", b"[" * 100_000 + b"]" * 100_000, h),
        ("huge body", b'{"from": "' + b"a" * (2 * 1024 * 1024) + b'"}', h),
        ("NUL bytes", good.replace(b"sender", b"sen\x00der"), h),
        ("wrong content type", good, {"x-api-key": API_KEY, "content-type": "text/plain"}),
        ("form encoded", b"from=a&to=b", {"x-api-key": API_KEY, "content-type": "application/x-www-form-urlencoded"}),
        ("JSON null", b"null", h),
        ("JSON number", b"1e999999", h),
        ("duplicate keys", b'{"from": "a@b.c", "from": 1}', h),
        ("negative user_id", good.replace(b'"user_id": "2"', b'"user_id": -5'), h),
    ]
    statuses = {}
    for name, data, headers in cases:
        r = stack.session.post(stack.url(INGEST_PATH), data=data, headers=headers, timeout=30)
        statuses[name] = r.status_code
        assert 400 <= r.status_code < 500, f"{name}: {r.status_code} {r.text[:200]}"
    for method in ["GET", "PUT", "DELETE", "PATCH"]:
        r = stack.session.request(method, stack.url(INGEST_PATH), data=good, headers=h, timeout=10)
        statuses[method] = r.status_code
        assert 400 <= r.status_code < 500, f"{method}: {r.status_code}"
    r = stack.session.post(stack.url("/send_messages/other"), data=good, headers=h, timeout=10)
    assert 400 <= r.status_code < 500
    s = stack.stats()
    assert s["accepted"] == 0 and s["queue"]["total"] == 0, s
    print(f"hostile: {len(statuses) + 1} requests, statuses {statuses}, 0 accepted, 0 enqueued")
