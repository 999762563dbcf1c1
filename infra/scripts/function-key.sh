#!/usr/bin/env bash
# The host key API Management presents to the Function App (x-functions-key), new for
# every deployment, rotated so that no call through API Management is ever refused:
#   prepare <resource group>
#       prints a new key for the deployment's apimFunctionKey parameter; on an app that
#       already runs, first installs it as `apim-next` beside the current `apim`, so the
#       app accepts it whenever API Management starts presenting it.
#   sync <resource group> <function app> <key vault> <api management>
#       after the package (a Flex app refuses host keys before its first one): makes the
#       deployment's key, read from Key Vault, the app's `apim`, keeps the replaced one as
#       `apim-previous`, drops `apim-next`, and has API Management re-read its named value.
set -euo pipefail
cd "$(dirname "$0")/../.."

prepare() {
  local group="$1" key app exists
  key="$(node dist/tools/new-secret.js password)"
  # Asked apart from the comparison, so a failing az (absent, signed out) stops here: inside
  # `[ "$(az …)" = true ]` it read as "no group", and the key went to the template without
  # being installed on the running app.
  exists="$(az group exists --name "$group")"
  if [ "$exists" = "true" ]; then
    app="$(az functionapp list --resource-group "$group" --query "[?tags.\"azd-service-name\"=='api'].name | [0]" --output tsv)"
    if [ -n "$app" ] && az functionapp keys list --resource-group "$group" --name "$app" --output none 2>/dev/null; then
      az functionapp keys set --resource-group "$group" --name "$app" --key-type functionKeys --key-name apim-next --key-value "$key" --output none
      echo "the next host key is installed beside the current one on $app" >&2
    fi
  fi
  printf '%s' "$key"
}

sync() {
  local group="$1" app="$2" vault="$3" apim="$4" current wanted service
  current="$(az functionapp keys list --resource-group "$group" --name "$app" --query "functionKeys.apim" --output tsv 2>/dev/null || true)"
  wanted="$(az keyvault secret show --vault-name "$vault" --name FUNCTION-KEY-APIM --query value --output tsv)"
  if [ "$current" != "$wanted" ]; then
    if [ -n "$current" ]; then
      az functionapp keys set --resource-group "$group" --name "$app" --key-type functionKeys --key-name apim-previous --key-value "$current" --output none
    fi
    az functionapp keys set --resource-group "$group" --name "$app" --key-type functionKeys --key-name apim --key-value "$wanted" --output none
    echo "host key apim installed (the one it replaced kept as apim-previous)"
  fi
  az functionapp keys delete --resource-group "$group" --name "$app" --key-type functionKeys --key-name apim-next --output none 2>/dev/null || true
  service="$(az apim show --resource-group "$group" --name "$apim" --query id --output tsv)"
  az rest --method post --url "https://management.azure.com${service}/namedValues/function-key/refreshSecret?api-version=2024-05-01" --output none
  echo "API Management re-read its function-key named value"
}

case "${1:-}" in
  prepare) shift; prepare "$@" ;;
  sync) shift; sync "$@" ;;
  *) echo "usage: $0 prepare <group> | sync <group> <app> <vault> <apim>" >&2; exit 2 ;;
esac
