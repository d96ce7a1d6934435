#!/usr/bin/env bash
# Run LoadTest.yaml with the project's pinned Artillery (artillery/node_modules, `just setup`).
#
#   artillery/run.sh local [artillery run flags...]         against `sesload up`
#   artillery/run.sh aws   [artillery run-lambda flags...]  on Lambda workers against API Gateway
#
# Every SESLOAD_* setting not set in the environment takes its value from defaults.env.
# local: target SESLOAD_TARGET (default SESLOAD_LOCAL_TARGET), key SESLOAD_API_KEY, else the
#        file <data dir>/api_key written by the local stack (SESLOAD_DATA_DIR, default .sesload).
# aws:   target and key from `terraform output -raw api_invoke_url|api_key_value` in SESLOAD_TF_DIR
#        (default terraform/) unless SESLOAD_TARGET / SESLOAD_API_KEY are set, and likewise the
#        template and configuration set (outputs template_name, configuration_set_name) unless
#        SESLOAD_TEMPLATE / SESLOAD_CONFIG_SET are set; Lambda workers run
#        in AWS_REGION, else AWS_DEFAULT_REGION, else the API's region (from its URL).
# The campaign tag is SESLOAD_CAMPAIGN, default <environment>-<UTC time>, printed at start.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"

die() { printf 'artillery/run.sh: error: %s\n' "$*" >&2; exit 2; }

mode="${1:-}"
[[ "$mode" == local || "$mode" == aws ]] || die "first argument must be 'local' or 'aws' (got '${mode}')"
shift

# SESLOAD_ARTILLERY_BIN: another artillery executable (the tests use a recording fake).
ARTILLERY="${SESLOAD_ARTILLERY_BIN:-$HERE/node_modules/.bin/artillery}"
[[ -x "$ARTILLERY" ]] || die "$ARTILLERY is missing: run 'just setup' (npm ci in artillery/)"

