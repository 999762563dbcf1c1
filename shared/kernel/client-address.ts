import { isIP } from 'node:net';
import type { HttpRequest } from '@azure/functions';

/**
 * The caller's address, as the platform (never the caller) states it. In Azure, API
 * Management sets this header from `context.Request.IpAddress`, overriding any copy the
 * caller sent (infra/apim/api.xml), and it is the only caller of the Function App: every
 * route is authLevel function and only API Management holds the key. Locally, the local
 * host plays that part: it removes any incoming copy and sets the header from the socket.
 * `X-Forwarded-For` and the like are the caller's to write, so they are never read.
 */
export const CLIENT_IP_HEADER = 'x-farmacias-client-ip';

/** When nothing trustworthy names the caller (a request that bypassed the front door). */
export const UNKNOWN_ADDRESS = 'unknown';

/** An IPv4-mapped IPv6 address (`::ffff:203.0.113.7`) is the IPv4 address it maps. */
export function normaliseAddress(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const bare = address.trim().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '').toLowerCase();
  return isIP(bare) ? bare : undefined;
}

/** The caller's address from the trusted header: an IP address, else `unknown`. */
export function clientAddressOf(request: HttpRequest): string {
  return normaliseAddress(request.headers.get(CLIENT_IP_HEADER) ?? undefined) ?? UNKNOWN_ADDRESS;
}
