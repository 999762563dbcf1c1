import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fold } from '../../shared/kernel/decider';
import { Conflict, NotFound, ReservationTaken } from '../../shared/kernel/errors';
import { bootstrapDecider } from '../../shared/identity/domain/bootstrap';
import { acceptedSecretHashes, clientDecider, MAX_SECRET_OVERLAP_SECONDS, type ClientEvent } from '../../shared/identity/domain/client';
import { userDecider, type Role, type UserEvent } from '../../shared/identity/domain/user';
import { specification } from '../support/decider';

const now = new Date('2026-11-29T12:00:00Z');
const at = now.toISOString();
const userId = '7d0e2a52-1111-4c3e-9d7a-000000000001';
const personal = { email: 'sealed-email', name: 'sealed-name' };
const registered = (roles: Role[]): UserEvent => ({
  type: 'UserRegistered',
  data: { userId, personal, passwordHash: 'scrypt$hash', roles, registeredAt: at },
});
const rolesAssigned = (roles: ('customer' | 'admin' | 'catalog-editor')[]): UserEvent => ({ type: 'UserRolesAssigned', data: { userId, roles, pharmacyIds: [], assignedAt: at } });

describe('User decider: the first administrator and the last one', () => {
  const user = specification(userDecider);

  it('refuses a public registration of the reserved e-mail, as if it were taken', () => {
    user([]).when({ type: 'RegisterUser', userId, personal, passwordHash: 'h', reserved: true, now }).thenThrows(ReservationTaken);
  });

  it('makes the bootstrap account an administrator from its first event', () => {
    user([]).when({ type: 'BootstrapAdministrator', userId, personal, passwordHash: 'h', now }).then([
      { type: 'UserRegistered', data: { userId, personal, passwordHash: 'h', roles: ['admin', 'customer'], registeredAt: at } },
    ]);
  });

  it('never turns an existing account into the bootstrap administrator', () => {
    user([registered(['customer'])]).when({ type: 'BootstrapAdministrator', userId, personal, passwordHash: 'h', now }).thenThrows(Conflict);
  });

  it('refuses to demote the last administrator', () => {
    user([registered(['admin', 'customer'])])
      .when({ type: 'AssignRoles', userId, roles: ['customer'], pharmacyIds: [], otherAdministrators: 0, now })
      .thenThrows(Conflict, /last administrator/);
  });

  it('demotes an administrator when another one remains', () => {
    user([registered(['admin', 'customer'])])
      .when({ type: 'AssignRoles', userId, roles: ['customer'], pharmacyIds: [], otherAdministrators: 1, now })
      .then([rolesAssigned(['customer'])]);
  });

  it('refuses to erase the last administrator, and erases one when another remains', () => {
    user([registered(['admin', 'customer'])]).when({ type: 'EraseUser', userId, otherAdministrators: 0, now }).thenThrows(Conflict, /last administrator/);
    user([registered(['admin', 'customer'])])
      .when({ type: 'EraseUser', userId, otherAdministrators: 1, now })
      .then([{ type: 'UserErased', data: { userId, erasedAt: at } }]);
  });

  it('erases a customer whatever the count of administrators', () => {
    user([registered(['customer'])]).when({ type: 'EraseUser', userId, otherAdministrators: 0, now }).then([{ type: 'UserErased', data: { userId, erasedAt: at } }]);
  });
});

describe('User state: which changes revoke the tokens issued before them', () => {
  const state = (events: UserEvent[]) => fold(userDecider, events);

  it('counts its revision, one per event', () => {
    const s = state([registered(['customer']), rolesAssigned(['catalog-editor', 'customer'])]);
    assert.equal(s.status === 'active' && s.revision, 2);
  });

  it('a promotion keeps the tokens already issued', () => {
    const s = state([registered(['customer']), rolesAssigned(['admin', 'customer'])]);
    assert.equal(s.status === 'active' && s.tokensValidFrom, 0);
  });

  it('a demotion revokes every token issued before it', () => {
    const s = state([registered(['admin', 'customer']), rolesAssigned(['admin', 'customer', 'catalog-editor']), rolesAssigned(['customer'])]);
    assert.equal(s.status === 'active' && s.tokensValidFrom, 3);
  });
});

describe('Client decider: rotation with an overlap, and disabling', () => {
  const client = specification(clientDecider);
  const clientId = '7d0e2a52-2222-4c3e-9d7a-000000000002';
  const clientRegistered: ClientEvent = {
    type: 'ClientRegistered',
    data: { clientId, name: 'Parceiro', scopes: ['offers:write'], pharmacyIds: ['p'], secretHash: 'old', registeredAt: at },
  };
  const rotated = (secretHash: string, previousValidUntil: string): ClientEvent => ({ type: 'ClientSecretRotated', data: { clientId, secretHash, previousValidUntil, rotatedAt: at } });

  it('rotates the secret; the previous one works until the overlap ends', () => {
    client([clientRegistered]).when({ type: 'RotateClientSecret', secretHash: 'new', overlapSeconds: 3600, now }).then([rotated('new', '2026-11-29T13:00:00.000Z')]);
    const s = fold(clientDecider, [clientRegistered, rotated('new', '2026-11-29T13:00:00.000Z')]);
    assert.deepEqual(acceptedSecretHashes(s, now).sort(), ['new', 'old']);
    assert.deepEqual(acceptedSecretHashes(s, new Date('2026-11-29T13:00:00Z')), ['new']);
  });

  it('bounds the overlap', () => {
    const until = new Date(now.getTime() + MAX_SECRET_OVERLAP_SECONDS * 1000).toISOString();
    client([clientRegistered]).when({ type: 'RotateClientSecret', secretHash: 'new', overlapSeconds: 10 * MAX_SECRET_OVERLAP_SECONDS, now }).then([rotated('new', until)]);
  });

  it('a second rotation ends the first secret at once', () => {
    const s = fold(clientDecider, [clientRegistered, rotated('second', '2026-11-29T13:00:00.000Z'), rotated('third', '2026-11-29T13:00:00.000Z')]);
    assert.deepEqual(acceptedSecretHashes(s, now).sort(), ['second', 'third']);
  });

  it('disables a client: no secret works any more, and it cannot be rotated back to life', () => {
    client([clientRegistered]).when({ type: 'DisableClient', now }).then([{ type: 'ClientDisabled', data: { clientId, disabledAt: at } }]);
    const disabled: ClientEvent = { type: 'ClientDisabled', data: { clientId, disabledAt: at } };
    assert.deepEqual(acceptedSecretHashes(fold(clientDecider, [clientRegistered, disabled]), now), []);
    client([clientRegistered, disabled]).when({ type: 'RotateClientSecret', secretHash: 'new', overlapSeconds: 0, now }).thenThrows(Conflict);
    client([clientRegistered, disabled]).when({ type: 'DisableClient', now }).then([]);
    client([]).when({ type: 'DisableClient', now }).thenThrows(NotFound);
  });
});

describe('Bootstrap decider: the first administrator is made once', () => {
  const bootstrap = specification(bootstrapDecider);
  const done = { type: 'AdministratorBootstrapped' as const, data: { userId, adopted: false, bootstrappedAt: at } };

  it('records the first bootstrap', () => {
    bootstrap([]).when({ type: 'RecordBootstrap', userId, adopted: false, now }).then([done]);
  });

  it('never records another', () => {
    bootstrap([done]).when({ type: 'RecordBootstrap', userId: 'someone-else', adopted: true, now }).then([]);
  });
});
