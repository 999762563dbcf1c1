#!/usr/bin/env bash
# azd's preprovision hook: this deployment's API Management host key, installed beside the
# current one on a running app, handed to the template through azd's environment.
set -euo pipefail
cd "$(dirname "$0")/../.."
npm ci --no-audit --no-fund
npm run build
# Two steps: as an argument, a failed prepare set an empty key and the hook still succeeded.
key="$(infra/scripts/function-key.sh prepare "rg-farmacias-$AZURE_ENV_NAME")"
azd env set APIM_FUNCTION_KEY "$key"
