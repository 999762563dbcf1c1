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

/** The first 64 bits of an IPv6 address, written out: `2001:db8:0:1::/64`. */
function ipv6Prefix64(address: string): string {
  const withoutZone = address.split('%')[0];
  // A trailing dotted quad stands for the last two groups.
  const hex = withoutZone.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a, b, c, d) =>
    [((+a << 8) | +b).toString(16), ((+c << 8) | +d).toString(16)].join(':'),
  );
  const [head, tail] = hex.split('::');
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return `${groups.slice(0, 4).map((group) => parseInt(group, 16).toString(16)).join(':')}::/64`;
}

/**
 * The caller's address from the trusted header: an IPv4 address, or the /64 an IPv6 one
 * belongs to (one subscriber's network: its addresses are theirs to vary); else `unknown`.
 */
export function clientAddressOf(request: HttpRequest): string {
  const address = normaliseAddress(request.headers.get(CLIENT_IP_HEADER) ?? undefined);
  if (!address) return UNKNOWN_ADDRESS;
  return isIP(address) === 6 ? ipv6Prefix64(address) : address;
}
