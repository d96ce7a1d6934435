"""Every file in sql/ passes sqlfluff: the Athena dialect for views and saved queries, Hive for the
DDL (Athena runs DDL through Hive's grammar), DuckDB for the local glue (see .sqlfluff files)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SQLFLUFF = ROOT / ".venv/bin/sqlfluff"


def test_every_sql_file_lints_clean():
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "sql").rglob("*.sql"))
    assert len(files) >= 12, files
    p = subprocess.run([str(SQLFLUFF), "lint", "--format", "json", "--nofail", *files],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    report = json.loads(p.stdout)
    linted = {r["filepath"] for r in report}
    assert linted == set(files), "sqlfluff skipped files"
    problems = [f"{r['filepath']}:{v['start_line_no']}: {v['code']} {v['description']}"
                for r in report for v in r["violations"]]
    assert not problems, "\n".join(problems)


def test_views_and_queries_are_linted_as_athena():
    # The Athena files must be linted with the athena dialect (the root .sqlfluff), not an override.
    for sub in ("queries", "views"):
        assert not (ROOT / "sql" / sub / ".sqlfluff").exists()
    assert "dialect = athena" in (ROOT / ".sqlfluff").read_text()


def test_each_query_documents_purpose_parameters_columns():
    for q in sorted((ROOT / "sql/queries").glob("*.sql")):
        head = q.read_text().split("\nWITH ")[0].split("\nSELECT")[0]
        assert head.startswith("-- "), q.name
        assert "Parameters: ? = the campaign, then ? and ? = the first and last dt partition" in head, q.name
        assert "Columns" in head, q.name
