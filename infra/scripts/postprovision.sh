#!/usr/bin/env bash
# azd's postprovision hook: secrets seeded once, the app's Key Vault references resolved
# again, then the database migrated. azd exports main.bicep's outputs as variables; the
# preprovision hook has installed and built the tools these scripts run.
set -euo pipefail
cd "$(dirname "$0")/../.."
infra/scripts/seed-secrets.sh "$AZURE_KEY_VAULT_NAME"
infra/scripts/refresh-key-vault-references.sh "$AZURE_RESOURCE_GROUP" "$AZURE_FUNCTION_APP_NAME"
infra/scripts/migrate.sh "$AZURE_RESOURCE_GROUP" "$AZURE_SQL_SERVER" "$AZURE_SQL_DATABASE" \
  "$AZURE_FUNCTION_IDENTITY_NAME" "$AZURE_FUNCTION_IDENTITY_CLIENT_ID"
