"""The real guard binary (`lambdas/guard`, as `just build-lambdas` packages it, here a debug build)
under a Lambda Runtime API served by this test, with DynamoDB at moto.

One invocation gets an SQS event of the guard queue holding SES events as EventBridge delivers
them (`source` `aws.ses`, `detail-type` `Email Sent` / `Email Bounced`, `detail` the SES event
record with the `campaign` tag): 120 sends of each of two campaigns and 30 hard bounces of one.
Asserted: the binary reads its configuration from the environment (`CONTROL_TABLE`,
`GUARDRAIL_*`), answers no batch item failures, writes the counts into the control table's
`guard#<campaign>#<minute>` items, auto-pauses the bouncing campaign (`campaign#<name>` item:
state, reason, `updated_by`) and not the clean one, and prints its EMF line with
`guardrail_pauses` 1. Without `CONTROL_TABLE` it refuses to start and names the variable.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from tests.harness import ROOT, require_tool, target_dir, terminate

REGION = "us-east-1"
CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": REGION}


@pytest.fixture(scope="module")
def guard_bin():
    require_tool("cargo")
    p = subprocess.run(["cargo", "build", "-p", "guard"], cwd=ROOT, capture_output=True, text=True,
                       timeout=1800, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"cargo build -p guard failed:\n{p.stderr[-5000:]}"
    exe = target_dir() / "debug" / "guard"
    assert exe.is_file(), f"{exe} was not built"
    return exe


class RuntimeApi:
    """The Lambda Runtime API for one invocation: `next` hands out the event once, then holds."""

    def __init__(self, event: dict):
        self.event = json.dumps(event).encode()
        self.response: bytes | None = None
        self.error: bytes | None = None
        self.answered = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path != "/2018-06-01/runtime/invocation/next":
                    self.send_error(404)
                    return
                if api.event is None:
                    time.sleep(30)  # the test is over by then
                    self.send_error(410)
                    return
                body, api.event = api.event, None
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("lambda-runtime-aws-request-id", "req-1")
                self.send_header("lambda-runtime-deadline-ms", str(int(time.time() * 1000) + 60_000))
                self.send_header("lambda-runtime-invoked-function-arn",
                                 "arn:aws:lambda:us-east-1:123456789012:function:t-guard")
                self.send_header("lambda-runtime-trace-id", "Root=1-0-0")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                data = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.path.endswith("/response"):
                    api.response = data
                elif self.path.endswith("/error"):
                    api.error = data
                self.send_response(202)
                self.send_header("content-length", "0")
                self.end_headers()
                api.answered.set()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()


def ses_event(event_type: str, campaign: str, n: int, sent: str) -> str:
    detail_type = {"Send": "Email Sent", "Bounce": "Email Bounced"}[event_type]
    detail = {"eventType": event_type,
              "mail": {"timestamp": sent, "source": "sender@example.com", "messageId": f"{campaign}-{n}",
                       "destination": [f"r{n}@simulator.amazonses.com"],
                       "tags": {"ses:configuration-set": ["t-config"], "campaign": [campaign]}}}
    if event_type == "Send":
        detail["send"] = {}
    else:
        detail["bounce"] = {"bounceType": "Permanent", "bounceSubType": "General",
                            "bouncedRecipients": [{"emailAddress": f"r{n}@simulator.amazonses.com"}]}
    return json.dumps({"version": "0", "id": f"{campaign}-{event_type}-{n}", "detail-type": detail_type,
                       "source": "aws.ses", "account": "123456789012", "time": sent, "region": REGION,
                       "resources": [], "detail": detail})


def test_guard_binary_counts_events_and_pauses_the_bouncing_campaign(guard_bin, moto, tmp_path):
    table = f"guard-ctl-{int(time.time() * 1000)}"
    ddb = boto3.client("dynamodb", endpoint_url=moto, **CREDS)
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    now = datetime.now(timezone.utc)
    sent = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    minute = int(now.timestamp()) // 60
    bodies = [ses_event("Send", c, n, sent) for n in range(120) for c in ("bin-bouncy", "bin-clean")]
    bodies += [ses_event("Bounce", "bin-bouncy", n, sent) for n in range(0, 120, 4)]
    event = {"Records": [{"messageId": f"m-{i}", "receiptHandle": f"rh-{i}", "body": b, "attributes": {},
                          "messageAttributes": {}, "eventSource": "aws:sqs"} for i, b in enumerate(bodies)]}
    api = RuntimeApi(event)
    env = {"PATH": os.environ.get("PATH", ""), "AWS_LAMBDA_RUNTIME_API": api.address,
           "AWS_LAMBDA_FUNCTION_NAME": "t-guard", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
           "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION, "AWS_ENDPOINT_URL_DYNAMODB": moto,
           "CONTROL_TABLE": table, "METRICS_NAMESPACE": "sesload-test", "GUARDRAIL_MIN_SENDS": "100",
           "RUST_LOG": "info"}
    out = tmp_path / "guard.out"
    proc = subprocess.Popen([str(guard_bin)], env=env, stdout=open(out, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        assert api.answered.wait(60), f"the guard never answered: {out.read_text()[-3000:]}"
    finally:
        terminate(proc, 10)
        api.close()
    log = out.read_text()
    assert api.error is None, f"invocation error {api.error!r}\n{log[-3000:]}"
    assert json.loads(api.response) == {"batchItemFailures": []}, log[-3000:]

    def item(pk: str) -> dict:
        got = ddb.get_item(TableName=table, Key={"pk": {"S": pk}}, ConsistentRead=True).get("Item")
        assert got, f"no item {pk}\n{log[-3000:]}"
        return got

    bucket = item(f"guard#bin-bouncy#{minute}")
    assert (bucket["sends"]["N"], bucket["bounces"]["N"], bucket["complaints"]["N"]) == ("120", "30", "0")
    assert item(f"guard#bin-clean#{minute}")["sends"]["N"] == "120"
    state = item("campaign#bin-bouncy")
    assert state["state"]["S"] == "auto_paused", state
    assert state["updated_by"]["S"] == "guardrail:bounce"
    assert state["reason"]["S"] == ("bounce rate 25 % (30 of 120 sends in the last 60 min) "
                                    "is over the 5 % threshold")
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "campaign#bin-clean"}}), \
        "the clean campaign was never written"
    emf = [json.loads(line) for line in log.splitlines() if line.startswith("{") and '"_aws"' in line]
    assert len(emf) == 1, log[-3000:]
    assert emf[0]["guardrail_pauses"] == 1 and emf[0]["guard_events"] == 270, emf[0]
    assert emf[0]["FunctionName"] == "t-guard"
    assert emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "sesload-test"


def test_guard_refuses_to_start_without_its_control_table(guard_bin):
    env = {"PATH": os.environ.get("PATH", ""), "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9",
           "AWS_REGION": REGION}
    p = subprocess.run([str(guard_bin)], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "CONTROL_TABLE is required but not set" in p.stdout + p.stderr, p.stdout + p.stderr
