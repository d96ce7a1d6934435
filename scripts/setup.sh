#!/usr/bin/env bash
# Install the project's tools into project-local places. Idempotent: a second run only checks
# stamps and returns in about a second.
#
#   .venv/                      Python 3.11 venv from requirements.txt (+ requirements.lock.txt)
#   artillery/node_modules/     `npm ci` from artillery/package-lock.json
#   rustup target               aarch64-unknown-linux-gnu (for `just build-lambdas`)
#   /usr/bin/chromium           Debian's chromium, for the dashboard browser test (root only)
#
# Environment:
#   SESLOAD_SETUP_SKIP=venv,npm,rust,chromium   skip some steps (comma-separated)
#   SESLOAD_PYTHON=/path/to/python3.11          interpreter for the venv (default: python3.11, python3)
#   CI=true                                     a missing prerequisite is an error, not a warning
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SKIP=",${SESLOAD_SETUP_SKIP:-},"
CI="${CI:-false}"

log() { printf '\033[1;34msetup:\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33msetup: warning:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31msetup: error:\033[0m %s\n' "$*" >&2; exit 1; }
skipped() { [[ "$SKIP" == *",$1,"* ]]; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# Fingerprint of the files that define an installed set (stored next to the installed set).
fingerprint() { cat "$@" | sha256sum | cut -d' ' -f1; }

# ---------------------------------------------------------------------------- python venv
setup_venv() {
  local t0 want have py
  t0="$(now)"
  want="$(fingerprint requirements.txt requirements.lock.txt)"
  have="$(cat .venv/.sesload-stamp 2>/dev/null || true)"
  if [[ -x .venv/bin/python && "$want" == "$have" ]]; then
    log "venv: up to date (.venv)"
    return
  fi
  if [[ ! -x .venv/bin/python ]]; then
    py="${SESLOAD_PYTHON:-}"
    if [[ -z "$py" ]]; then
      for c in python3.11 python3; do
        if command -v "$c" >/dev/null 2>&1; then py="$(command -v "$c")"; break; fi
      done
    fi
    [[ -n "$py" ]] || die "no python3 found: install Python 3.11 (or set SESLOAD_PYTHON)"
    "$py" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else 1)' \
      || die "$py is $("$py" --version 2>&1); Python >= 3.11 is required (set SESLOAD_PYTHON)"
    log "venv: creating .venv with $py ($("$py" --version 2>&1))"
    "$py" -m venv .venv
  fi
  log "venv: installing requirements.txt (constrained by requirements.lock.txt)"
  .venv/bin/python -m pip install --disable-pip-version-check --quiet \
    -r requirements.txt -c requirements.lock.txt
  echo "$want" > .venv/.sesload-stamp
  log "venv: done in $(elapsed "$t0")"
}

# ---------------------------------------------------------------------------- npm (artillery)
setup_npm() {
  local t0 want have
  t0="$(now)"
  command -v npm >/dev/null 2>&1 || {
    if [[ "$CI" == "true" ]]; then die "npm not found: install Node.js 20"; fi
    warn "npm not found: install Node.js 20 to run the Artillery load tests; skipping"
    return
  }
  want="$(fingerprint artillery/package-lock.json)"
  have="$(cat artillery/node_modules/.sesload-stamp 2>/dev/null || true)"
  if [[ "$want" == "$have" ]]; then
    log "npm: up to date (artillery/node_modules)"
    return
  fi
  log "npm: npm ci in artillery/ (about a minute the first time)"
  # Playwright (an Artillery dependency) would download a browser: not wanted, and not possible
  # without internet. Artillery's telemetry is disabled and stubbed at run time (see justfile).
  (cd artillery && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 ARTILLERY_DISABLE_TELEMETRY=true \
    npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" > artillery/node_modules/.sesload-stamp
  log "npm: done in $(elapsed "$t0")"
}

# ---------------------------------------------------------------------------- rust target
setup_rust() {
  local t0
  t0="$(now)"
  if ! command -v rustup >/dev/null 2>&1; then
    if [[ "$CI" == "true" ]]; then die "rustup not found: install Rust with rustup"; fi
    warn "rustup not found: install Rust with rustup (https://rustup.rs); skipping"
    return
  fi
  # rust-toolchain.toml pins the toolchain; `rustup target list` in this directory answers for it
  # (and installs the pinned toolchain on first use).
  if rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    log "rust: aarch64-unknown-linux-gnu target present"
    return
  fi
  log "rust: rustup target add aarch64-unknown-linux-gnu"
  rustup target add aarch64-unknown-linux-gnu
  log "rust: done in $(elapsed "$t0")"
}

# ---------------------------------------------------------------------------- chromium
setup_chromium() {
  local t0
  t0="$(now)"
  if [[ -x /usr/bin/chromium ]]; then
    log "chromium: present (/usr/bin/chromium)"
    return
  fi
  local sudo=""
  if [[ "$(id -u)" != 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo -n"
    else
      warn "/usr/bin/chromium missing and not root: run 'sudo apt-get install -y chromium' for the dashboard browser test"
      return
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    warn "/usr/bin/chromium missing and no apt-get: install Chromium for the dashboard browser test"
    return
  fi
  log "chromium: apt-get install -y chromium"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  log "chromium: done in $(elapsed "$t0")"
}

# ---------------------------------------------------------------------------- checks only
check_others() {
  command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup (https://rustup.rs)"
  if ! command -v terraform >/dev/null 2>&1; then
    warn "terraform not found: the Terraform tests (terraform/test.sh) need terraform >= 1.11"
  fi
  if command -v node >/dev/null 2>&1; then
    local major
    major="$(node -p 'process.versions.node.split(".")[0]')"
    if (( major < 20 )); then warn "node $(node --version) found; Node.js >= 20 is required for Artillery"; fi
  fi
}

T0="$(now)"
check_others
skipped venv || setup_venv
skipped npm || setup_npm
skipped rust || setup_rust
skipped chromium || setup_chromium
log "all set in $(elapsed "$T0")"
