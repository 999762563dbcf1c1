import type { Services } from '../../shared/kernel/services';
import { issueAccessToken, type TokenClaims } from '../../shared/identity/tokens';

export const ADMIN: TokenClaims = { subject: '00000000-0000-4000-8000-00000000ad01', roles: ['admin'], scopes: ['catalog:write', 'offers:write', 'pharmacies:write', 'users:admin'], pharmacyIds: [] };

/** A real access token, signed with the app's own key, for the given claims. */
export function tokenFor(services: Services, claims: Partial<TokenClaims> = {}): Promise<string> {
  return issueAccessToken(services, { subject: 'test-user', roles: [], scopes: [], pharmacyIds: [], ...claims });
}
