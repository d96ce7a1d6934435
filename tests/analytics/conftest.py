"""Fixtures of the analytics tests: the DuckDB CLI, `sesload query/report` runs and the fixture lake."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.analytics import lakegen
from tests.harness import ROOT


@pytest.fixture(scope="session")
def duckdb_bin() -> Path:
    if os.environ.get("SESLOAD_DUCKDB"):
        return Path(os.environ["SESLOAD_DUCKDB"])
    p = ROOT / ".venv/bin/duckdb"
    if p.is_file():
        return p
    found = shutil.which("duckdb")
    if not found:
        pytest.fail("DuckDB CLI missing: .venv/bin/pip install duckdb-cli (`just setup`)")
    return Path(found)


class Run:
    """Runs `sesload <args>` with the DuckDB CLI, over `data_dir`."""

    def __init__(self, bin: Path, duckdb: Path, data_dir: Path):
        self.bin, self.duckdb, self.data_dir = bin, duckdb, data_dir

    def __call__(self, *args: str, check: bool = True, env: dict | None = None,
                 cwd: Path | None = None) -> subprocess.CompletedProcess:
        e = dict(os.environ, SESLOAD_DUCKDB=str(self.duckdb))
        e.pop("SESLOAD_SQL_DIR", None)
        e.update(env or {})
        p = subprocess.run([str(self.bin), *args], capture_output=True, text=True, timeout=120,
                           env=e, cwd=cwd or ROOT)
        if check and p.returncode != 0:
            raise AssertionError(f"sesload {' '.join(args)} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    def query(self, name: str, campaign: str, fmt: str = "json", **kw):
        p = self(*("query", name, "--campaign", campaign, "--format", fmt, "--data-dir", str(self.data_dir)), **kw)
        return json.loads(p.stdout) if fmt == "json" else p.stdout


@pytest.fixture(scope="session")
def make_run(sesload_bin, duckdb_bin):
    """`make_run(data_dir)`: a `Run` of `sesload` over that data dir."""
    return lambda data_dir: Run(sesload_bin, duckdb_bin, data_dir)


@pytest.fixture(scope="session")
def fixture_lake(tmp_path_factory) -> tuple[Path, dict]:
    """A data dir whose lake holds the fixture events; returns (data_dir, counters)."""
    d = tmp_path_factory.mktemp("analytics-data")
    counters = lakegen.generate(d / "lake", campaign="fixture-1")
    (d / "counters.json").write_text(json.dumps(counters))
    return d, counters


@pytest.fixture(scope="session")
def run(make_run, fixture_lake) -> Run:
    return make_run(fixture_lake[0])
