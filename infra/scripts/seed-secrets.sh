#!/usr/bin/env bash
# Stores the platform's generated secrets in Key Vault once: an existing secret is never
# overwritten (rotation is deliberate; see the README's runbook). Values go from the
# generator to Key Vault through a pipe, never through a file, an argument or a log.
#   infra/scripts/seed-secrets.sh <key vault name>
set -euo pipefail
vault="$1"
cd "$(dirname "$0")/../.."

ensure() {
  local name="$1" kind="$2"
  if az keyvault secret show --vault-name "$vault" --name "$name" --query id --output none 2>/dev/null; then
    echo "$name exists; left as it is"
    return
  fi
  node dist/tools/new-secret.js "$kind" | az keyvault secret set --vault-name "$vault" --name "$name" --file /dev/stdin --encoding utf-8 --output none
  echo "$name stored"
}

ensure AUTH-SIGNING-KEYS signing-keys
ensure PERSONAL-DATA-MASTER-KEY data-key
ensure PERSONAL-DATA-INDEX-KEY data-key
ensure BOOTSTRAP-ADMIN-PASSWORD password
