import type { Decider } from '../../kernel/decider';

/**
 * The platform's one-time record that its first administrator was made from the operator's
 * settings (BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD). Once it holds, start-up
 * never makes or promotes an administrator again, whatever happens to that account or
 * e-mail afterwards (demotion, erasure, someone registering the address).
 */
export type BootstrapEvent = {
  type: 'AdministratorBootstrapped';
  /** `adopted`: the account was an administrator already (made by an earlier version), not made now. */
  data: { userId: string; adopted: boolean; bootstrappedAt: string };
};

export type BootstrapCommand = { type: 'RecordBootstrap'; userId: string; adopted: boolean; now: Date };

export type Bootstrap = { status: 'pending' } | { status: 'done'; userId: string };

export const bootstrapDecider: Decider<BootstrapCommand, BootstrapEvent, Bootstrap> = {
  initialState: { status: 'pending' },
  evolve: (state, event) => (state.status === 'done' ? state : { status: 'done', userId: event.data.userId }),
  decide: (command, state) =>
    state.status === 'done'
      ? []
      : [{ type: 'AdministratorBootstrapped', data: { userId: command.userId, adopted: command.adopted, bootstrappedAt: command.now.toISOString() } }],
};
