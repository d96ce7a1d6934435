# sesload task runner. `just --list` explains every recipe; `just setup` installs the tools.
# Tool versions are pinned in files, not here: rust-toolchain.toml, requirements.txt
# (+ requirements.lock.txt), artillery/package-lock.json.

set shell := ["bash", "-euo", "pipefail", "-c"]
# Recipe arguments reach the commands as "$@", quoted as given.
set positional-arguments := true

root := justfile_directory()
venv := root / ".venv"
target_dir := env("CARGO_TARGET_DIR", root / "target")
sesload_bin := env("SESLOAD_BIN", target_dir / "debug" / "sesload")


# Show the recipes.
default:
    @just --list --unsorted

# Install the project's tools (pinned) into .venv, artillery/node_modules, the rustup aarch64 target and chromium. Idempotent.
setup:
    scripts/setup.sh

# Build every crate of the workspace (debug).
build:
    cargo build --workspace

# Build the poller and seeder Lambdas for arm64 (provided.al2023) as target/lambda/<name>/bootstrap.zip.
build-lambdas: setup
    PATH="{{ venv }}/bin:$PATH" cargo lambda build --release --arm64 --output-format zip \
        --lambda-dir "{{ root }}/target/lambda" -p poller -p seeder
    @ls -l "{{ root }}/target/lambda/poller/bootstrap.zip" "{{ root }}/target/lambda/seeder/bootstrap.zip"

# Run every test: Rust, Python (tests/), Terraform, Artillery generator; then the lints.
test: setup
    cargo test --workspace
    cargo build -p sesload
    {{ just_executable() }} test-py
    if [ -x terraform/test.sh ]; then terraform/test.sh; else echo "terraform/test.sh not present: skipped"; fi
    {{ just_executable() }} test-js
    {{ just_executable() }} lint

# Python tests under tests/ (pytest; extra arguments are passed on, e.g. `just test-py -k artillery`).
test-py *args:
    #!/usr/bin/env bash
    set -euo pipefail
    cd "{{ root }}"
    if [ ! -d tests ]; then echo "no tests/ directory: skipped"; exit 0; fi
    export SESLOAD_BIN="{{ sesload_bin }}"
    rc=0
    "{{ venv }}/bin/pytest" tests "$@" || rc=$?
    # 5 = no tests collected: not a failure while areas are still empty.
    if [ "$rc" -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi
    exit "$rc"

# Unit tests of the Artillery generator (node's built-in test runner).
test-js:
    cd "{{ root }}/artillery" && node --test test/

# Format Rust and Terraform sources in place.
fmt:
    cargo fmt --all
    if command -v terraform >/dev/null; then terraform fmt -recursive terraform; fi

# Check formatting and lints: cargo fmt --check, clippy -D warnings, terraform fmt -check.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
    if command -v terraform >/dev/null; then terraform fmt -check -recursive -diff terraform; else echo "terraform not found: terraform fmt -check skipped"; fi

# The main job: start the local stack, seed, run Artillery against it, reconcile, report, stop.
demo *args: setup
    #!/usr/bin/env bash
    set -euo pipefail
    cd "{{ root }}"
    if [ ! -x scripts/demo.sh ]; then echo "scripts/demo.sh is not there yet" >&2; exit 1; fi
    exec scripts/demo.sh "$@"

# Start the whole pipeline on this machine in the foreground (extra arguments go to `sesload up`).
up *args:
    cargo build -p sesload
    "{{ sesload_bin }}" up "$@"

# Run the benchmark scenarios (release build) and print one table of their figures.
bench:
    #!/usr/bin/env bash
    set -euo pipefail
    cd "{{ root }}"
    cargo build --release -p sesload
    bin="{{ target_dir }}/release/sesload"
    out="$(mktemp -d)"
    trap 'rm -rf "$out"' EXIT
    for s in poller cold-start ingest e2e quota; do
        echo "bench: $s ..." >&2
        if ! "$bin" bench "$s" --json > "$out/$s.json" 2> "$out/$s.err"; then
            echo "{\"error\": $(tail -n 3 "$out/$s.err" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read().strip()))')}" > "$out/$s.json"
        fi
    done
    python3 - "$out" <<'EOF'
    import json, pathlib, sys
    rows = []
    for s in ["poller", "cold-start", "ingest", "e2e", "quota"]:
        p = pathlib.Path(sys.argv[1]) / f"{s}.json"
        try:
            data = json.loads(p.read_text() or "{}")
        except json.JSONDecodeError as e:
            data = {"error": f"bad JSON from sesload bench {s}: {e}"}
        if not isinstance(data, dict):
            data = {"value": data}
        for k, v in data.items():
            if isinstance(v, float):
                v = f"{v:.3f}".rstrip("0").rstrip(".")
            elif isinstance(v, (dict, list)):
                v = json.dumps(v)
            rows.append((s, k, str(v)))
    w = [max(len(r[i]) for r in rows + [("scenario", "metric", "value")]) for i in range(3)]
    print(f"{'scenario':<{w[0]}}  {'metric':<{w[1]}}  value")
    print(f"{'-' * w[0]}  {'-' * w[1]}  {'-' * w[2]}")
    for s, k, v in rows:
        print(f"{s:<{w[0]}}  {k:<{w[1]}}  {v}")
    failed = [s for s, k, _ in rows if k == "error"]
    sys.exit(1 if failed else 0)
    EOF

# Artillery against the local stack (`just up` in another shell); settings: SESLOAD_* env, defaults in artillery/defaults.env.
load-local *args:
    artillery/run.sh local "$@"

# Artillery on AWS Lambda workers (`artillery run-lambda`, environment aws); target and key from `terraform output`.
load-aws *args:
    artillery/run.sh aws "$@"

# Regenerate requirements.lock.txt from the current .venv (after changing requirements.txt).
freeze:
    ( echo '# Generated by `just freeze` from .venv: every package (transitive included) at the version'; \
      echo '# the project was tested with. Used as a pip constraints file by scripts/setup.sh.'; \
      "{{ venv }}/bin/pip" freeze --exclude-editable ) > requirements.lock.txt

# Remove build output and local run data (.sesload, reports, target); keeps .venv and node_modules.
clean:
    cargo clean
    rm -rf .sesload reports artillery/reports

# Remove also the installed tools (.venv, artillery/node_modules): the next `just setup` reinstalls them.
clean-all: clean
    rm -rf .venv artillery/node_modules
