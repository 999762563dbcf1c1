import type { FunctionModule } from '../kernel/routes';
import type { ServiceProvider } from '../kernel/services';
import { identityHandlers } from './commands';

/** The Authentication API: accounts, OAuth 2.0 tokens and the keys that verify them. */
export function identityModule(services: ServiceProvider): FunctionModule {
  const handlers = identityHandlers(services);
  const anonymous = 'anonymous' as const;
  return {
    name: 'identity',
    routes: [
      { name: 'registerUser', methods: ['POST'], route: 'auth/register', authLevel: anonymous, handler: handlers.register },
      { name: 'issueToken', methods: ['POST'], route: 'auth/token', authLevel: anonymous, handler: handlers.token },
      { name: 'revokeToken', methods: ['POST'], route: 'auth/revoke', authLevel: anonymous, handler: handlers.revoke },
      { name: 'currentUser', methods: ['GET'], route: 'auth/me', authLevel: anonymous, handler: handlers.me },
      { name: 'eraseMe', methods: ['DELETE'], route: 'auth/me', authLevel: anonymous, handler: handlers.eraseMe },
      { name: 'myData', methods: ['GET'], route: 'auth/me/data', authLevel: anonymous, handler: handlers.myData },
      { name: 'eraseUser', methods: ['DELETE'], route: 'auth/users/{id}', authLevel: anonymous, handler: handlers.eraseUser },
      { name: 'signingKeys', methods: ['GET'], route: 'auth/jwks', authLevel: anonymous, handler: handlers.jwks },
      { name: 'assignRoles', methods: ['POST'], route: 'auth/users/{id}/roles', authLevel: anonymous, handler: handlers.assignRoles },
      { name: 'registerClient', methods: ['POST'], route: 'auth/clients', authLevel: anonymous, handler: handlers.registerClient },
    ],
    eventHandlers: [],
    timers: [],
    containers: [],
  };
}
