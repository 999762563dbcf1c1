import { httpRoute, type FunctionModule } from '../kernel/routes';
import type { ServiceProvider } from '../kernel/services';
import { identityHandlers } from './commands';

/** The Authentication API: accounts, OAuth 2.0 tokens and the keys that verify them. */
export function identityModule(services: ServiceProvider): FunctionModule {
  const handlers = identityHandlers(services);
  return {
    name: 'identity',
    routes: [
      httpRoute('registerUser', 'POST', 'auth/register', handlers.register),
      httpRoute('issueToken', 'POST', 'auth/token', handlers.token),
      httpRoute('revokeToken', 'POST', 'auth/revoke', handlers.revoke),
      httpRoute('currentUser', 'GET', 'auth/me', handlers.me),
      httpRoute('eraseMe', 'DELETE', 'auth/me', handlers.eraseMe),
      httpRoute('myData', 'GET', 'auth/me/data', handlers.myData),
      httpRoute('eraseUser', 'DELETE', 'auth/users/{id}', handlers.eraseUser),
      httpRoute('signingKeys', 'GET', 'auth/jwks', handlers.jwks),
      httpRoute('openIdConfiguration', 'GET', 'auth/.well-known/openid-configuration', handlers.openIdConfiguration),
      httpRoute('assignRoles', 'POST', 'auth/users/{id}/roles', handlers.assignRoles),
      httpRoute('registerClient', 'POST', 'auth/clients', handlers.registerClient),
      httpRoute('rotateClientSecret', 'POST', 'auth/clients/{id}/secret', handlers.rotateClientSecret),
      httpRoute('disableClient', 'POST', 'auth/clients/{id}/disablement', handlers.disableClient),
    ],
    eventHandlers: [],
    timers: [],
    containers: [],
  };
}
