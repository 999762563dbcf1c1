#!/usr/bin/env bash
# Installs on the Function App the host key API Management presents (x-functions-key), from
# the Key Vault secret the deployment wrote, and makes API Management read it now. Runs
# after the package is deployed: a Flex app refuses host keys before its first package.
# The key it replaces stays valid as `apim-previous` until the next run, so requests in
# flight through API Management's cached copy never see a 401.
#   infra/scripts/sync-function-key.sh <resource group> <function app> <key vault> <api management>
set -euo pipefail
group="$1" app="$2" vault="$3" apim="$4"

current="$(az functionapp keys list --resource-group "$group" --name "$app" --query "functionKeys.apim" --output tsv 2>/dev/null || true)"
wanted="$(az keyvault secret show --vault-name "$vault" --name FUNCTION-KEY-APIM --query value --output tsv)"
if [ "$current" = "$wanted" ]; then
  echo "the Function App already has this deployment's key"
else
  if [ -n "$current" ]; then
    az functionapp keys set --resource-group "$group" --name "$app" --key-type functionKeys --key-name apim-previous --key-value "$current" --output none
  fi
  az functionapp keys set --resource-group "$group" --name "$app" --key-type functionKeys --key-name apim --key-value "$wanted" --output none
  echo "host key apim installed (the previous one kept as apim-previous)"
fi

service="$(az apim show --resource-group "$group" --name "$apim" --query id --output tsv)"
az rest --method post --url "https://management.azure.com${service}/namedValues/function-key/refreshSecret?api-version=2024-05-01" --output none
echo "API Management re-read its function-key named value"
