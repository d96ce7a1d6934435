"""The real Artillery run (artillery/run.sh + LoadTest.yaml + LoadTestFunction.js) against a
recording HTTP endpoint that checks every request the way the ingest API does: path, x-api-key,
content type, and the body against schemas/send-request.schema.json.

Needs `just setup` (artillery/node_modules; tests/artillery/conftest.py fails without it). Each
run is a few seconds of load.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema
import pytest

from tests.harness import ROOT

RUN = ROOT / "artillery" / "run.sh"
SCHEMA = json.loads((ROOT / "schemas" / "send-request.schema.json").read_text())
VALIDATOR = jsonschema.Draft4Validator(SCHEMA)
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


class Recorder:
    """A loopback endpoint that records requests and answers like the ingest API."""

    def __init__(self, key: str, status: int = 200):
        self.key = key
        self.status = status
        self.requests: list[dict] = []
        self.problems: list[str] = []
        self.lock = threading.Lock()
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                n = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(n)
                problems = []
                if self.path != "/send_messages/events":
                    problems.append(f"path {self.path}")
                if self.headers.get("x-api-key") != rec.key:
                    problems.append(f"x-api-key {self.headers.get('x-api-key')!r}")
                if not (self.headers.get("content-type") or "").startswith("application/json"):
                    problems.append(f"content-type {self.headers.get('content-type')!r}")
                try:
                    body = json.loads(raw)
                    problems += [f"schema: {e.message}" for e in VALIDATOR.iter_errors(body)]
                except json.JSONDecodeError as e:
                    body = None
                    problems.append(f"bad JSON {raw[:80]!r}: {e}")
                with rec.lock:
                    rec.requests.append(body)
                    rec.problems += problems
                status = rec.status if not problems else 400
                out = json.dumps(
                    {"messageId": str(uuid.uuid4())} if status == 200 else {"message": "no"}
                ).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def target(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/send_messages"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class Run:
    """A finished run.sh: return code, merged output, and how long the process lived after its
    last line of output (Artillery prints its ensure checks last, just before exiting)."""

    def __init__(self, returncode: int, out: str, exit_lag: float):
        self.returncode = returncode
        self.out = out
        self.exit_lag = exit_lag


def run_artillery(env_overrides: dict[str, str], timeout: float = 120, args=("--quiet",)) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESLOAD_")}
    env.update(env_overrides)
    proc = subprocess.Popen(
        [str(RUN), "local", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    last = time.monotonic()
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            lines.append(line)
            last = time.monotonic()
        rc = proc.wait()
    finally:
        timer.cancel()
    exit_lag = time.monotonic() - last
    assert rc != -9, f"run.sh killed after {timeout} s:\n" + "".join(lines)
    return Run(rc, "".join(lines), exit_lag)


def test_load_test_sends_schema_valid_unique_requests_and_passes_its_checks():
    campaign = f"pytest-{uuid.uuid4().hex[:12]}"
    with Recorder(key="secret-key") as rec:
        run = run_artillery(
            {
                "SESLOAD_TARGET": rec.target,
                "SESLOAD_API_KEY": "secret-key",
                "SESLOAD_CAMPAIGN": campaign,
                "SESLOAD_WARMUP_DURATION": "1",
                "SESLOAD_WARMUP_RATE": "20",
                "SESLOAD_RATE": "20",
                "SESLOAD_DURATION": "3",
                "SESLOAD_CUSTOMERS": "100",
                "SESLOAD_MIX": "success=50,bounce=50",
            }
        )
    out = run.out
    assert run.returncode == 0, out
    bodies = rec.requests
    print(f"artillery: {len(bodies)} requests, problems {len(rec.problems)}, exit {run.exit_lag:.1f} s after the checks")
    assert rec.problems == []
    # 1 s at 20/s + 3 s at 20/s: Artillery's arrival count per phase is exact.
    assert len(bodies) == 80
    codes = [b["unique_code"] for b in bodies]
    assert len(set(codes)) == len(codes)
    assert all(UUID_RE.match(c) for c in codes)
    assert {json.dumps(b["tags"]) for b in bodies} == {json.dumps([{"Name": "campaign", "Value": campaign}])}
    assert all(1 <= int(b["user_id"]) <= 100 for b in bodies)
    kinds = {b["to"].split("+", 1)[0] for b in bodies}
    assert kinds <= {"success", "bounce"} and len(kinds) == 2
    assert all(b["to"].endswith("@simulator.amazonses.com") for b in bodies)
    assert {b["config_set"] for b in bodies} == {"load-test-config"}
    assert {b["template_name"] for b in bodies} == {"SimpleEmail"}
    # The ensure checks ran and passed.
    assert "ok: http.codes.200 == vusers.created" in out
    assert "ok: maxErrorRate < 1" in out
    # No telemetry wait at exit (the preload stub): without it Artillery lingers ~12 s after this.
    assert run.exit_lag < 6, f"artillery exited {run.exit_lag:.1f} s after its last output"


def test_rejected_requests_fail_the_run():
    with Recorder(key="right-key") as rec:
        run = run_artillery(
            {
                "SESLOAD_TARGET": rec.target,
                "SESLOAD_API_KEY": "wrong-key",
                "SESLOAD_WARMUP_DURATION": "1",
                "SESLOAD_WARMUP_RATE": "5",
                "SESLOAD_RATE": "5",
                "SESLOAD_DURATION": "1",
            }
        )
    out = run.out
    assert len(rec.requests) == 10
    assert run.returncode != 0, out
    assert "fail: http.codes.200 == vusers.created" in out


def test_slow_responses_fail_the_p99_threshold():
    with Recorder(key="k") as rec:
        run = run_artillery(
            {
                "SESLOAD_TARGET": rec.target,
                "SESLOAD_API_KEY": "k",
                "SESLOAD_WARMUP_DURATION": "1",
                "SESLOAD_WARMUP_RATE": "5",
                "SESLOAD_RATE": "5",
                "SESLOAD_DURATION": "1",
                # No response is faster than 0 ms.
                "SESLOAD_P99_MS": "0",
            }
        )
    out = run.out
    assert len(rec.requests) == 10
    assert run.returncode != 0, out
    assert "fail: http.response_time.p99 < 0" in out


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SESLOAD_CAMPAIGN": "has space"}, 'SESLOAD_CAMPAIGN="has space"'),
        ({"SESLOAD_RATE": "fast"}, 'SESLOAD_RATE="fast"'),
        ({"SESLOAD_DURATION": "0"}, "SESLOAD_DURATION must be > 0"),
    ],
)
def test_bad_settings_stop_before_any_request(env, message):
    with Recorder(key="k") as rec:
        run = run_artillery({"SESLOAD_TARGET": rec.target, "SESLOAD_API_KEY": "k", **env}, timeout=30)
    assert run.returncode == 2
    assert message in run.out
    assert rec.requests == []


def test_bad_generator_setting_stops_before_any_request():
    with Recorder(key="k") as rec:
        run = run_artillery(
            {"SESLOAD_TARGET": rec.target, "SESLOAD_API_KEY": "k", "SESLOAD_MIX": "success=90,spam=10"},
            timeout=30,
        )
    assert run.returncode == 2, run.out
    assert 'SESLOAD_MIX kind "spam" is unknown' in run.out
    assert rec.requests == []


def test_local_mode_needs_a_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESLOAD_")}
    env["SESLOAD_DATA_DIR"] = str(tmp_path)
    proc = subprocess.run([str(RUN), "local"], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "set SESLOAD_API_KEY" in proc.stderr
    # The local stack's key file is used when present.
    (tmp_path / "api_key").write_text("from-file\n")
    with Recorder(key="from-file") as rec:
        env.update(
            SESLOAD_TARGET=rec.target,
            SESLOAD_WARMUP_DURATION="1",
            SESLOAD_WARMUP_RATE="2",
            SESLOAD_RATE="2",
            SESLOAD_DURATION="1",
        )
        proc = subprocess.run([str(RUN), "local", "--quiet"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(rec.requests) == 4 and rec.problems == []


def test_aws_mode_without_terraform_outputs_says_what_is_missing(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESLOAD_")}
    env["SESLOAD_TF_DIR"] = str(tmp_path)  # no state: no outputs
    proc = subprocess.run([str(RUN), "aws"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "no target: set SESLOAD_TARGET or apply" in proc.stderr


def test_aws_mode_runs_artillery_on_lambda_with_terraform_outputs_and_a_dotenv(tmp_path):
    """The aws wiring without AWS: a fake `terraform` answers the outputs, a fake artillery
    records its arguments and the dotenv file it is given (which Lambda workers load)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    terraform = bindir / "terraform"
    terraform.write_text(
        "#!/usr/bin/env bash\n"
        'case "$*" in\n'
        '  *"output -raw api_invoke_url"*) printf %s "https://abc123.execute-api.eu-west-2.amazonaws.com/send_messages/" ;;\n'
        '  *"output -raw api_key_value"*) printf %s "tf-key-123" ;;\n'
        "  *) exit 1 ;;\n"
        "esac\n"
    )
    terraform.chmod(0o755)
    record = tmp_path / "record.json"
    fake = tmp_path / "artillery"
    fake.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        "args = sys.argv[1:]\n"
        "dotenv = open(args[args.index('--dotenv') + 1]).read()\n"
        f"json.dump({{'args': args, 'dotenv': dotenv}}, open({str(record)!r}, 'w'))\n"
    )
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESLOAD_", "AWS_"))}
    env.update(
        PATH=f"{bindir}:{env['PATH']}",
        SESLOAD_ARTILLERY_BIN=str(fake),
        SESLOAD_CAMPAIGN="aws-run-7",
        SESLOAD_RATE="300",
    )
    proc = subprocess.run([str(RUN), "aws", "--count", "4"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    rec = json.loads(record.read_text())
    args = rec["args"]
    assert args[0] == "run-lambda"
    assert args[args.index("--region") + 1] == "eu-west-2"
    assert args[args.index("--environment") + 1] == "aws"
    assert "--count" in args and args[args.index("--count") + 1] == "4"
    assert args[-1] == "LoadTest.yaml"
    dotenv = dict(line.split("=", 1) for line in rec["dotenv"].splitlines() if line)
    assert dotenv["SESLOAD_TARGET"] == "https://abc123.execute-api.eu-west-2.amazonaws.com/send_messages"
    assert dotenv["SESLOAD_API_KEY"] == "tf-key-123"
    assert dotenv["SESLOAD_CAMPAIGN"] == "aws-run-7"
    assert dotenv["SESLOAD_RATE"] == "300"
    # Every default reaches the workers too.
    for name in ("SESLOAD_DURATION", "SESLOAD_MIX", "SESLOAD_CUSTOMERS", "SESLOAD_P99_MS", "SESLOAD_MAX_ERROR_RATE"):
        assert dotenv.get(name), name
    # The dotenv file (it holds the API key) is removed afterwards.
    assert not (ROOT / "artillery" / ".run-lambda.env").exists()
