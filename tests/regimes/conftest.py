"""The regimes suite's stacks: the shared `make_stack` with a simulator that keeps a long message
log (the cases look for duplicates in it), a low SES latency and small park delays, so a parked
record comes back within seconds rather than the production 10 s x 2^n. The reconciliation every
case ends with is in tests/regimes/support.py."""

from __future__ import annotations

import pytest

from tests.harness import LocalStack, deep_merge

REGIMES_BASE = {
    "park_base_delay_seconds": 1,
    "park_max_delay_seconds": 4,
    "retry_base_delay_seconds": 1,
    "sim": {"message_log_capacity": 200_000, "latency": {"p50_ms": 5, "p99_ms": 10}},
}


@pytest.fixture
def make_stack(make_stack):
    def make(config: dict | None = None, **kw) -> LocalStack:
        return make_stack(deep_merge(REGIMES_BASE, config or {}), **kw)

    return make
