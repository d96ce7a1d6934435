"""The task runner's contract: the recipes the README and the issues name exist and explain
themselves in `just --list`, `just setup` is idempotent and fast when nothing changed, and the
pinned tool versions in requirements.txt are the ones installed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JUST = ROOT / ".venv" / "bin" / "just"

REQUIRED = [
    "setup", "build", "build-lambdas", "test", "demo", "fmt", "lint", "bench", "up",
    "load-local", "load-aws", "clean",
]


def just(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(JUST), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module", autouse=True)
def need_just():
    if not JUST.exists():
        pytest.fail(".venv/bin/just missing: run .ci/run or `pip install rust-just` into .venv", pytrace=False)


def test_every_recipe_is_listed_with_a_description():
    out = just("--list", "--unsorted")
    assert out.returncode == 0, out.stderr
    described = {}
    for line in out.stdout.splitlines()[1:]:
        m = re.match(r"^\s+(\S+)(?:\s+[^#]*)?\s+# (.+)$", line)
        name = line.split()[0] if line.strip() else None
        if name:
            described[name] = m.group(2) if m else None
    missing = [r for r in REQUIRED if r not in described]
    assert missing == [], f"recipes missing from `just --list`: {missing}"
    undocumented = [r for r, d in described.items() if not d]
    assert undocumented == [], f"recipes without a doc comment: {undocumented}"
    print(f"just --list: {len(described)} recipes, all described")


def test_setup_is_idempotent_and_fast_when_done():
    first = just("setup", timeout=1800)
    assert first.returncode == 0, first.stderr
    started = time.monotonic()
    second = just("setup", timeout=120)
    elapsed = time.monotonic() - started
    assert second.returncode == 0, second.stderr
    assert "venv: up to date" in second.stderr
    assert "npm: up to date" in second.stderr
    assert elapsed < 10, f"second `just setup` took {elapsed:.1f} s"
    print(f"second just setup: {elapsed:.2f} s")


def test_pinned_python_tools_are_the_installed_ones():
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]+\])?==([^\s;]+)", line)
        assert m, f"requirements.txt line is not an exact pin: {line!r}"
        pins[m.group(1).lower().replace("_", "-")] = m.group(3)
    out = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "pip", "freeze", "--disable-pip-version-check"],
        capture_output=True, text=True, timeout=120,
    )
    installed = {}
    for line in out.stdout.splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
            installed[name.lower().replace("_", "-")] = version
    wrong = {n: (v, installed.get(n)) for n, v in pins.items() if installed.get(n) != v}
    assert wrong == {}, f"pinned vs installed: {wrong}"
    # The lock file constrains the same versions.
    lock = (ROOT / "requirements.lock.txt").read_text().lower().replace("_", "-")
    for n, v in pins.items():
        assert f"\n{n}=={v}\n" in lock, f"{n}=={v} not in requirements.lock.txt"


def test_artillery_is_pinned_by_the_lock_file():
    import json

    pkg = json.loads((ROOT / "artillery" / "package.json").read_text())
    lock = json.loads((ROOT / "artillery" / "package-lock.json").read_text())
    want = pkg["dependencies"]["artillery"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", want), f"artillery must be an exact version, not {want!r}"
    assert lock["packages"]["node_modules/artillery"]["version"] == want
    # Every locked package records where it came from and its checksum (npm ci verifies them).
    loose = [k for k, v in lock["packages"].items() if k and not v.get("link") and not v.get("integrity")]
    assert loose == [], f"packages without integrity in the lock: {loose[:5]}"


def test_ci_entry_point_is_executable_bash():
    ci = ROOT / ".ci" / "run"
    assert os.access(ci, os.X_OK)
    out = subprocess.run(["bash", "-n", str(ci)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for script in ["scripts/setup.sh", "artillery/run.sh"]:
        out = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True)
        assert out.returncode == 0, f"{script}: {out.stderr}"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
