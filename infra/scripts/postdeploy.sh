#!/usr/bin/env bash
# azd's postdeploy hook: the host key API Management presents, installed once the package is.
set -euo pipefail
cd "$(dirname "$0")/../.."
infra/scripts/sync-function-key.sh "$AZURE_RESOURCE_GROUP" "$AZURE_FUNCTION_APP_NAME" "$AZURE_KEY_VAULT_NAME" "$APIM_NAME"
