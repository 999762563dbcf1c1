#!/usr/bin/env bash
# azd's postdeploy hook: the host key API Management presents, installed once the package
# is; then the key leaves azd's environment file (the vault keeps it); then the web app's
# smoke test (its headers, and CORS for its origin).
set -euo pipefail
cd "$(dirname "$0")/../.."
infra/scripts/function-key.sh sync "$AZURE_RESOURCE_GROUP" "$AZURE_FUNCTION_APP_NAME" "$AZURE_KEY_VAULT_NAME" "$APIM_NAME"
azd env set APIM_FUNCTION_KEY ""
infra/scripts/web-smoke.sh "$WEB_URL" "$APIM_GATEWAY_URL" .package-web
