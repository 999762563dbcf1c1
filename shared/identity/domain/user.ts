import type { Decider } from '../../kernel/decider';
import { Conflict, InvalidInput, NotFound } from '../../kernel/errors';

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

export type UserEvent =
  | {
      type: 'UserRegistered';
      data: { userId: string; personal: SealedPersonalData; passwordHash: string; roles: Role[]; registeredAt: string };
    }
  | { type: 'UserRolesAssigned'; data: { userId: string; roles: Role[]; pharmacyIds: string[]; assignedAt: string } }
  | { type: 'UserErased'; data: { userId: string; erasedAt: string } };

export type UserCommand =
  | { type: 'RegisterUser'; userId: string; personal: SealedPersonalData; passwordHash: string; now: Date }
  | { type: 'AssignRoles'; userId: string; roles: Role[]; pharmacyIds: string[]; now: Date }
  | { type: 'EraseUser'; userId: string; now: Date };

interface Account {
  id: string;
  personal: SealedPersonalData;
  passwordHash: string;
  roles: Role[];
  pharmacyIds: string[];
}

export type User = { status: 'none' } | ({ status: 'active' } & Account) | { status: 'erased'; id: string };

export const initialState: User = { status: 'none' };

export function evolve(state: User, event: UserEvent): User {
  switch (event.type) {
    case 'UserRegistered': {
      const { userId, personal, passwordHash, roles } = event.data;
      return { status: 'active', id: userId, personal, passwordHash, roles, pharmacyIds: [] };
    }
    case 'UserRolesAssigned':
      return state.status === 'active' ? { ...state, roles: event.data.roles, pharmacyIds: event.data.pharmacyIds } : state;
    case 'UserErased':
      return state.status === 'none' ? state : { status: 'erased', id: state.id };
  }
}

export function decide(command: UserCommand, state: User): UserEvent[] {
  const at = command.now.toISOString();
  switch (command.type) {
    case 'RegisterUser': {
      if (state.status !== 'none') throw new Conflict('the account exists already');
      // The e-mail's blind index is not in the event: it lives in the reservation, which erasure releases.
      const { userId, personal, passwordHash } = command;
      return [{ type: 'UserRegistered', data: { userId, personal, passwordHash, roles: ['customer'], registeredAt: at } }];
    }
    case 'AssignRoles': {
      if (state.status !== 'active') throw new NotFound('no such user');
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
      return [{ type: 'UserErased', data: { userId: state.id, erasedAt: at } }];
  }
}

export const userDecider: Decider<UserCommand, UserEvent, User> = { initialState, evolve, decide };
