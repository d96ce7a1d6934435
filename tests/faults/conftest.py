"""The fault and fuzz suite's stacks: the shared `make_stack` with a simulator that keeps a long
message log (the tests look for duplicates in it) and has no daily quota."""

import pytest

from tests.harness import deep_merge

FAULTS_BASE = {"sim": {"message_log_capacity": 200_000, "max_24_hour_send": -1}}


@pytest.fixture
def make_stack(make_stack):
    def make(config: dict | None = None, **kw):
        return make_stack(deep_merge(FAULTS_BASE, config or {}), **kw)

    return make
