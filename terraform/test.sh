#!/usr/bin/env bash
# Offline checks of the Terraform stack (called by `just test`):
#   fmt -check, init -backend=false + validate, terraform test (mock provider), checkov.
# Uses a local filesystem mirror of hashicorp/aws when the machine has one (no registry access
# needed); otherwise terraform installs the provider from the registry as usual.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$here"

command -v terraform >/dev/null || { echo "terraform/test.sh: terraform is not on PATH" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/sesload-tf.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# --- provider installation ---------------------------------------------------------------
mirror=""
for candidate in ${SESLOAD_TF_MIRROR:-} /opt/tf-plugins "$HOME/.terraform.d/plugins" \
  /usr/local/share/terraform/plugins /usr/share/terraform/plugins; do
  if [ -d "$candidate/registry.terraform.io/hashicorp/aws" ]; then
    mirror="$candidate"
    break
  fi
done
if [ -n "$mirror" ]; then
  cat >"$work/cli.tfrc" <<CFG
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }
}
CFG
  export TF_CLI_CONFIG_FILE="$work/cli.tfrc"
  echo "terraform/test.sh: provider from filesystem mirror $mirror"
else
  # A TF_CLI_CONFIG_FILE naming a missing file only produces warnings; drop it.
  if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -f "$TF_CLI_CONFIG_FILE" ]; then unset TF_CLI_CONFIG_FILE; fi
  echo "terraform/test.sh: no local provider mirror found; using the registry"
fi
export TF_IN_AUTOMATION=1 TF_INPUT=0
# Keep the working directory state of these checks out of the user's terraform/.terraform.
export TF_DATA_DIR="$work/data"

step() { printf '\n== %s\n' "$*"; }
t0=$(date +%s)

step "terraform fmt -check -recursive"
terraform fmt -check -recursive -diff

step "terraform init -backend=false"
terraform init -backend=false -input=false -no-color >"$work/init.log" || { cat "$work/init.log"; exit 1; }

step "terraform validate"
terraform validate -no-color

step "terraform test"
terraform test -no-color "$@"
t1=$(date +%s)

step "checkov"
checkov="${CHECKOV:-}"
if [ -z "$checkov" ]; then
  if [ -x "$repo/.venv/bin/checkov" ]; then checkov="$repo/.venv/bin/checkov"; else checkov="$(command -v checkov || true)"; fi
fi
[ -n "$checkov" ] || { echo "terraform/test.sh: checkov not found (pip install checkov into .venv)" >&2; exit 1; }
# Skips are written next to each resource (# checkov:skip=ID:reason); any failed check fails here.
"$checkov" -d "$here" --framework terraform --quiet --compact --skip-download \
  --skip-path tests/fixtures
t2=$(date +%s)

echo
echo "terraform/test.sh: OK (terraform $((t1 - t0)) s, checkov $((t2 - t1)) s)"
