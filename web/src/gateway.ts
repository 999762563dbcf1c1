/**
 * Where a route of the platform answers. The local host serves every API under `/api/` on
 * the app's own origin. In Azure the app is a static site and the APIs answer through API
 * Management, where each API has a path of its own (infra/modules/apim.bicep) and its
 * operations keep their OpenAPI paths: `pharmacies/{id}/offers` is the Offers API's, so it
 * is `{gateway}/offers/pharmacies/{id}/offers`. test/web/gateway.test.ts holds this table to
 * every operation of every OpenAPI document and to the paths apim.bicep imports them under.
 */
const API_OF_ROUTE: ReadonlyArray<readonly [RegExp, string]> = [
  [/^auth(?:[/?]|$)/, 'identity'],
  [/^(?:products|pharmacies)\/[^/?]+\/offers(?:\?|$)/, 'offers'],
  [/^offers(?:[/?]|$)/, 'offers'],
  [/^(?:products|categories)(?:[/?]|$)/, 'catalog'],
  [/^pharmacies(?:[/?]|$)/, 'pharmacies'],
  [/^health(?:[/?]|$)/, 'platform'],
];

/** The gateway the build was given (`VITE_API_GATEWAY`), without a trailing slash; empty: the same origin's `/api/`. */
export const API_GATEWAY: string = (import.meta.env?.VITE_API_GATEWAY ?? '').replace(/\/+$/, '');

/** The URL of a route (`products?q=…`, `auth/token`…), on the local host or through the gateway. */
export function apiUrl(route: string, gateway: string = API_GATEWAY): string {
  if (!gateway) return `/api/${route}`;
  const api = API_OF_ROUTE.find(([pattern]) => pattern.test(route))?.[1];
  // A route no API answers is a mistake in this app, not a user's: say which.
  if (!api) throw new Error(`no API answers the route ${route.split('?')[0]}`);
  return `${gateway}/${api}/${route}`;
}
