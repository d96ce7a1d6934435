"""Fixtures shared by every area of tests/ (helpers in tests/harness.py), and the skip policy.

Skip policy: a test may skip only when an optional tool the README lists is missing
(`harness.require_tool`, reason `optional tool missing: <tool>: ...`). Any other skip — a
`pytest.skip`, a skip marker, `importorskip`, an xfail — is reported as a failure. With
CI=true (`.ci/run`), even the allowed skips fail the session, and the summary lists them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.harness import (
    OPTIONAL_SKIP_PREFIX,
    OPTIONAL_TOOLS,
    ROOT,
    LocalStack,
    Simulator,
    free_port,
    sesload_bin as _sesload_bin,
    tail,
    terminate,
)

# ------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def sesload_bin() -> Path:
    """The `sesload` binary: $SESLOAD_BIN, else <target>/debug/sesload (never built here)."""
    return _sesload_bin()


@pytest.fixture
def make_stack(tmp_path):
    """Factory of local stacks, each in its own data dir under tmp_path, not yet started:
    `make_stack(config=None, customers=500, name=...)`. Every stack is stopped afterwards."""
    stacks: list[LocalStack] = []

    def make(config: dict | None = None, customers: int = 500, name: str | None = None) -> LocalStack:
        s = LocalStack(tmp_path / (name or f"stack{len(stacks)}"), config, customers=customers)
        stacks.append(s)
        return s

    yield make
    for s in stacks:
        s.stop(timeout=10)


@pytest.fixture
def local_stack(make_stack) -> LocalStack:
    """A running local stack with the default configuration and 500 seeded customers."""
    s = make_stack()
    s.seed()
    return s.start()


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    """A moto server (`moto[server]` from the venv, or $MOTO_SERVER) standing in for AWS: its
    endpoint URL. One per session; tests keep apart by the names they create."""
    exe = Path(os.environ.get("MOTO_SERVER", ROOT / ".venv/bin/moto_server"))
    if not exe.is_file():
        pytest.fail(f"moto server missing at {exe}: .venv/bin/pip install 'moto[server]'")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=open(log, "w"), start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not start: {tail(log, 2000)}")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        terminate(proc, 10)


@pytest.fixture
def make_sim(tmp_path):
    """Factory of standalone simulators (`sesload sim --port 0`): `make_sim(*flags, name=...)`,
    started; every one is stopped afterwards."""
    sims: list[Simulator] = []

    def make(*flags: str, name: str | None = None) -> Simulator:
        s = Simulator(tmp_path / (name or f"sim{len(sims)}"), *flags)
        sims.append(s)
        return s

    yield make
    for s in sims:
        s.stop()


# ---------------------------------------------------------------------------- skip policy


def _skip_reason(report) -> str:
    lr = report.longrepr
    reason = lr[2] if isinstance(lr, tuple) and len(lr) == 3 else str(lr)
    return reason.removeprefix("Skipped: ")


def _allowed(report) -> bool:
    if hasattr(report, "wasxfail"):
        return False
    reason = _skip_reason(report)
    if not reason.startswith(OPTIONAL_SKIP_PREFIX):
        return False
    tool = reason[len(OPTIONAL_SKIP_PREFIX):].split(":", 1)[0].strip()
    return tool in OPTIONAL_TOOLS


def _refuse(report):
    why = f"xfail ({report.wasxfail})" if hasattr(report, "wasxfail") else f"skip ({_skip_reason(report)})"
    report.outcome = "failed"
    report.longrepr = (
        f"{why} is not allowed: a test skips only when an optional tool the README lists is missing "
        f"({', '.join(sorted(OPTIONAL_TOOLS))}), through tests.harness.require_tool"
    )
    if hasattr(report, "wasxfail"):
        del report.wasxfail


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped and not _allowed(report):
        _refuse(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield
    if report.skipped and not _allowed(report):
        _refuse(report)
    return report


_skipped: list[tuple[str, str]] = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append((report.nodeid, _skip_reason(report)))


def pytest_collectreport(report):
    if report.skipped:
        _skipped.append((report.nodeid, _skip_reason(report)))


def _ci() -> bool:
    return os.environ.get("CI") == "true"


def pytest_sessionfinish(session, exitstatus):
    if _ci() and _skipped and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _skipped:
        return
    tr = terminalreporter
    if _ci():
        tr.section("CI=true: skipped tests fail the run", sep="=", red=True, bold=True)
    else:
        tr.section("skipped (optional tools missing; with CI=true these fail the run)", sep="=", yellow=True)
    for nodeid, reason in _skipped:
        tr.line(f"SKIPPED {nodeid}: {reason}")
