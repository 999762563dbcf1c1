import type { Decider } from '../../kernel/decider';
import { NotFound } from '../../kernel/errors';

/**
 * A refresh-token family: one login and every rotation after it. Only the current token's
 * hash is accepted; a token already rotated away coming back means it was stolen (or the
 * client is broken), so the whole family is revoked.
 */
export type SessionEvent =
  | { type: 'SessionStarted'; data: { familyId: string; subject: string; tokenHash: string; expiresAt: string; startedAt: string } }
  | { type: 'SessionRefreshed'; data: { familyId: string; previousHash: string; tokenHash: string; expiresAt: string; refreshedAt: string } }
  | { type: 'SessionRevoked'; data: { familyId: string; reason: 'reuse' | 'logout' | 'subject-gone'; revokedAt: string } };

export type SessionCommand =
  | { type: 'StartSession'; familyId: string; subject: string; tokenHash: string; expiresAt: Date; now: Date }
  | { type: 'RefreshSession'; presentedHash: string; newHash: string; expiresAt: Date; subjectActive: boolean; now: Date }
  | { type: 'RevokeSession'; presentedHash: string; now: Date };

export type Session =
  | { status: 'none' }
  | { status: 'active' | 'revoked'; familyId: string; subject: string; tokenHash: string; usedHashes: string[]; expiresAt: string };

export const initialState: Session = { status: 'none' };

export function evolve(state: Session, event: SessionEvent): Session {
  switch (event.type) {
    case 'SessionStarted': {
      const { familyId, subject, tokenHash, expiresAt } = event.data;
      return { status: 'active', familyId, subject, tokenHash, usedHashes: [], expiresAt };
    }
    case 'SessionRefreshed':
      return state.status === 'none'
        ? state
        : { ...state, tokenHash: event.data.tokenHash, usedHashes: [...state.usedHashes, event.data.previousHash], expiresAt: event.data.expiresAt };
    case 'SessionRevoked':
      return state.status === 'none' ? state : { ...state, status: 'revoked' };
  }
}

export function decide(command: SessionCommand, state: Session): SessionEvent[] {
  const at = command.now.toISOString();
  switch (command.type) {
    case 'StartSession':
      return [
        {
          type: 'SessionStarted',
          data: { familyId: command.familyId, subject: command.subject, tokenHash: command.tokenHash, expiresAt: command.expiresAt.toISOString(), startedAt: at },
        },
      ];
    case 'RefreshSession': {
      if (state.status !== 'active') return [];
      if (state.usedHashes.includes(command.presentedHash)) {
        return [{ type: 'SessionRevoked', data: { familyId: state.familyId, reason: 'reuse', revokedAt: at } }];
      }
      if (!command.subjectActive) {
        return [{ type: 'SessionRevoked', data: { familyId: state.familyId, reason: 'subject-gone', revokedAt: at } }];
      }
      if (state.tokenHash !== command.presentedHash || Date.parse(state.expiresAt) <= command.now.getTime()) return [];
      return [
        {
          type: 'SessionRefreshed',
          data: { familyId: state.familyId, previousHash: command.presentedHash, tokenHash: command.newHash, expiresAt: command.expiresAt.toISOString(), refreshedAt: at },
        },
      ];
    }
    case 'RevokeSession':
      if (state.status === 'none') throw new NotFound('no such session');
      // RFC 7009: revoking an unknown, rotated or revoked token is not an error; only the current one counts.
      if (state.status !== 'active' || (state.tokenHash !== command.presentedHash && !state.usedHashes.includes(command.presentedHash))) return [];
      return [{ type: 'SessionRevoked', data: { familyId: state.familyId, reason: 'logout', revokedAt: at } }];
  }
}

export const sessionDecider: Decider<SessionCommand, SessionEvent, Session> = { initialState, evolve, decide };
