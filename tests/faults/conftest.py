"""Fixtures of the fault and fuzz suite; the harness itself is in faults_harness.py."""

from faults_harness import Stack

import pytest


@pytest.fixture
def make_stack(tmp_path):
    stacks: list[Stack] = []

    def make(config: dict | None = None, customers: int = 500, name: str = "stack") -> Stack:
        s = Stack(tmp_path / name, config or {}, customers=customers)
        stacks.append(s)
        return s

    yield make
    for s in stacks:
        try:
            s.stop()
        except Exception:  # noqa: BLE001 - cleanup must reach every stack
            if s.proc is not None:
                s.proc.kill()
