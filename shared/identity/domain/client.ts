import type { Decider } from '../../kernel/decider';
import { Conflict } from '../../kernel/errors';

/** What a partner system may be granted. */
export const CLIENT_SCOPES = ['offers:write', 'pharmacies:write'] as const;

export type ClientEvent = {
  type: 'ClientRegistered';
  data: { clientId: string; name: string; scopes: string[]; pharmacyIds: string[]; secretHash: string; registeredAt: string };
};

export type ClientCommand = { type: 'RegisterClient'; clientId: string; name: string; scopes: string[]; pharmacyIds: string[]; secretHash: string; now: Date };

export type Client =
  | { status: 'none' }
  | { status: 'active'; id: string; name: string; scopes: string[]; pharmacyIds: string[]; secretHash: string };

export const clientDecider: Decider<ClientCommand, ClientEvent, Client> = {
  initialState: { status: 'none' },
  evolve: (_state, event) => {
    const { clientId, name, scopes, pharmacyIds, secretHash } = event.data;
    return { status: 'active', id: clientId, name, scopes, pharmacyIds, secretHash };
  },
  decide: (command, state) => {
    if (state.status !== 'none') throw new Conflict('the client exists already');
    const { clientId, name, scopes, pharmacyIds, secretHash } = command;
    return [
      {
        type: 'ClientRegistered',
        data: { clientId, name, scopes: [...new Set(scopes)].sort(), pharmacyIds: [...new Set(pharmacyIds)].sort(), secretHash, registeredAt: command.now.toISOString() },
      },
    ];
  },
};
