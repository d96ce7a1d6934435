"""The real poller binary under a local Lambda Runtime API.

`sesload bench cold-start` starts the `poller` executable with AWS_LAMBDA_RUNTIME_API pointing
at a Runtime API it serves, SES pointing at the in-process simulator and DynamoDB at a stand-in;
it feeds one SQS event and fails unless the poller answers `{"batchItemFailures": []}` and the
simulator accepted exactly one email per record.
"""

import json
import os
import subprocess
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]


def _target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def _binaries() -> tuple[Path, Path]:
    sesload = Path(os.environ.get("SESLOAD_BIN", _target_dir() / "debug" / "sesload"))
    poller = Path(os.environ.get("SESLOAD_POLLER_BIN", sesload.parent / "poller"))
    if not sesload.exists() or not poller.exists():
        subprocess.run(
            ["cargo", "build", "-p", "sesload", "-p", "poller"],
            cwd=ROOT,
            check=True,
            timeout=1800,
        )
    assert sesload.exists(), f"sesload binary not found at {sesload}"
    assert poller.exists(), f"poller binary not found at {poller}"
    return sesload, poller


def test_poller_binary_answers_an_sqs_batch_under_the_runtime_api():
    sesload, poller = _binaries()
    out = subprocess.run(
        [
            str(sesload),
            "bench",
            "cold-start",
            "--runs",
            "1",
            "--batch-size",
            "25",
            "--poller-bin",
            str(poller),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["batch_size"] == 25
    assert result["init_ms"] > 0
    assert 0 < result["rss_mb"] < 200


def test_poller_refuses_to_start_without_configuration():
    _, poller = _binaries()
    out = subprocess.run(
        [str(poller)], env={"PATH": os.environ.get("PATH", "")}, capture_output=True, text=True, timeout=30
    )
    assert out.returncode != 0
    # Every required variable is named in one message.
    assert "QUEUE_URL, DLQ_URL, CUSTOMERS_TABLE are required but not set" in (out.stdout + out.stderr)
