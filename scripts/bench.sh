#!/usr/bin/env bash
# Run every `sesload bench <scenario> --json` (release build) and print one table of each
# scenario's key figures beside its target (targets from the poller, local-stack and proof issues).
#
#   scripts/bench.sh                      all scenarios: sim sim-5k poller cold-start ingest e2e quota
#                                         quota-1 quota-2 quota-5 quota-14
#                                         e2e-bulk quota-bulk-14 quota-bulk-200
#                                         (sim-5k = `bench sim --latency-ms 50 --in-flight 5000
#                                         --client raw`: the simulator's memory with 5,000 connections;
#                                         quota-R = `bench quota --max-send-rate R --batch-size 20
#                                         --messages 45R`: a low quota with the Terraform default batch,
#                                         two instances, about 45 s each; the quota-R scenarios are
#                                         paced, not CPU-bound, so they run at the same time, after
#                                         the others; e2e-bulk = `bench e2e --send-api bulk` (batch 500);
#                                         quota-bulk-N = `bench quota --send-api bulk
#                                         --max-send-rate N`, 14 with a backlog of 1,400 in batches
#                                         of 100)
#   scripts/bench.sh poller quota         some of them
#   SESLOAD_BENCH_BIN=/path/to/sesload    use this binary instead of building one
#   SESLOAD_BENCH_JSON=out.json           also write {scenario: result} there
#   SESLOAD_BENCH_STRICT=0                only report missed targets (exploration); the default,
#                                         SESLOAD_BENCH_STRICT=1, fails on them
#
# Exit status: 1 if a scenario failed to run (non-zero exit or no JSON object on stdout) or a
# figure missed its target (unless SESLOAD_BENCH_STRICT=0); 2 on bad usage; 0 otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

STRICT="${SESLOAD_BENCH_STRICT:-1}"
case "$STRICT" in
  0|1) ;;
  *) echo "bench.sh: SESLOAD_BENCH_STRICT must be 0 (only report missed targets) or 1 (fail on them), got '$STRICT'" >&2; exit 2 ;;
esac

ALL=(sim sim-5k poller cold-start ingest e2e e2e-bulk quota quota-bulk-14 quota-bulk-200 quota-1 quota-2 quota-5 quota-14)
if [ "$#" -gt 0 ]; then SCENARIOS=("$@"); else SCENARIOS=("${ALL[@]}"); fi
for s in "${SCENARIOS[@]}"; do
  case " ${ALL[*]} " in *" $s "*) ;; *) echo "bench.sh: unknown scenario '$s' (known: ${ALL[*]})" >&2; exit 2 ;; esac
done

if [ -n "${SESLOAD_BENCH_BIN:-}" ]; then
  BIN="$SESLOAD_BENCH_BIN"
else
  TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
  echo "bench.sh: cargo build --release -p sesload -p poller" >&2
  cargo build --release -p sesload -p poller >&2
  BIN="$TARGET_DIR/release/sesload"
fi
[ -x "$BIN" ] || { echo "bench.sh: $BIN is not an executable" >&2; exit 1; }

PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || PY="$(command -v python3)"

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

# Run one scenario; its outcome goes to $OUT/<scenario>.{json,err,status,seconds}.
run_scenario() {
  local s="$1" cmd start
  case "$s" in
    sim-5k) cmd=(sim --latency-ms 50 --in-flight 5000 --client raw) ;;
    e2e-bulk) cmd=(e2e --send-api bulk) ;;
    quota-bulk-14) cmd=(quota --send-api bulk --max-send-rate 14 --messages 1400 --batch-size 100) ;;
    quota-bulk-200) cmd=(quota --send-api bulk --max-send-rate 200) ;;
    quota-[0-9]*) cmd=(quota --max-send-rate "${s#quota-}" --batch-size 20 --messages "$((45 * ${s#quota-}))") ;;
    *) cmd=("$s") ;;
  esac
  echo "bench.sh: sesload bench ${cmd[*]} --json" >&2
  start=$(date +%s.%N)
  if "$BIN" bench "${cmd[@]}" --json >"$OUT/$s.json" 2>"$OUT/$s.err"; then
    echo "ok" >"$OUT/$s.status"
  else
    echo "exit $?" >"$OUT/$s.status"
    echo "bench.sh: scenario $s failed; its stderr:" >&2
    tail -n 20 "$OUT/$s.err" >&2 || true
  fi
  awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }' >"$OUT/$s.seconds"
}

# The CPU-bound scenarios one after the other; then the low-quota ones together.
for s in "${SCENARIOS[@]}"; do
  case "$s" in quota-[0-9]*) ;; *) run_scenario "$s" ;; esac
done
for s in "${SCENARIOS[@]}"; do
  case "$s" in quota-[0-9]*) run_scenario "$s" & ;; esac
done
wait
failed=0
for s in "${SCENARIOS[@]}"; do
  [ "$(cat "$OUT/$s.status")" = ok ] || failed=1
done

set +e
"$PY" - "$OUT" "${SCENARIOS[@]}" <<'PY'
import json, os, sys

