"""`just build-lambdas`: the three functions (poller, guard, seeder) as `bootstrap.zip` for arm64 (`provided.al2023`), the
artefacts Terraform deploys (`terraform/` reads target/lambda/<name>/bootstrap.zip).

Each zip must hold exactly one executable file named `bootstrap` (what the `provided.al2023`
runtime starts), an ELF for AArch64, and stay within the 6 MB the poller issue allows (the size
is printed: `pytest -s`)."""

from __future__ import annotations

import stat
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JUST = ROOT / ".venv" / "bin" / "just"
EM_AARCH64 = 183
MAX_ZIP_BYTES = 6 * 1024 * 1024


@pytest.fixture(scope="module")
def built():
    if not JUST.exists():
        pytest.fail(".venv/bin/just missing: run `just setup` (or .ci/run)")
    out = subprocess.run([str(JUST), "build-lambdas"], cwd=ROOT, capture_output=True, text=True,
                         timeout=3600, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, f"just build-lambdas failed:\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}"
    return ROOT / "target" / "lambda"


@pytest.mark.parametrize("function", ["poller", "guard", "seeder"])
def test_build_lambdas_makes_an_arm64_bootstrap_zip(built, function):
    path = built / function / "bootstrap.zip"
    assert path.is_file(), f"{path} was not produced"
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        assert [i.filename for i in infos] == ["bootstrap"], [i.filename for i in infos]
        info = infos[0]
        mode = info.external_attr >> 16
        assert mode & stat.S_IXUSR, f"bootstrap in {path} is not executable (mode {oct(mode)})"
        head = z.read("bootstrap")[:20]
    assert head[:4] == b"\x7fELF", f"bootstrap in {path} is not an ELF file"
    assert head[4] == 2, "not a 64-bit ELF"
    (machine,) = struct.unpack_from("<H", head, 18)
    assert machine == EM_AARCH64, f"bootstrap in {path} is for machine {machine}, not AArch64 ({EM_AARCH64})"
    size = path.stat().st_size
    print(f"{function}: {path.relative_to(ROOT)} {size:,} bytes zipped, {info.file_size:,} unzipped")
    assert size <= MAX_ZIP_BYTES, f"{path} is {size:,} bytes, over {MAX_ZIP_BYTES:,}"
