"""`sesload campaign` against the real `sesload up` (with its SES simulator): a status that adds
up at every instant while the campaign is sent, an ETA that holds, the state changes an operator
makes (pause, resume, cancel, with who and why, conditional on the version), and a redrive that
sends each dead letter once after its cause is fixed."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

from tests.harness import clean_env, request_body, sesload_bin

# A fixed quota the stack can fill on a busy machine; small batches so that a batch in flight
# (sent, not yet deleted) is common while the status is read.
CONFIG = {"batch_size": 10, "maximum_concurrency": 2, "maximum_batching_window_in_seconds": 0,
          "sim": {"max_send_rate": 40, "latency": {"p50_ms": 20, "p99_ms": 60}}}


def campaign(stack, *args: str) -> subprocess.CompletedProcess:
    """`sesload campaign --ready-file <the stack's> --by cli:tester ARGS`."""
    return subprocess.run([str(sesload_bin()), "campaign", "--ready-file", str(stack.ready_path),
                           "--by", "cli:tester", *args], capture_output=True, text=True, timeout=120,
                          env=clean_env(RUST_BACKTRACE="0"))


def campaign_json(stack, *args: str):
    p = campaign(stack, *args, "--json")
    assert p.returncode == 0, f"sesload campaign {' '.join(args)}: {p.returncode}\n{p.stderr}"
    return json.loads(p.stdout)


def accept(stack, name: str, n: int, start: int = 0, **over):
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda i: stack.post(request_body(name, i, 200, **over)).status_code,
                              range(start, start + n)))
    assert set(codes) == {200}, Counter(codes)


def status(stack, name: str) -> dict:
    r = stack.session.get(stack.url(f"/_local/campaigns/{name}"), timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def adds_up(r: dict) -> bool:
    return r["accepted"] == (r["sent"] + r["dlq"] + r["cancelled"] + r["queued"]
                             + r["duplicate_codes"] + r["unaccounted"])


def wait_until(stack, name: str, until, what: str, timeout: float = 90, every: float = 0.3) -> dict:
    """Poll the campaign's status until `until(reconciliation)` holds; returns the status."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = status(stack, name)
        if until(st["reconciliation"]):
            return st
        time.sleep(every)
    raise AssertionError(f"{name} not {what} in {timeout} s: {st['reconciliation']}")


def wait_drained(stack, name: str, timeout: float = 90) -> dict:
    return wait_until(stack, name, lambda r: r["queued"] == 0, "drained", timeout)


