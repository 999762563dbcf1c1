#!/usr/bin/env bash
# After the web app's upload (the deploy workflow, azd's postdeploy): waits until the site
# serves the build just made (its script's content-hashed name), then checks that its
# content security policy names the gateway, that API Management's CORS allows the site's
# origin and no other, and that a refusal the gateway makes itself carries CORS too (or the
# app would read it as a lost connection).
#   infra/scripts/web-smoke.sh <site origin> <gateway URL> [<built folder, .package-web>]
set -euo pipefail
site="${1:?the origin of the site (WEB_URL)}"
gateway="${2:?the gateway URL (APIM_GATEWAY_URL)}"
built="${3:-.package-web}"

preflight() {
  curl --silent --max-time 10 --output /dev/null --dump-header - --request OPTIONS "$gateway/offers/offers" \
    --header "Origin: $1" --header 'Access-Control-Request-Method: POST' \
    --header 'Access-Control-Request-Headers: authorization,content-type,idempotency-key' | tr -d '\r'
}

# Said, not left to set -e: a grep that finds nothing would end the script without a word.
index="$built/index.html"
[ -f "$index" ] || { echo "no $index: package the site first (npm run package:web -- --gateway <URL>), or name its folder as the third argument" >&2; exit 1; }
script="$(grep -o 'assets/main-[A-Za-z0-9_-]*\.js' "$index" | head -n 1 || true)"
[ -n "$script" ] || { echo "$index names no script assets/main-<hash>.js: is $built the web app's build?" >&2; exit 1; }
page="$(mktemp)"
trap 'rm -f "$page"' EXIT
for attempt in $(seq 1 30); do
  headers="$(curl --silent --max-time 10 --dump-header - --output "$page" "$site/" | tr -d '\r' || true)"
  if grep -qi '^HTTP/[0-9.]* 200' <<< "$headers" && grep -qF "$script" "$page"; then
    break
  fi
  echo "attempt $attempt: the site does not serve $script yet"
  if [ "$attempt" = 30 ]; then exit 1; fi
  sleep 10
done
grep -qiF "connect-src 'self' $gateway;" <<< "$headers" || { echo "the site's content security policy does not name the gateway" >&2; exit 1; }
preflight "$site" | grep -qixF "access-control-allow-origin: $site" || { echo "CORS refuses the site's origin" >&2; exit 1; }
if preflight 'https://not-the-site.example' | grep -qi '^access-control-allow-origin:'; then echo "CORS allows another origin" >&2; exit 1; fi
refusal="$(curl --silent --max-time 10 --output /dev/null --dump-header - --request POST "$gateway/offers/offers" \
  --header "Origin: $site" --header 'Content-Type: application/json' --data '{}' | tr -d '\r')"
grep -qi '^HTTP/[0-9.]* 403' <<< "$refusal" || { echo "a command without a sign-in was not refused by the public product" >&2; exit 1; }
grep -qixF "access-control-allow-origin: $site" <<< "$refusal" || { echo "the gateway's own refusal carries no CORS header" >&2; exit 1; }
echo "web app at $site ($script), calling $gateway"
