#!/usr/bin/env bash
# Stores the platform's generated secrets in Key Vault once. A secret is created only when
# the vault answers that it does not exist; any other failure (network, throttling, a
# missing role) stops the script, since a new PERSONAL-DATA-MASTER-KEY or -INDEX-KEY would
# make every sealed personal record unreadable. A soft-deleted secret is recovered, never
# replaced. Values go from the generator to Key Vault through a pipe, never through a file,
# an argument or a log.
#   infra/scripts/seed-secrets.sh <key vault name>
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 <key vault name>" >&2; exit 2; }
vault="$1"
cd "$(dirname "$0")/../.."

# Prints present, missing or deleted; exits non-zero on any other answer.
secret_state() {
  local name="$1" error
  if error="$(az keyvault secret show --vault-name "$vault" --name "$name" --query id --output none 2>&1)"; then
    echo present
  elif grep -q "SecretNotFound" <<<"$error"; then
    if az keyvault secret show-deleted --vault-name "$vault" --name "$name" --query recoveryId --output none 2>/dev/null; then
      echo deleted
    else
      echo missing
    fi
  else
    echo "cannot tell whether $name exists; nothing was changed: $error" >&2
    return 1
  fi
}

ensure() {
  local name="$1" kind="$2" state value
  state="$(secret_state "$name")"
  case "$state" in
    present) echo "$name exists; left as it is" ;;
    deleted)
      az keyvault secret recover --vault-name "$vault" --name "$name" --output none
      echo "$name was soft-deleted; recovered with its value"
      ;;
    missing)
      # Made first, then piped (printf is a builtin: the value is in no process's arguments). In
      # one pipe, a failed generator still ran az on empty input: an empty secret that every
      # later run finds present and keeps, and that stops every instance at its start.
      value="$(node dist/tools/new-secret.js "$kind")"
      [ -n "$value" ] || { echo "the generator made no $name; nothing was stored" >&2; return 1; }
      printf '%s' "$value" | az keyvault secret set --vault-name "$vault" --name "$name" --file /dev/stdin --encoding utf-8 --output none
      echo "$name stored"
      ;;
  esac
}

ensure AUTH-SIGNING-KEYS signing-keys
ensure PERSONAL-DATA-MASTER-KEY data-key
ensure PERSONAL-DATA-INDEX-KEY data-key
ensure BOOTSTRAP-ADMIN-PASSWORD password
