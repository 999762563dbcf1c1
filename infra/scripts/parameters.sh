#!/usr/bin/env bash
# Prints the deployment parameters of infra/main.bicep as an ARM parameters document, from
# the environment (the deploy workflow's repository variables). jq quotes every value, so
# no value is ever split or expanded by a shell. The file holds this deployment's host key:
# the workflow writes it to the runner's disk only, and deletes it after use. Every parameter
# that infra/main.parameters.json (azd) takes from the environment comes from the same
# variable here, with the same default: an environment made by one path and deployed by the
# other keeps its settings (a serverless Cosmos DB account cannot become autoscale).
#   infra/scripts/parameters.sh > deploy.parameters.json
set -euo pipefail
: "${ENVIRONMENT_NAME:?}" "${AZURE_LOCATION:?}" "${APIM_PUBLISHER_EMAIL:?}" "${SQL_ADMIN_GROUP_NAME:?}"
: "${SQL_ADMIN_GROUP_OBJECT_ID:?}" "${BOOTSTRAP_ADMIN_EMAIL:?}" "${AZURE_PRINCIPAL_ID:?}"
: "${APIM_FUNCTION_KEY:?made by infra/scripts/function-key.sh prepare}"
# A lowercase host name of at least three labels (www.farmacias.example): CNAME delegation
# validates subdomains only, and the deployment would fail late on anything else.
if [ -n "${WEB_CUSTOM_DOMAIN:-}" ] && ! [[ "$WEB_CUSTOM_DOMAIN" =~ ^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.){2,}[a-z]{2,}$ ]]; then
  echo "WEB_CUSTOM_DOMAIN must be a lowercase subdomain such as www.farmacias.example, not '$WEB_CUSTOM_DOMAIN'" >&2
  exit 2
fi

jq --null-input \
  --arg environmentName "$ENVIRONMENT_NAME" \
  --arg location "$AZURE_LOCATION" \
  --arg apimSku "${APIM_SKU:-BasicV2}" \
  --arg apimPublisherEmail "$APIM_PUBLISHER_EMAIL" \
  --arg cosmosCapacityMode "${COSMOS_CAPACITY_MODE:-autoscale}" \
  --arg sqlAdminGroupName "$SQL_ADMIN_GROUP_NAME" \
  --arg sqlAdminGroupObjectId "$SQL_ADMIN_GROUP_OBJECT_ID" \
  --arg bootstrapAdminEmail "$BOOTSTRAP_ADMIN_EMAIL" \
  --arg webLocation "${WEB_LOCATION:-eastus2}" \
  --arg webCustomDomain "${WEB_CUSTOM_DOMAIN:-}" \
  --arg alertEmail "${ALERT_EMAIL:-}" \
  --arg deployerPrincipalId "$AZURE_PRINCIPAL_ID" \
  --arg keyVaultCreateMode "${KEY_VAULT_CREATE_MODE:-default}" \
  --arg apimFunctionKey "$APIM_FUNCTION_KEY" \
  '{
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
    contentVersion: "1.0.0.0",
    parameters: ({
      environmentName: $environmentName,
      location: $location,
      apimSku: $apimSku,
      apimPublisherEmail: $apimPublisherEmail,
      cosmosCapacityMode: $cosmosCapacityMode,
      sqlAdminGroupName: $sqlAdminGroupName,
      sqlAdminGroupObjectId: $sqlAdminGroupObjectId,
      bootstrapAdminEmail: $bootstrapAdminEmail,
      webLocation: $webLocation,
      webCustomDomain: $webCustomDomain,
      alertEmail: $alertEmail,
      deployerPrincipalId: $deployerPrincipalId,
      deployerPrincipalType: "ServicePrincipal",
      keyVaultCreateMode: $keyVaultCreateMode,
      apimFunctionKey: $apimFunctionKey
    } | map_values({ value: . }))
  }'
