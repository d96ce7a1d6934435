"""The poller under cargo-lambda's Runtime API emulator (`cargo lambda watch` + `cargo lambda invoke`).

Everything the function talks to is a real protocol server started here:
- DynamoDB (customers, ledger) and SQS (source queue, DLQ): `moto_server` from the venv;
- SES v2: `sesload sim` with MaxSendRate 1/s, so of three valid records sent within a few
  milliseconds exactly one is accepted and two are throttled (429).

The SQS event is built from messages really sent to and received from the moto queue, so its
receipt handles are valid for `ChangeMessageVisibility`. Seven records:
- `ok-1`, `ok-2`, `ok-3`: valid (customers 1..3);
- `unknown`: user_id 999 is not in the customers table -> DLQ `unknown_customer`;
- `garbage`: not JSON -> DLQ `invalid_json`;
- `paused-1`: of campaign `watch-paused`, paused in the control table -> parked `campaign_paused`;
- `cancelled-1`: of campaign `watch-cancelled`, cancelled in the control table -> recorded as
  cancelled (a marker item and the campaign's counter) and acknowledged without sending.

Asserted: `batchItemFailures` is empty (permanent failures are never retried, and throttled
records wait without spending a receive: they are parked); the two throttled valid records are
back on the source queue as delayed copies with `sesload_park_reason` = `throttled` and
`sesload_park_count` = 1, and so is the paused campaign's record (`campaign_paused`); the
cancelled campaign's record has its marker and counter in the control table; the simulator holds
exactly one email, rendered with the customer's first name and tagged with its unique_code; the
DLQ holds exactly the two poison records, each with its `sesload_reason`; the ledger records the
sent unique_code with the simulator's message id.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from tests.harness import ROOT, free_port, require_tool, terminate

VENV_BIN = ROOT / ".venv" / "bin"
REGION = "us-east-1"
CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": REGION}
SENDER = "sender@example.com"


def wait_listening(port: int, proc: subprocess.Popen, what: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}: {log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{what} did not listen on {port} within {timeout} s: {log.read_text()[-3000:]}")


@pytest.fixture
def procs(tmp_path):
    started: list[subprocess.Popen] = []
    yield started, tmp_path
    for p in reversed(started):
        terminate(p, timeout=15)


def start(started, argv, log: Path, env=None, cwd=None) -> subprocess.Popen:
    p = subprocess.Popen(argv, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env, cwd=cwd,
                         start_new_session=True)
    started.append(p)
    return p


def record(msg: dict, queue_arn: str) -> dict:
    return {
        "messageId": msg["MessageId"],
        "receiptHandle": msg["ReceiptHandle"],
        "body": msg["Body"],
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000)),
                       "SenderId": "AIDTEST", "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000))},
        "messageAttributes": {},
        "md5OfBody": msg["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def test_poller_under_cargo_lambda_watch_sends_dead_letters_and_parks_throttled_records(procs, make_sim):
    started, tmp = procs
    cargo_lambda = VENV_BIN / "cargo-lambda"
    if not cargo_lambda.exists():
        pytest.fail(f"{cargo_lambda} missing: run `just setup`")
    require_tool("cargo")

    # DynamoDB + SQS.
    moto_port = free_port()
    moto = start(started, [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
                 tmp / "moto.log")
    wait_listening(moto_port, moto, "moto_server", tmp / "moto.log", 60)
    moto_url = f"http://127.0.0.1:{moto_port}"
    ddb = boto3.client("dynamodb", endpoint_url=moto_url, **CREDS)
    for table, key in (("customers", "user_id"), ("ledger", "unique_code"), ("control", "pk")):
        ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": key, "KeyType": "HASH"}])
    # Campaign states as `sesload campaign --aws` writes them (items campaign#<name>).
    for name, state in (("watch-paused", "paused"), ("watch-cancelled", "cancelled")):
        ddb.put_item(TableName="control", Item={
            "pk": {"S": f"campaign#{name}"}, "campaign": {"S": name}, "state": {"S": state},
            "reason": {"S": "test"}, "since": {"N": "1"}, "updated_by": {"S": "cli:test"},
            "version": {"N": "1"}, "changed_at": {"N": "1"}})
    for uid, name in (("1", "Ada"), ("2", "Grace"), ("3", "Edsger")):
        ddb.put_item(TableName="customers", Item={"user_id": {"S": uid}, "first_name": {"S": name}})
    sqs = boto3.client("sqs", endpoint_url=moto_url, **CREDS)
    queue_url = sqs.create_queue(QueueName="sesload-queue")["QueueUrl"]
    dlq_url = sqs.create_queue(QueueName="sesload-dlq")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    # SES: the simulator at 1 email/s, one template, the configuration set.
    sim = make_sim("--no-lake", "--max-send-rate", "1", "--configuration-set", "load-test-config",
                   "--verified-identity", SENDER)
    sim_url = sim.endpoint
    ses = boto3.client("sesv2", endpoint_url=sim_url, **CREDS)
    ses.create_email_template(TemplateName="SimpleEmail", TemplateContent={
        "Subject": "Hello {{first_name}}", "Text": "Dear {{first_name}}, code {{unique_code}}."})

    # The records, really queued and received.
    def body(code: str, user: str, campaign: str = "watch-test") -> str:
        return json.dumps({"from": SENDER, "to": f"success+{code}@simulator.amazonses.com",
                           "template_name": "SimpleEmail", "user_id": user, "config_set": "load-test-config",
                           "tags": [{"Name": "campaign", "Value": campaign}], "unique_code": code})

    bodies = {"ok-1": body("ok-1", "1"), "ok-2": body("ok-2", "2"), "ok-3": body("ok-3", "3"),
              "unknown": body("unknown", "999"), "garbage": "{not json",
              "paused-1": body("paused-1", "1", "watch-paused"),
              "cancelled-1": body("cancelled-1", "2", "watch-cancelled")}
    ids = {}
    for name, b in bodies.items():
        ids[name] = sqs.send_message(QueueUrl=queue_url, MessageBody=b)["MessageId"]
    received = []
    while len(received) < len(bodies):
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=300,
                                  WaitTimeSeconds=1).get("Messages", [])
        assert got or len(received) == len(bodies), "moto returned no messages"
        received.extend(got)
    event = {"Records": [record(m, queue_arn) for m in received]}
    event_file = tmp / "event.json"
    event_file.write_text(json.dumps(event))

    # The function under `cargo lambda watch`.
    watch_port = free_port()
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    function_env = {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL_SES": sim_url, "AWS_ENDPOINT_URL_SESV2": sim_url,
        "AWS_ENDPOINT_URL_DYNAMODB": moto_url, "AWS_ENDPOINT_URL_SQS": moto_url,
        "QUEUE_URL": queue_url, "DLQ_URL": dlq_url, "CUSTOMERS_TABLE": "customers", "LEDGER_TABLE": "ledger",
        "CONTROL_TABLE": "control", "SES_MAX_SEND_RATE_OVERRIDE": "100", "MAXIMUM_CONCURRENCY": "2", "RUST_LOG": "info",
        # The paused campaign's record comes back after 0.75-1 s, within the wait below.
        "PARK_BASE_DELAY_SECONDS": "1",
    }
    env.update(function_env)
    argv = [str(cargo_lambda), "lambda", "watch", "--ignore-changes", "-A", "127.0.0.1", "-P", str(watch_port)]
    for k, v in function_env.items():
        argv += ["--env-var", f"{k}={v}"]
    watch = start(started, argv + ["-p", "poller"], tmp / "watch.log", env=env, cwd=ROOT)
    wait_listening(watch_port, watch, "cargo lambda watch", tmp / "watch.log", 120)

    # First invoke compiles (or reuses) the debug poller and starts it.
    inv = subprocess.run([str(cargo_lambda), "lambda", "invoke", "poller", "-A", "127.0.0.1", "-P", str(watch_port),
                          "--data-file", str(event_file), "--output-format", "json"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=1500)
    assert inv.returncode == 0, f"invoke failed: {inv.stderr[-3000:]}\n--- watch log:\n{(tmp / 'watch.log').read_text()[-4000:]}"
    response = json.loads(inv.stdout)
    failures = {f["itemIdentifier"] for f in response["batchItemFailures"]}

    with urllib.request.urlopen(sim_url + "/_sim/messages", timeout=10) as r:
        sent = json.loads(r.read())["messages"]
    assert len(sent) == 1, f"the simulator accepted {len(sent)} emails at 1/s: {sent}"
    code = sent[0]["tags"]["unique_code"]
    assert code in ("ok-1", "ok-2", "ok-3"), sent[0]
    first_name = {"ok-1": "Ada", "ok-2": "Grace", "ok-3": "Edsger"}[code]
    assert sent[0]["subject"] == f"Hello {first_name}"
    assert sent[0]["text"] == f"Dear {first_name}, code {code}."
    assert sent[0]["to"] == [f"success+{code}@simulator.amazonses.com"]
    assert failures == set(), f"batchItemFailures {failures}: waiting records are parked, not retried"

    # The throttled records: parked, i.e. copied back to the source queue with a short delay.
    # The paused campaign's record: parked too, with reason campaign_paused.
    throttled = sorted(bodies[n] for n in ("ok-1", "ok-2", "ok-3") if n != code)
    parked = []
    until = time.monotonic() + 15
    while len(parked) < len(throttled) + 1 and time.monotonic() < until:
        parked.extend(sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                          WaitTimeSeconds=1).get("Messages", []))
    by_reason = sorted((m["MessageAttributes"]["sesload_park_reason"]["StringValue"], m["Body"]) for m in parked)
    assert by_reason == sorted([("throttled", b) for b in throttled] + [("campaign_paused", bodies["paused-1"])]), parked
    for m in parked:
        assert m["MessageAttributes"]["sesload_park_count"]["StringValue"] == "1", m

    # The cancelled campaign's record: recorded once (marker + counter), not sent, not retried.
    marker = ddb.get_item(TableName="control", Key={"pk": {"S": "cancelled#watch-cancelled#cancelled-1"}},
                          ConsistentRead=True).get("Item")
    assert marker is not None and marker["source_message_id"]["S"] == ids["cancelled-1"], marker
    counter = ddb.get_item(TableName="control", Key={"pk": {"S": "campaign#watch-cancelled"}}, ConsistentRead=True)
    assert counter["Item"]["cancelled"]["N"] == "1", counter

    dead = []
    while True:
        got = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                  WaitTimeSeconds=0).get("Messages", [])
        if not got:
            break
        dead.extend(got)
    reasons = sorted((m["Body"], m["MessageAttributes"]["sesload_reason"]["StringValue"]) for m in dead)
    assert reasons == sorted([(bodies["garbage"], "invalid_json"), (bodies["unknown"], "unknown_customer")]), reasons

    item = ddb.get_item(TableName="ledger", Key={"unique_code": {"S": code}}).get("Item")
    assert item is not None, f"ledger has no item for {code}"
    message_id = sent[0]["messageId"]
    assert message_id in json.dumps(item), f"ledger item {item} lacks the message id {message_id}"
    print(f"cargo lambda watch: {len(event['Records'])} records -> 1 sent ({code}), "
          f"{len(parked)} parked (throttled, campaign paused), 1 cancelled, {len(dead)} dead-lettered")
