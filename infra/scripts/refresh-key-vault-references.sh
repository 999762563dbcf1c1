#!/usr/bin/env bash
# The Function App resolves its Key Vault references when its settings change, and keeps a
# failed resolution (a secret seeded after the app was created) until the next refresh.
# After seeding: ask App Service to resolve them again now, then wait until every
# reference reports Resolved (the app's readiness names any setting that is not).
#   infra/scripts/refresh-key-vault-references.sh <resource group> <function app name>
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 <resource group> <function app name>" >&2; exit 2; }
group="$1" app="$2"
site="$(az functionapp show --resource-group "$group" --name "$app" --query id --output tsv)"

az rest --method post --url "https://management.azure.com${site}/config/configreferences/appsettings/refresh?api-version=2022-03-01" --output none
for attempt in $(seq 1 20); do
  unresolved="$(az rest --method get --url "https://management.azure.com${site}/config/configreferences/appsettings?api-version=2022-03-01" \
    --query "value[?properties.status != 'Resolved'].name" --output tsv)"
  if [ -z "$unresolved" ]; then
    echo "every Key Vault reference of $app is resolved"
    exit 0
  fi
  echo "attempt $attempt: not yet resolved: $(tr '\n' ' ' <<<"$unresolved")"
  sleep 15
done
echo "Key Vault references still unresolved; see the app's readiness and the vault's role assignments" >&2
exit 1
