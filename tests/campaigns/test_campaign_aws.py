"""`sesload campaign --aws` against moto standing in for the deployment (DynamoDB control table,
SQS queue and DLQ): the resources come from `terraform output -json` (a stand-in `terraform`
prints a deployment's outputs), state changes land in the control table item, status reads the
queue depths, and redrive moves exactly one campaign's dead letters of one reason."""

from __future__ import annotations

import json
import os
import subprocess
import time

import boto3
import pytest

from tests.harness import request_body, sesload_bin

REGION = "us-east-1"


def client(service: str, moto: str):
    return boto3.client(service, endpoint_url=moto, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def deployment(moto, tmp_path):
    """A control table, a queue and a DLQ in moto, and a Terraform directory whose stand-in
    `terraform` prints their outputs."""
    suffix = str(time.monotonic_ns())
    ddb, sqs = client("dynamodb", moto), client("sqs", moto)
    table = f"sesload-control-{suffix}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    queue = sqs.create_queue(QueueName=f"sesload-queue-{suffix}")["QueueUrl"]
    dlq = sqs.create_queue(QueueName=f"sesload-dlq-{suffix}")["QueueUrl"]
    outputs = {name: {"sensitive": False, "type": "string", "value": value} for name, value in
               {"control_table_name": table, "queue_url": queue, "dlq_url": dlq, "region": REGION}.items()}
    tf_dir = tmp_path / "terraform"
    tf_dir.mkdir()
    (tf_dir / "outputs.json").write_text(json.dumps(outputs))
    fake = tmp_path / "terraform-bin"
    fake.write_text(f"#!/bin/sh\ncat '{tf_dir / 'outputs.json'}'\n")
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESLOAD_", "AWS_"))}
    env.update({"AWS_ENDPOINT_URL": moto, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true",
                "TERRAFORM": str(fake), "RUST_BACKTRACE": "0"})

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(sesload_bin()), "campaign", "--aws", "--terraform-dir", str(tf_dir),
                               "--by", "cli:ops", *args], capture_output=True, text=True, timeout=120, env=env)

    return {"ddb": ddb, "sqs": sqs, "table": table, "queue": queue, "dlq": dlq, "run": run,
            "tf_dir": tf_dir, "env": env}


def test_state_changes_land_in_the_control_table_and_status_reads_the_queues(deployment):
    d = deployment
    p = d["run"]("pause", "run-7", "--reason", "bounce rate climbing")
    assert p.returncode == 0 and "is now PAUSED" in p.stdout, p
    item = d["ddb"].get_item(TableName=d["table"], Key={"pk": {"S": "campaign#run-7"}},
                             ConsistentRead=True)["Item"]
    assert item["state"] == {"S": "paused"} and item["reason"] == {"S": "bounce rate climbing"}
    assert item["updated_by"] == {"S": "cli:ops"} and item["version"] == {"N": "1"}

    listed = json.loads(d["run"]("list", "--json").stdout)
    assert [(e["campaign"], e["state"]) for e in listed] == [("run-7", "paused")]

    for n in range(3):
        d["sqs"].send_message(QueueUrl=d["queue"], MessageBody=json.dumps(request_body("run-7", n)))
    p = d["run"]("status", "run-7", "--json")
    assert p.returncode == 0, p.stderr
    st = json.loads(p.stdout)
    assert st["control"]["state"] == "paused" and st["control"]["version"] == 1
    assert st["queue"]["visible"] == 3 and st["dlq"] == {"visible": 0, "in_flight": 0, "delayed": 0}
    text = d["run"]("status", "run-7").stdout
    assert "queue (every campaign): 3" in text and "sesload report --athena --campaign run-7" in text, text

    p = d["run"]("resume", "run-7")
    assert p.returncode == 0 and "is now running" in p.stdout, p
    p = d["run"]("cancel", "run-7")
    assert p.returncode == 0 and "CANCELLED" in p.stdout
    p = d["run"]("resume", "run-7")
    assert p.returncode == 1 and "cannot be resumed" in p.stderr, p
    item = d["ddb"].get_item(TableName=d["table"], Key={"pk": {"S": "campaign#run-7"}},
                             ConsistentRead=True)["Item"]
    assert item["state"] == {"S": "cancelled"} and item["version"] == {"N": "3"}


def test_redrive_moves_one_campaigns_dead_letters_of_one_reason(deployment):
    d = deployment
    sqs = d["sqs"]

    def dead(campaign: str, n: int, reason: str):
        sqs.send_message(QueueUrl=d["dlq"], MessageBody=json.dumps(request_body(campaign, n)),
                         MessageAttributes={"sesload_reason": {"DataType": "String", "StringValue": reason}})

    for n in range(4):
        dead("run-8", n, "ses_not_found")
    dead("run-8", 9, "unknown_customer")
    dead("run-9", 0, "ses_not_found")

    dry = json.loads(d["run"]("redrive", "run-8", "--dry-run", "--json").stdout)
    assert dry["matched_by_reason"] == {"ses_not_found": 4, "unknown_customer": 1} and dry["redriven"] == 0
    p = d["run"]("redrive", "run-8", "--reason", "ses_not_found")
    assert p.returncode == 0 and "redrove 4 to the queue" in p.stdout, p

    moved = []
    while True:
        got = sqs.receive_message(QueueUrl=d["queue"], MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        moved += [json.loads(m["Body"])["unique_code"] for m in got]
        for m in got:
            sqs.delete_message(QueueUrl=d["queue"], ReceiptHandle=m["ReceiptHandle"])
    assert sorted(moved) == [f"run-8-{n:06d}" for n in range(4)]
    attrs = sqs.get_queue_attributes(QueueUrl=d["dlq"], AttributeNames=["ApproximateNumberOfMessages"])
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "2", "run-8's other reason and run-9 stay"


def test_a_deployment_without_the_outputs_is_a_clear_error(deployment, tmp_path):
    d = deployment
    (d["tf_dir"] / "outputs.json").write_text(json.dumps({"region": {"value": REGION}}))
    p = d["run"]("list")
    assert p.returncode != 0 and "control_table_name" in p.stderr and "--control-table" in p.stderr, p.stderr
    # The flags alone need no Terraform.
    p = subprocess.run([str(sesload_bin()), "campaign", "--aws", "--control-table", d["table"],
                        "--region", REGION, "--terraform-dir", str(tmp_path / "none"), "list"],
                       capture_output=True, text=True, timeout=60, env=d["env"])
    assert p.returncode == 0 and "no campaign has been steered" in p.stdout, p
