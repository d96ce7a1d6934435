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
    @{{ just_executable() }} --list --unsorted

# Install the project's tools (pinned) into .venv, artillery/node_modules, the rustup aarch64 target and chromium. Idempotent.
setup:
    scripts/setup.sh

# Build every crate of the workspace (debug).
build:
    cargo build --workspace

# Build the poller, guard and seeder Lambdas for arm64 (provided.al2023) as target/lambda/<name>/bootstrap.zip.
build-lambdas: setup
    PATH="{{ venv }}/bin:$PATH" cargo lambda build --release --arm64 --output-format zip \
        --lambda-dir "{{ root }}/target/lambda" -p poller -p guard -p seeder
    @ls -l "{{ root }}/target/lambda/poller/bootstrap.zip" "{{ root }}/target/lambda/guard/bootstrap.zip" "{{ root }}/target/lambda/seeder/bootstrap.zip"

# Run every test: Rust, Python (tests/), Terraform, Artillery generator, then the lints; every stage runs, failures are summed up at the end (CI=true: a skipped test or stage fails).
test: setup
    #!/usr/bin/env bash
    set -uo pipefail
    cd "{{ root }}"
    just="{{ just_executable() }}"
    failed=()
    summary=()
    stage() {
        local name="$1"; shift
        local t0=$SECONDS
        printf '\n\033[1;34m==> %s\033[0m\n' "$name"
        if "$@"; then summary+=("ok    $(( SECONDS - t0 ))s  $name")
        else summary+=("FAIL  $(( SECONDS - t0 ))s  $name"); failed+=("$name"); fi
    }
    # One build of every target (the sesload binary for the Python tests included) with the same
    # feature set `cargo test` uses, so the test run reuses it instead of compiling again.
    stage "cargo build --workspace --all-targets" cargo build --workspace --all-targets
    stage "cargo test --workspace" cargo test --workspace
    stage "pytest tests" "$just" test-py
    # Terraform is the one optional tool (README): without it the stage is skipped visibly,
    # and with CI=true that is a failure.
    if command -v terraform >/dev/null; then stage "terraform/test.sh" bash terraform/test.sh
    elif [ "${CI:-}" = true ]; then summary+=("FAIL  0s  terraform/test.sh: terraform not on PATH (CI=true)"); failed+=("terraform/test.sh")
    else summary+=("skip  0s  terraform/test.sh: terraform not on PATH (optional tool; CI=true fails here)"); fi
    stage "node --test artillery/test/" "$just" test-js
    stage "lint" "$just" lint
    printf '\n\033[1m== just test summary\033[0m\n'
    printf '  %s\n' "${summary[@]}"
    if [ "${#failed[@]}" -gt 0 ]; then echo "just test: ${#failed[@]} stage(s) failed" >&2; exit 1; fi

# Python tests: one pytest session over tests/ (needs `cargo build -p sesload`); arguments go to pytest, e.g. `just test-py tests/local` or `just test-py -k kill9`. No test collected is a failure; CI=true: a skipped test too.
test-py *args:
    #!/usr/bin/env bash
    set -uo pipefail
    cd "{{ root }}"
    export SESLOAD_BIN="{{ sesload_bin }}"
    # Without a path among the arguments, the session covers all of tests/.
    paths=0
    for a in "$@"; do
        case "$a" in tests|tests/*|./tests|./tests/*|"{{ root }}/tests"|"{{ root }}/tests/"*) paths=1 ;; esac
    done
    [ "$paths" -eq 1 ] || set -- tests "$@"
    rc=0
    "{{ venv }}/bin/pytest" "$@" || rc=$?
    if [ "$rc" -eq 5 ]; then echo "just test-py: no test collected (pytest exit 5) for: $*" >&2; exit 1; fi
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

# Run the `sesload bench` scenarios (release build), print one table beside the targets and fail on a missed target (SESLOAD_BENCH_STRICT=0: only report); scenario names as arguments.
bench *args:
    scripts/bench.sh "$@"

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