def test_the_status_adds_up_at_every_instant_and_steering_records_who_and_why(make_stack):
    stack = make_stack(CONFIG, customers=200)
    stack.seed()
    stack.start()
    accept(stack, "steer-a", 300)
    accept(stack, "steer-b", 5)

    # While it is sent: every reading is one snapshot in which each request counts once.
    mid_run = []
    deadline = time.time() + 90
    while time.time() < deadline:
        st = status(stack, "steer-a")
        r = st["reconciliation"]
        assert adds_up(r) and r["unaccounted"] == 0 and r["accepted"] == 300, r
        if 0 < r["sent"] < 300 and st["rate"]:
            mid_run.append(st)
        if r["queued"] == 0:
            break
        time.sleep(0.2)
    assert len(mid_run) >= 3, "the campaign was seen sending"
    st = mid_run[len(mid_run) // 2]
    r = st["reconciliation"]
    assert st["quota"]["max_send_rate"] == 40
    assert 0 < st["quota_share"] <= 1.5, st
    assert st["eta"]["kind"] == "drains", st["eta"]
    assert abs(st["eta"]["seconds"] - r["queued"] / st["rate"]) < 1e-6 * max(1, r["queued"])

    # --watch follows it to the end (already drained here: it prints the final status at once).
    p = campaign(stack, "status", "steer-a", "--watch", "--timeout", "60")
    assert p.returncode == 0, p.stderr
    assert "accepted 300 = sent 300 + dlq 0 + cancelled 0 + queued 0" in p.stdout, p.stdout
    assert "ETA: done" in p.stdout
    # Outcomes come from the simulator's events in the lake (mailbox-simulator success addresses).
    deadline = time.time() + 30
    while status(stack, "steer-a")["outcomes"]["delivered"] < 300 and time.time() < deadline:
        time.sleep(0.5)
    assert status(stack, "steer-a")["outcomes"]["delivered"] == 300

    # Pause, with who and why.
    p = campaign(stack, "pause", "steer-a", "--reason", "wrong list")
    assert p.returncode == 0 and "is now PAUSED" in p.stdout and "wrong list" in p.stdout, p
    c = campaign_json(stack, "status", "steer-a")["control"]
    assert (c["state"], c["reason"], c["updated_by"], c["version"]) == ("paused", "wrong list", "cli:tester", 1)
    assert campaign_json(stack, "pause", "steer-a")["changed"] is False
    listed = {e["control"]["campaign"]: e for e in campaign_json(stack, "list")}
    assert listed["steer-a"]["control"]["state"] == "paused" and listed["steer-a"]["accepted"] == 300
    assert listed["steer-b"]["control"]["state"] == "running" and listed["steer-b"]["accepted"] == 5

    # A change made on a version someone else has moved on from is refused, and says so.
    r = stack.session.post(stack.url("/_local/campaigns/steer-a/resume"), json={"if_version": 0},
                           headers={"x-api-key": stack.api_key}, timeout=10)
    assert r.status_code == 409 and "changed meanwhile" in r.json()["message"], r.text
    assert r.json()["current"]["version"] == 1
    r = stack.session.post(stack.url("/_local/campaigns/steer-a/resume"), timeout=10)
    assert r.status_code == 403, "writes need the API key"
    p = campaign(stack, "--api-key", "wrong", "resume", "steer-a")
    assert p.returncode == 1 and "403" in p.stderr, p

    resumed = campaign_json(stack, "resume", "steer-a")
    assert resumed["changed"] and resumed["control"]["state"] == "running" and resumed["control"]["version"] == 2

    # Cancel is final.
    p = campaign(stack, "cancel", "steer-b")
    assert p.returncode == 0 and "CANCELLED" in p.stdout, p
    p = campaign(stack, "resume", "steer-b")
    assert p.returncode == 1 and "cannot be resumed" in p.stderr, p
    p = campaign(stack, "redrive", "steer-b")
    assert p.returncode == 1 and "cancelled" in p.stderr, p
    p = campaign(stack, "pause", "no such name")
    assert p.returncode != 0 and "invalid campaign name" in p.stderr, p
    p = campaign(stack, "status", "never-seen")
    assert p.returncode == 1 and "404" in p.stderr, p


def test_a_campaigns_dead_letters_are_redriven_once_after_the_cause_is_fixed(make_stack):
    stack = make_stack(CONFIG, customers=200)
    stack.seed()
    stack.start()
    accept(stack, "redrive-a", 10)
    accept(stack, "redrive-a", 20, start=10, template_name="LaterTemplate")
    accept(stack, "redrive-b", 5, template_name="LaterTemplate")
    a = wait_drained(stack, "redrive-a")["reconciliation"]
    wait_drained(stack, "redrive-b")
    assert (a["sent"], a["dlq"], a["dlq_by_reason"]) == (10, 20, {"ses_not_found": 20}), a

    dry = campaign_json(stack, "redrive", "redrive-a", "--dry-run")
    assert dry["would_redrive"] == 20

    # Fix the cause: create the missing template in the simulator, through the SES v2 API.
    ses = boto3.client("sesv2", endpoint_url=stack.sim_url(), region_name="us-east-1",
                       aws_access_key_id="AKIDTEST", aws_secret_access_key="x",
                       config=Config(retries={"max_attempts": 1}))
    ses.create_email_template(TemplateName="LaterTemplate", TemplateContent={
        "Subject": "Hello {{first_name}}", "Text": "code {{unique_code}}"})

    p = campaign(stack, "redrive", "redrive-a", "--reason", "ses_not_found")
    assert p.returncode == 0 and "redrove 20 dead letters of redrive-a" in p.stdout, p
    a = wait_drained(stack, "redrive-a")["reconciliation"]
    assert (a["accepted"], a["sent"], a["dlq"], a["unaccounted"]) == (30, 30, 0, 0), a
    again = campaign_json(stack, "redrive", "redrive-a")
    assert again["redriven"] == 0, "each dead letter once"

    time.sleep(1)
    sent = Counter(m["tags"].get("unique_code") for m in stack.sim_messages()
                   if m["tags"].get("campaign") == "redrive-a")
    assert len(sent) == 30 and set(sent.values()) == {1}, f"each code sent once: {sent.most_common(3)}"
    b = status(stack, "redrive-b")["reconciliation"]
    assert (b["dlq"], b["sent"]) == (5, 0), "another campaign's dead letters stay"


def test_the_eta_at_a_quarter_of_a_campaign_is_within_15_percent_of_the_time_it_took(make_stack):
    # 2,000 requests at a fixed quota of 100/s: about 20 s of sending.
    stack = make_stack({"batch_size": 10, "maximum_concurrency": 4, "maximum_batching_window_in_seconds": 0,
                        "sim": {"max_send_rate": 100, "latency": {"p50_ms": 20, "p99_ms": 60}}}, customers=200)
    stack.seed()
    stack.start()
    accept(stack, "eta-2000", 2000)
    predicted = None
    deadline = time.time() + 120
    while time.time() < deadline:
        st = status(stack, "eta-2000")
        r = st["reconciliation"]
        if predicted is None and r["sent"] >= 500:
            assert st["eta"]["kind"] == "drains", st["eta"]
            predicted, at = st["eta"]["seconds"], time.time()
        if r["queued"] == 0:
            break
        time.sleep(0.1)
    assert predicted is not None and r["queued"] == 0, r
    actual = time.time() - at
    assert abs(predicted - actual) <= 0.15 * actual, f"ETA {predicted:.1f} s at 25 %, took {actual:.1f} s"