# Defaults for unset variables (an empty value counts as set).
# What the caller set explicitly (before the defaults fill in): on AWS the template and
# configuration set otherwise come from the deployment (`terraform output`).
caller_template="${SESLOAD_TEMPLATE:-}"
caller_config_set="${SESLOAD_CONFIG_SET:-}"
while IFS= read -r line || [[ -n "$line" ]]; do
  [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
  [[ "$line" =~ ^([A-Z_][A-Z0-9_]*)=(.*)$ ]] || die "defaults.env: cannot parse line: $line"
  name="${BASH_REMATCH[1]}"
  value="${BASH_REMATCH[2]}"
  if [[ -z "${!name+x}" ]]; then export "$name=$value"; fi
done < "$HERE/defaults.env"

for n in SESLOAD_WARMUP_DURATION SESLOAD_WARMUP_RATE SESLOAD_RATE SESLOAD_DURATION SESLOAD_P99_MS SESLOAD_HTTP_TIMEOUT; do
  [[ "${!n}" =~ ^[0-9]+$ ]] || die "$n=\"${!n}\" is not a whole number"
done
[[ "$SESLOAD_MAX_ERROR_RATE" =~ ^[0-9]+(\.[0-9]+)?$ ]] \
  || die "SESLOAD_MAX_ERROR_RATE=\"$SESLOAD_MAX_ERROR_RATE\" is not a percentage"
(( SESLOAD_RATE > 0 )) || die "SESLOAD_RATE must be > 0"
(( SESLOAD_DURATION > 0 )) || die "SESLOAD_DURATION must be > 0"
if (( SESLOAD_WARMUP_DURATION == 0 )); then
  # Artillery rejects a 0 s phase: fold the warm-up into the main phase instead.
  SESLOAD_WARMUP_DURATION=1
  SESLOAD_WARMUP_RATE="$SESLOAD_RATE"
fi

export SESLOAD_CAMPAIGN="${SESLOAD_CAMPAIGN:-$mode-$(date -u +%Y%m%dT%H%M%S)}"
[[ "$SESLOAD_CAMPAIGN" =~ ^[A-Za-z0-9_-]{1,256}$ ]] \
  || die "SESLOAD_CAMPAIGN=\"$SESLOAD_CAMPAIGN\" may only contain letters, digits, '_' and '-'"

# No telemetry: the preload answers Artillery's PostHog client (see telemetry-stub.cjs).
export ARTILLERY_DISABLE_TELEMETRY=true
export NODE_OPTIONS="--require $HERE/telemetry-stub.cjs${NODE_OPTIONS:+ $NODE_OPTIONS}"

cd "$HERE"
[[ -z "${SESLOAD_TARGET:-}" ]] || export SESLOAD_TARGET="${SESLOAD_TARGET%/}"
# Check the generator's settings (SESLOAD_MIX, SESLOAD_CUSTOMERS...) before any request is sent.
node -e '
  try { require("./LoadTestFunction.js").loadConfig(process.env); }
  catch (e) { console.error("artillery/run.sh: error: " + e.message); process.exit(2); }
'
case "$mode" in
  local)
    export SESLOAD_TARGET="${SESLOAD_TARGET:-$SESLOAD_LOCAL_TARGET}"
    if [[ -z "${SESLOAD_API_KEY:-}" ]]; then
      keyfile="${SESLOAD_DATA_DIR:-$ROOT/.sesload}/api_key"
      [[ -r "$keyfile" ]] || die "set SESLOAD_API_KEY (the key 'sesload up' prints); $keyfile not found"
      SESLOAD_API_KEY="$(tr -d '[:space:]' < "$keyfile")"
    fi
    export SESLOAD_API_KEY
    echo "artillery: campaign $SESLOAD_CAMPAIGN -> $SESLOAD_TARGET/events at $SESLOAD_RATE/s for ${SESLOAD_DURATION}s" >&2
    exec "$ARTILLERY" run --environment local "$@" LoadTest.yaml
    ;;
  aws)
    tf=(terraform -chdir="${SESLOAD_TF_DIR:-$ROOT/terraform}")
    # `terraform output` exits 0 with a warning when there is no state: check the values.
    if [[ -z "${SESLOAD_TARGET:-}" ]]; then
      SESLOAD_TARGET="$("${tf[@]}" output -raw api_invoke_url 2>/dev/null || true)"
      [[ "$SESLOAD_TARGET" =~ ^https?:// ]] \
        || die "no target: set SESLOAD_TARGET or apply ${SESLOAD_TF_DIR:-terraform/} (output api_invoke_url)"
    fi
    if [[ -z "${SESLOAD_API_KEY:-}" ]]; then
      SESLOAD_API_KEY="$("${tf[@]}" output -raw api_key_value 2>/dev/null || true)"
      [[ -n "$SESLOAD_API_KEY" ]] \
        || die "no key: set SESLOAD_API_KEY or apply ${SESLOAD_TF_DIR:-terraform/} (output api_key_value)"
    fi
    export SESLOAD_TARGET="${SESLOAD_TARGET%/}" SESLOAD_API_KEY
    # The deployment's names derive from its name_prefix: use them unless the caller chose.
    if [[ -z "$caller_template" ]]; then
      v="$("${tf[@]}" output -raw template_name 2>/dev/null || true)"
      [[ "$v" =~ ^[A-Za-z0-9_-]+$ ]] && SESLOAD_TEMPLATE="$v"
    fi
    if [[ -z "$caller_config_set" ]]; then
      v="$("${tf[@]}" output -raw configuration_set_name 2>/dev/null || true)"
      [[ "$v" =~ ^[A-Za-z0-9_-]+$ ]] && SESLOAD_CONFIG_SET="$v"
    fi
    export SESLOAD_TEMPLATE SESLOAD_CONFIG_SET
    # Region: AWS_REGION, else AWS_DEFAULT_REGION, else the one in the execute-api URL.
    region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
    if [[ -z "$region" && "$SESLOAD_TARGET" =~ \.execute-api\.([a-z0-9-]+)\.amazonaws\.com ]]; then
      region="${BASH_REMATCH[1]}"
    fi
    region="${region:-us-east-1}"
    # Lambda workers do not see this shell's environment: ship the settings as a dotenv file
    # (Artillery packages it with the test and loads it in every worker).
    envfile="$HERE/.run-lambda.env"
    trap 'rm -f "$envfile"' EXIT
    (umask 077 && env | grep -E '^SESLOAD_[A-Z0-9_]+=' | sort > "$envfile")
    echo "artillery run-lambda: campaign $SESLOAD_CAMPAIGN -> $SESLOAD_TARGET/events ($region), template $SESLOAD_TEMPLATE, configuration set $SESLOAD_CONFIG_SET" >&2
    "$ARTILLERY" run-lambda --region "$region" --environment aws --dotenv "$envfile" "$@" LoadTest.yaml
    ;;
esac