out, scenarios = sys.argv[1], sys.argv[2:]
# scenario -> [(key, comparison, target)]; comparison ">=" or "<=" or "==", None = report only.
TARGETS = {
    "sim": [("calls_per_s", ">=", 10_000), ("p99_ms", None, None), ("sim_cpu_us_per_call", None, None),
            ("client_cpu_us_per_call", None, None)],
    "sim-5k": [("calls_per_s", None, None), ("sim_peak_in_flight", None, None),
               ("sim_peak_rss_mb", "<=", 100)],
    "poller": [("concurrent_emails_per_s", ">=", 300), ("sequential_emails_per_s", None, None),
               ("ratio", ">=", 15), ("bulk_emails_per_s", ">=", 1_500), ("bulk_ratio", ">=", 4),
               ("single_cpu_us_per_email", None, None), ("bulk_cpu_us_per_email", None, None),
               ("bulk_cpu_share", "<=", 0.334)],
    "cold-start": [("init_ms", "<=", 20), ("rss_mb", "<=", 32)],
    "ingest": [("requests_per_s", ">=", 10_000), ("p50_ms", None, None), ("p99_ms", "<=", 10)],
    "e2e": [("emails_per_s", ">=", 3_000)],
    "e2e-bulk": [("emails_per_s", ">=", 10_000), ("dlq", "==", 0), ("queued", "==", 0),
                 ("duplicates", "==", 0), ("lost", "==", 0)],
    "quota": [("achieved_rate", None, None), ("utilisation", ">=", 0.97), ("throttled_ratio", "<=", 0.01),
              ("invocation_timeouts", "==", 0), ("dlq", "==", 0), ("duplicates", "==", 0), ("lost", "==", 0)],
}
TARGETS["quota-bulk-14"] = TARGETS["quota-bulk-200"] = TARGETS["quota"]
# A low quota (the sandbox's 1/s up to the production default 14/s) with batch 20 and two instances.
for rate in (1, 2, 5, 14):
    TARGETS[f"quota-{rate}"] = [("achieved_rate", None, None), ("utilisation", ">=", 0.95),
                                ("throttled_ratio", "<=", 0.01), ("invocation_timeouts", "==", 0),
                                ("dlq", "==", 0), ("duplicates", "==", 0), ("lost", "==", 0)]

def fmt(v):
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)

rows, results, run_failed, missed = [], {}, False, False
for s in scenarios:
    status = open(os.path.join(out, s + ".status")).read().strip()
    secs = open(os.path.join(out, s + ".seconds")).read().strip()
    text = open(os.path.join(out, s + ".json")).read().strip()
    data = None
    if status == "ok":
        try:
            data = json.loads(text.splitlines()[-1] if text else "")
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except ValueError:
            try:
                data = json.loads(text)
            except ValueError:
                data = None
        if not isinstance(data, dict):
            status = "no JSON object on stdout"
    if data is None:
        run_failed = True
        rows.append((s, "-", "FAILED", "", status, secs))
        continue
    results[s] = data
    keys = TARGETS.get(s, [])
    shown = {k for k, _, _ in keys}
    # Scenarios without declared figures show their numeric top-level keys.
    extra = [(k, None, None) for k, v in data.items()
             if k not in shown and isinstance(v, (int, float)) and not isinstance(v, bool) and not keys]
    for k, cmp, target in keys + extra:
        if k not in data:
            run_failed = True
            rows.append((s, k, "MISSING", "", "key absent", secs))
            continue
        v = data[k]
        verdict, tgt = "", ""
        if cmp is not None:
            tgt = f"{cmp} {fmt(target)}"
            ok = {">=": v >= target, "<=": v <= target, "==": v == target}[cmp]
            verdict = "ok" if ok else "MISS"
            missed |= not ok
        rows.append((s, k, fmt(v), tgt, verdict, secs))
        secs = ""

header = ("scenario", "figure", "value", "target", "", "seconds")
widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
line = lambda r: "  ".join(str(c).rjust(w) if i in (2, 5) else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
print(line(header).rstrip())
print("  ".join("-" * w for w in widths))
prev = None
for r in rows:
    print(line(r if r[0] != prev else ("",) + r[1:]).rstrip())
    prev = r[0]
if os.environ.get("SESLOAD_BENCH_JSON"):
    with open(os.environ["SESLOAD_BENCH_JSON"], "w") as f:
        json.dump(results, f, indent=2)
if run_failed:
    sys.exit(1)
if missed:
    sys.exit(3)
PY
rc=$?
set -e
if [ "$failed" -ne 0 ] || [ "$rc" -eq 1 ]; then
  echo "bench.sh: at least one scenario failed to run" >&2
  exit 1
fi
if [ "$rc" -eq 3 ]; then
  if [ "$STRICT" = 0 ]; then
    echo "bench.sh: at least one figure missed its target (MISS above); not failing: SESLOAD_BENCH_STRICT=0" >&2
    exit 0
  fi
  echo "bench.sh: at least one figure missed its target (MISS above); SESLOAD_BENCH_STRICT=0 only reports" >&2
  exit 1
fi
exit "$rc"
