import type { Decider } from '../../kernel/decider';
import { Conflict, InvalidInput, NotFound, ReservationTaken } from '../../kernel/errors';

export const ROLES = ['customer', 'pharmacist', 'catalog-editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Personal fields as the event store keeps them: sealed with the user's own data key, so
 * destroying that key leaves nothing readable (crypto-shredding). Never clear text.
 */
export interface SealedPersonalData {
  email: string;
  name: string;
  cpf?: string;
  phone?: string;
}

/**
 * `passwordHash` (registration, rehash): the scrypt hash sealed with the person's data key,
 * so erasure leaves it unreadable; events written before sealing hold it plain (`scrypt$…`),
 * read as they are and replaced by a sealed one at the next login (see vault.ts).
 */
export type UserEvent =
  | {
      type: 'UserRegistered';
      data: { userId: string; personal: SealedPersonalData; passwordHash: string; roles: Role[]; registeredAt: string };
    }
  | { type: 'UserRolesAssigned'; data: { userId: string; roles: Role[]; pharmacyIds: string[]; assignedAt: string } }
  /** The password's hash made anew at today's cost, at a login (the password itself unchanged). */
  | { type: 'UserPasswordRehashed'; data: { userId: string; passwordHash: string; rehashedAt: string } }
  | { type: 'UserErased'; data: { userId: string; erasedAt: string } };

export type UserCommand =
  | {
      type: 'RegisterUser';
      userId: string;
      personal: SealedPersonalData;
      passwordHash: string;
      now: Date;
      /** The e-mail is the start-up administrator's (BOOTSTRAP_ADMIN_EMAIL): only the bootstrap may take it. */
      reserved?: boolean;
    }
  /** The first administrator, made by the operator's settings at start-up, once (see bootstrap.ts). */
  | { type: 'BootstrapAdministrator'; userId: string; personal: SealedPersonalData; passwordHash: string; now: Date }
  /** `otherAdministrators`: active administrators besides this account, read before deciding. */
  | { type: 'AssignRoles'; userId: string; roles: Role[]; pharmacyIds: string[]; otherAdministrators: number; now: Date }
  | { type: 'EraseUser'; userId: string; otherAdministrators: number; now: Date }
  /** `previous`: the hash the new one replaces; another change in between wins. */
  | { type: 'RehashPassword'; userId: string; previous: string; passwordHash: string; now: Date };

interface Account {
  id: string;
  personal: SealedPersonalData;
  passwordHash: string;
  roles: Role[];
  pharmacyIds: string[];
  /** The stream version this state reflects: access tokens carry the one they were issued at. */
  revision: number;
  /** Tokens issued before this revision are revoked: it moves on every loss of a role or a pharmacy. */
  tokensValidFrom: number;
}

export type User = { status: 'none' } | ({ status: 'active' } & Account) | { status: 'erased'; id: string };

export const initialState: User = { status: 'none' };

export function evolve(state: User, event: UserEvent): User {
  switch (event.type) {
    case 'UserRegistered': {
      const { userId, personal, passwordHash, roles } = event.data;
      return { status: 'active', id: userId, personal, passwordHash, roles, pharmacyIds: [], revision: 1, tokensValidFrom: 0 };
    }
    case 'UserRolesAssigned': {
      if (state.status !== 'active') return state;
      const { roles, pharmacyIds } = event.data;
      const revision = state.revision + 1;
      const lost = state.roles.some((role) => !roles.includes(role)) || state.pharmacyIds.some((id) => !pharmacyIds.includes(id));
      return { ...state, roles, pharmacyIds, revision, tokensValidFrom: lost ? revision : state.tokensValidFrom };
    }
    case 'UserPasswordRehashed':
      return state.status === 'active' ? { ...state, passwordHash: event.data.passwordHash, revision: state.revision + 1 } : state;
    case 'UserErased':
      return state.status === 'none' ? state : { status: 'erased', id: state.id };
  }
}

export function decide(command: UserCommand, state: User): UserEvent[] {
  const at = command.now.toISOString();
  switch (command.type) {
    case 'RegisterUser': {
      // The same answer as an e-mail already registered: the reserved address is not revealed as such.
      if (command.reserved) throw new ReservationTaken('email', 'this email is already registered');
      if (state.status !== 'none') throw new Conflict('the account exists already');
      // The e-mail's blind index is not in the event: it lives in the reservation, which erasure releases.
      const { userId, personal, passwordHash } = command;
      return [{ type: 'UserRegistered', data: { userId, personal, passwordHash, roles: ['customer'], registeredAt: at } }];
    }
    case 'BootstrapAdministrator': {
      if (state.status !== 'none') throw new Conflict('the account exists already');
      const { userId, personal, passwordHash } = command;
      return [{ type: 'UserRegistered', data: { userId, personal, passwordHash, roles: ['admin', 'customer'], registeredAt: at } }];
    }
    case 'AssignRoles': {
      if (state.status !== 'active') throw new NotFound('no such user');
      if (isLastAdministrator(state, command.otherAdministrators) && !command.roles.includes('admin')) {
        throw new Conflict('the last administrator cannot be demoted: make another administrator first');
      }
      if (command.roles.includes('pharmacist') && command.pharmacyIds.length === 0) {
        throw new InvalidInput('a pharmacist works at a pharmacy', [{ field: 'pharmacyIds', message: 'name the pharmacies of a pharmacist' }]);
      }
      const roles = [...new Set(command.roles)].sort();
      const pharmacyIds = [...new Set(command.pharmacyIds)].sort();
      if (JSON.stringify([state.roles, state.pharmacyIds]) === JSON.stringify([roles, pharmacyIds])) return [];
      return [{ type: 'UserRolesAssigned', data: { userId: state.id, roles, pharmacyIds, assignedAt: at } }];
    }
    case 'EraseUser':
      if (state.status === 'none') throw new NotFound('no such user');
      if (state.status === 'erased') return [];
      if (isLastAdministrator(state, command.otherAdministrators)) {
        throw new Conflict('the last administrator cannot be erased: make another administrator first');
      }
      return [{ type: 'UserErased', data: { userId: state.id, erasedAt: at } }];
    case 'RehashPassword':
      if (state.status !== 'active' || state.passwordHash !== command.previous) return [];
      return [{ type: 'UserPasswordRehashed', data: { userId: state.id, passwordHash: command.passwordHash, rehashedAt: at } }];
  }
}

function isLastAdministrator(state: User, otherAdministrators: number): boolean {
  return state.status === 'active' && state.roles.includes('admin') && otherAdministrators === 0;
}

export const userDecider: Decider<UserCommand, UserEvent, User> = { initialState, evolve, decide };
