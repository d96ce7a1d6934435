"""The Artillery tests need Node.js 20 with npm (a README requirement) and Artillery installed by
`just setup` (artillery/node_modules): when either is missing they fail, they do not skip."""

import pytest

from tests.harness import ROOT, require_tool

ARTILLERY = ROOT / "artillery" / "node_modules" / ".bin" / "artillery"


@pytest.fixture(autouse=True, scope="session")
def artillery_installed():
    require_tool("node")
    require_tool("npm")
    if not ARTILLERY.exists():
        pytest.fail(f"{ARTILLERY} missing: run `just setup` (npm ci in artillery/)", pytrace=False)
