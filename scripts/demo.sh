#!/usr/bin/env bash
# The main job (`just demo`): the whole pipeline on this machine, end to end.
#
#   build → `sesload up` (background, ready file) → `sesload seed --count 10000` →
#   Artillery (artillery/run.sh local) above the simulated SES quota → `sesload stats
#   --wait-drained` (until nothing of the campaign is queued; the stack's reconciliation, saved)
#   → stop the stack (pending SES events written to the lake) → `sesload report` with those
#   counters: accepted = sent + DLQ + queued (+ duplicates skipped), nothing sent twice.
#
# Exit status: 0 when every accepted request was sent exactly once or dead-lettered with a
# reason (the report passes and the campaign drained); 1 when anything was lost, sent twice or
# left in the queue; 2 on a set-up failure.
#
# Settings (environment): SESLOAD_DATA_DIR (default .sesload/demo), SESLOAD_CAMPAIGN
# (default demo-<UTC time>), SESLOAD_RATE / SESLOAD_DURATION (Artillery, defaults in
# artillery/defaults.env), DEMO_CUSTOMERS (10000), DEMO_DRAIN_TIMEOUT (seconds, 600),
# SESLOAD_BIN (a prebuilt binary; otherwise `cargo build -p sesload`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 2; }

DATA_DIR="${SESLOAD_DATA_DIR:-$ROOT/.sesload/demo}"
CAMPAIGN="${SESLOAD_CAMPAIGN:-demo-$(date -u +%Y%m%dT%H%M%S)}"
CUSTOMERS="${DEMO_CUSTOMERS:-10000}"
DRAIN_TIMEOUT="${DEMO_DRAIN_TIMEOUT:-600}"
PY="$(command -v python3 || true)"
[[ -n "$PY" ]] || die "python3 is required to read the stack's JSON"
[[ "$CAMPAIGN" =~ ^[A-Za-z0-9_-]{1,256}$ ]] || die "SESLOAD_CAMPAIGN=\"$CAMPAIGN\" may only contain letters, digits, '_' and '-'"
mkdir -p "$DATA_DIR"

if [[ -n "${SESLOAD_BIN:-}" ]]; then
  BIN="$SESLOAD_BIN"
else
  # A debug build is plenty for the demo's rates and shares its build with `just test`.
  say "build"
  cargo build -p sesload >&2
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/sesload"
fi
[[ -x "$BIN" ]] || die "$BIN is not an executable"

READY="$DATA_DIR/ready.json"
LOG="$DATA_DIR/up.log"
rm -f "$READY"
say "start the local stack (log: $LOG)"
# The load's recipient mix (artillery/LoadTestFunction.js) is 6 % bounces and 2 % complaints on
# purpose, to exercise every SES event; the bounce and complaint guardrails would auto-pause such
# a campaign after its first 100 sends (as they should on a real list). The demo measures the
# pipeline, so it runs without them (`docs/operations.md`, "Guardrails").
"$BIN" up --data-dir "$DATA_DIR" --port 0 --ready-file "$READY" --set guardrail_enabled=false >"$LOG" 2>&1 &
UP_PID=$!
stop_stack() {
  if kill -0 "$UP_PID" 2>/dev/null; then
    kill -TERM "$UP_PID" 2>/dev/null || true
    for _ in $(seq 1 600); do kill -0 "$UP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$UP_PID" 2>/dev/null || true
  fi
  wait "$UP_PID" 2>/dev/null || true
}
trap stop_stack EXIT

for _ in $(seq 1 600); do
  [[ -s "$READY" ]] && break
  kill -0 "$UP_PID" 2>/dev/null || { cat "$LOG" >&2; die "sesload up exited during start-up"; }
  sleep 0.1
done
[[ -s "$READY" ]] || { cat "$LOG" >&2; die "sesload up was not ready after 60 s"; }
json() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$READY" "$1"; }
URL="$(json url)"; TARGET="$(json target)"; KEY="$(json api_key)"
sed -n '/sesload local stack is up/,/Ctrl-C/p' "$LOG" >&2 || true
# The SES operation the poller sends with (`send_api` in sesload.toml, or SESLOAD_SEND_API).
SEND_API="$(curl -fsS "$URL/_local/stats" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["info"]["config"]["send_api"])')" \
  || die "could not read send_api from $URL/_local/stats"
case "$SEND_API" in
  single) API_CALL="SendEmail, one email per call" ;;
  bulk) API_CALL="SendBulkEmail, up to 50 emails per call" ;;
  *) die "unexpected send_api \"$SEND_API\"" ;;
esac
echo "SES API: send_api=$SEND_API ($API_CALL)" >&2

say "seed $CUSTOMERS customers"
"$BIN" seed --count "$CUSTOMERS" --data-dir "$DATA_DIR"

say "load: campaign $CAMPAIGN"
ARTILLERY_OUT="$DATA_DIR/artillery-$CAMPAIGN.json"
if [[ -x artillery/node_modules/.bin/artillery && -x artillery/run.sh ]]; then
  # Artillery's own pass/fail (ensure thresholds) is reported but does not stop the demo:
  # the reconciliation below is what decides.
  set +e
  SESLOAD_TARGET="$TARGET" SESLOAD_API_KEY="$KEY" SESLOAD_CAMPAIGN="$CAMPAIGN" \
    SESLOAD_CUSTOMERS="$CUSTOMERS" artillery/run.sh local --output "$ARTILLERY_OUT" >&2
  ART_RC=$?
  set -e
  echo "artillery exit status: $ART_RC (report: $ARTILLERY_OUT)" >&2
else
  echo "artillery/node_modules is missing (run 'just setup'); using the built-in load generator" >&2
  "$BIN" bench ingest --target "$URL" --api-key "$KEY" --campaign "$CAMPAIGN" \
    --rate "${SESLOAD_RATE:-60}" --duration "${SESLOAD_DURATION:-60}" --customers "$CUSTOMERS" >&2
fi

say "wait until campaign $CAMPAIGN has drained (timeout ${DRAIN_TIMEOUT}s)"
STATS="$DATA_DIR/stats-$CAMPAIGN.json"
DRAINED=0
"$BIN" stats --url "$URL" --campaign "$CAMPAIGN" --wait-drained --timeout "$DRAIN_TIMEOUT" \
  --out "$STATS" || DRAINED=$?
kill -0 "$UP_PID" 2>/dev/null || die "sesload up died (see $LOG)"
[[ -s "$STATS" ]] || die "no stats from the stack at $URL"
curl -fsS "$URL/metrics" -o "$DATA_DIR/metrics-$CAMPAIGN.txt" || true

say "stop the stack (pending SES events are written to the lake)"
stop_stack
trap - EXIT

say "sesload report --campaign $CAMPAIGN"
# The verdict: the report reconciles the stack's counters (saved at drain time) with the lake.
RC=0
"$BIN" report --campaign "$CAMPAIGN" --data-dir "$DATA_DIR" --counters "$STATS" || RC=$?
if [[ "$DRAINED" != 0 ]]; then
  echo "demo: campaign $CAMPAIGN still had queued messages after ${DRAIN_TIMEOUT}s" >&2
  RC=1
fi
echo >&2
echo "dashboard was at $URL/dashboard; data: $DATA_DIR (lake: $DATA_DIR/lake)" >&2
echo "SES API used: send_api=$SEND_API ($API_CALL)" >&2
if [[ "$RC" == 0 ]]; then
  echo "RESULT: OK — every accepted request was sent once or dead-lettered with a reason" >&2
else
  echo "RESULT: FAILED — lost, duplicated or still queued messages (see above)" >&2
fi
exit "$RC"
