"""Fixtures for the analytics tests: the sesload binary, the DuckDB CLI and fixture lakes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).parent))

import lakegen  # noqa: E402


def _find_bin() -> Path:
    if os.environ.get("SESLOAD_BIN"):
        return Path(os.environ["SESLOAD_BIN"])
    target = os.environ.get("CARGO_TARGET_DIR")
    candidates = ([Path(target) / "debug/sesload"] if target else []) + [ROOT / "target/debug/sesload"]
    for c in candidates:
        if c.is_file():
            return c
    # Build it (bounded), as a clean clone must work.
    subprocess.run(["cargo", "build", "-q", "-p", "sesload"], cwd=ROOT, check=True, timeout=1800)
    for c in candidates:
        if c.is_file():
            return c
    raise RuntimeError(f"sesload binary not found in {candidates}")


@pytest.fixture(scope="session")
def sesload_bin() -> Path:
    return _find_bin()


@pytest.fixture(scope="session")
def duckdb_bin() -> Path:
    if os.environ.get("SESLOAD_DUCKDB"):
        return Path(os.environ["SESLOAD_DUCKDB"])
    p = ROOT / ".venv/bin/duckdb"
    if p.is_file():
        return p
    found = shutil.which("duckdb")
    if not found:
        pytest.fail("DuckDB CLI missing: .venv/bin/pip install duckdb-cli")
    return Path(found)


class Run:
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
def fixture_lake(tmp_path_factory) -> tuple[Path, dict]:
    """A data dir whose lake holds the fixture events; returns (data_dir, counters)."""
    d = tmp_path_factory.mktemp("analytics-data")
    counters = lakegen.generate(d / "lake", campaign="fixture-1")
    (d / "counters.json").write_text(json.dumps(counters))
    return d, counters


@pytest.fixture(scope="session")
def run(sesload_bin, duckdb_bin, fixture_lake) -> Run:
    return Run(sesload_bin, duckdb_bin, fixture_lake[0])
