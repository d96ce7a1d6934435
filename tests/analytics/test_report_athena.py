"""`sesload report --athena` prints the same report and HTML as the local one.

moto's Athena server stands in for Athena (it does not run SQL): it is seeded, query by query,
with the rows the local DuckDB runner computes over a fixture lake, written the way Athena returns
them (every cell as text, a header row, column types). The CLI then runs the report through the
Athena runner against moto, and its output must equal the local report's, except for the line
that says where the events were read."""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.request
from pathlib import Path

import pytest

from tests.analytics import lakegen


CAMPAIGN = "athena-1"
DAY = "2026-11-27"
QUERIES = ["01", "02", "03", "04", "05", "06", "07", "08"]


def athena_result(header: list[str], rows: list[dict]) -> dict:
    """Rows as Athena returns them: text cells (absent for NULL), a header row, column types."""
    def athena_type(col: str) -> str:
        v = next((r[col] for r in rows if r[col] is not None), None)
        return ("boolean" if isinstance(v, bool) else "bigint" if isinstance(v, int)
                else "double" if isinstance(v, float) else "varchar")

    def cell(v) -> dict:
        if v is None:
            return {}
        if isinstance(v, bool):
            return {"VarCharValue": "true" if v else "false"}
        return {"VarCharValue": repr(v) if isinstance(v, float) else str(v)}

    return {
        "rows": [{"Data": [{"VarCharValue": c} for c in header]}]
        + [{"Data": [cell(r[c]) for c in header]} for r in rows],
        "column_info": [{"Name": c, "Label": c, "Type": athena_type(c), "Precision": 0, "Scale": 0,
                         "Nullable": "UNKNOWN", "CaseSensitive": False} for c in header],
    }


def post(url: str, body: dict) -> None:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    assert urllib.request.urlopen(req, timeout=30).status in (200, 201)


@pytest.fixture(scope="module")
def seeded(make_run, tmp_path_factory, moto):
    import boto3

    d = tmp_path_factory.mktemp("athena-report")
    counters = lakegen.generate(d / "lake", campaign=CAMPAIGN, duplicates=False)
    (d / "counters.json").write_text(json.dumps(counters))
    r = make_run(d)
    results = []
    for q in QUERIES:
        args = ("query", q, "--campaign", CAMPAIGN, "--data-dir", str(d), "--from", DAY, "--to", DAY)
        header = next(csv.reader(io.StringIO(r(*args, "--format", "csv").stdout)))
        rows = json.loads(r(*args, "--format", "json").stdout)
        results.append(athena_result(header, rows))
    athena = boto3.client("athena", endpoint_url=moto, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    athena.create_work_group(Name="sesload", Configuration={
        "ResultConfiguration": {"OutputLocation": "s3://sesload-events/athena-results/"}})
    # moto hands the seeded results to executions in the order they start: 01 ... 08.
    post(f"{moto}/moto-api/static/athena/query-results", {"results": results})
    return r, athena


def report(r, out: Path, *extra: str, env: dict | None = None):
    return r("report", "--campaign", CAMPAIGN, "--data-dir", str(r.data_dir), "--counters",
             str(r.data_dir / "counters.json"), "--quota", "14", "--from", DAY, "--to", DAY,
             "--out", str(out), *extra, env=env, check=False)


def test_athena_report_equals_the_local_report(seeded, moto, tmp_path):
    r, athena = seeded
    env = {"AWS_ENDPOINT_URL": moto, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_EC2_METADATA_DISABLED": "true"}
    remote = report(r, tmp_path / "athena.html", "--athena", "--athena-workgroup", "sesload",
                    "--athena-database", "sesload", "--athena-region", "us-east-1", env=env)
    assert remote.returncode == 0, remote.stdout + remote.stderr
    local = report(r, tmp_path / "local.html")
    assert local.returncode == 0, local.stdout + local.stderr

    source = re.compile(r"^  events read: .*$", re.M)
    assert "Athena workgroup sesload, database sesload, us-east-1; 8 queries scanned" in remote.stdout
    assert "DuckDB over" in local.stdout
    assert source.sub("", remote.stdout.replace("athena.html", "X")) == source.sub(
        "", local.stdout.replace("local.html", "X"))
    assert "PASS" in remote.stdout

    html_source = re.compile(r'<p id="source">.*?</p>')
    a = html_source.sub("", (tmp_path / "athena.html").read_text())
    b = html_source.sub("", (tmp_path / "local.html").read_text())
    assert a == b
    assert 'data-chart="timeline"' in a

    # What Athena was asked: each saved query with the campaign and the day as parameters.
    ids = athena.list_query_executions(WorkGroup="sesload")["QueryExecutionIds"]
    assert len(ids) == len(QUERIES)
    for i in ids:
        qe = athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]
        assert qe["ExecutionParameters"] == [f"'{CAMPAIGN}'", f"'{DAY}'", f"'{DAY}'"]
        assert qe["QueryExecutionContext"]["Database"] == "sesload"


def test_athena_needs_the_deployment_outputs(seeded, tmp_path):
    r, _ = seeded
    # No flags and a directory without a stack: the error says what to do.
    p = report(r, tmp_path / "x.html", "--athena", "--terraform-dir", str(tmp_path),
               env={"TERRAFORM": str(tmp_path / "no-terraform")})
    assert p.returncode != 0
    assert f"terraform -chdir={tmp_path} output -json" in p.stderr and "--athena-workgroup" in p.stderr, p.stderr
