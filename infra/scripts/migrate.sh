#!/usr/bin/env bash
# Applies the Azure SQL migrations and makes the app's identity a least-privilege database
# user, created from its client id (no directory lookup, so the SQL server needs no
# Directory Readers role). Runs as the deployer (a member of the SQL admin group, by
# DefaultAzureCredential); opens the server's firewall to this machine for the run only.
#   infra/scripts/migrate.sh <resource group> <sql server fqdn> <database> <app identity name> <app identity client id>
set -euo pipefail
[ $# -eq 5 ] || { echo "usage: $0 <resource group> <sql server fqdn> <database> <app identity name> <app identity client id>" >&2; exit 2; }
group="$1" server_fqdn="$2" database="$3" app_identity="$4" app_client_id="$5"
cd "$(dirname "$0")/../.."
server="${server_fqdn%%.*}"
rule="deploy-$(date +%s)"
address="$(curl --silent --fail --max-time 20 https://api.ipify.org)"

az sql server firewall-rule create --resource-group "$group" --server "$server" --name "$rule" \
  --start-ip-address "$address" --end-ip-address "$address" --output none
trap 'az sql server firewall-rule delete --resource-group "$group" --server "$server" --name "$rule" --output none' EXIT

AZURE_SQL_SERVER="$server_fqdn" AZURE_SQL_DATABASE="$database" \
  node dist/tools/db-migrate.js --app-user "$app_identity" --app-client-id "$app_client_id"
