import type { Decider } from '../../kernel/decider';
import { Conflict, NotFound } from '../../kernel/errors';

/** What a partner system may be granted. */
export const CLIENT_SCOPES = ['offers:write', 'pharmacies:write'] as const;

/** The longest a replaced secret keeps working after a rotation. */
export const MAX_SECRET_OVERLAP_SECONDS = 7 * 86_400;

export type ClientEvent =
  | {
      type: 'ClientRegistered';
      data: { clientId: string; name: string; scopes: string[]; pharmacyIds: string[]; secretHash: string; registeredAt: string };
    }
  /** A new secret; the one it replaces keeps working until `previousValidUntil` (the overlap). */
  | { type: 'ClientSecretRotated'; data: { clientId: string; secretHash: string; previousValidUntil: string; rotatedAt: string } }
  | { type: 'ClientDisabled'; data: { clientId: string; disabledAt: string } };

export type ClientCommand =
  | { type: 'RegisterClient'; clientId: string; name: string; scopes: string[]; pharmacyIds: string[]; secretHash: string; now: Date }
  | { type: 'RotateClientSecret'; secretHash: string; overlapSeconds: number; now: Date }
  | { type: 'DisableClient'; now: Date };

/** A secret's hash; `validUntil` only on a replaced one, during its overlap. */
export interface ClientSecret {
  hash: string;
  validUntil?: string;
}

export type Client =
  | { status: 'none' }
  | {
      status: 'active' | 'disabled';
      id: string;
      name: string;
      scopes: string[];
      pharmacyIds: string[];
      secrets: ClientSecret[];
      /** Emergency rotations so far (no overlap): tokens carry it, and one made before the latest is refused. */
      tokensValidFrom: number;
    };

export const initialState: Client = { status: 'none' };

export function evolve(state: Client, event: ClientEvent): Client {
  switch (event.type) {
    case 'ClientRegistered': {
      const { clientId, name, scopes, pharmacyIds, secretHash } = event.data;
      return { status: 'active', id: clientId, name, scopes, pharmacyIds, secrets: [{ hash: secretHash }], tokensValidFrom: 0 };
    }
    case 'ClientSecretRotated': {
      if (state.status === 'none') return state;
      const current = state.secrets.find((secret) => !secret.validUntil);
      // Only the secret just replaced overlaps; one replaced before it stops now.
      const previous = current ? [{ hash: current.hash, validUntil: event.data.previousValidUntil }] : [];
      // A rotation without overlap is an emergency (a leaked secret): the tokens it issued go too.
      const emergency = Date.parse(event.data.previousValidUntil) <= Date.parse(event.data.rotatedAt);
      return { ...state, secrets: [{ hash: event.data.secretHash }, ...previous], tokensValidFrom: state.tokensValidFrom + (emergency ? 1 : 0) };
    }
    case 'ClientDisabled':
      return state.status === 'none' ? state : { ...state, status: 'disabled', secrets: [] };
  }
}

/** The secret hashes a client may authenticate with at `now`: none once disabled. */
export function acceptedSecretHashes(state: Client, now: Date): string[] {
  if (state.status !== 'active') return [];
  return state.secrets.filter((secret) => !secret.validUntil || Date.parse(secret.validUntil) > now.getTime()).map((secret) => secret.hash);
}

export function decide(command: ClientCommand, state: Client): ClientEvent[] {
  const at = command.now.toISOString();
  switch (command.type) {
    case 'RegisterClient': {
      if (state.status !== 'none') throw new Conflict('the client exists already');
      const { clientId, name, scopes, pharmacyIds, secretHash } = command;
      return [
        {
          type: 'ClientRegistered',
          data: { clientId, name, scopes: [...new Set(scopes)].sort(), pharmacyIds: [...new Set(pharmacyIds)].sort(), secretHash, registeredAt: at },
        },
      ];
    }
    case 'RotateClientSecret': {
      if (state.status === 'none') throw new NotFound('no such client');
      if (state.status === 'disabled') throw new Conflict('the client is disabled: register a new one');
      const overlap = Math.min(Math.max(0, command.overlapSeconds), MAX_SECRET_OVERLAP_SECONDS);
      const previousValidUntil = new Date(command.now.getTime() + overlap * 1000).toISOString();
      return [{ type: 'ClientSecretRotated', data: { clientId: state.id, secretHash: command.secretHash, previousValidUntil, rotatedAt: at } }];
    }
    case 'DisableClient':
      if (state.status === 'none') throw new NotFound('no such client');
      if (state.status === 'disabled') return [];
      return [{ type: 'ClientDisabled', data: { clientId: state.id, disabledAt: at } }];
  }
}

export const clientDecider: Decider<ClientCommand, ClientEvent, Client> = { initialState, evolve, decide };
