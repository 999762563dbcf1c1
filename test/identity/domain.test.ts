import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isValidCpf } from '../../shared/identity/domain/cpf';
import { passwordWeakness } from '../../shared/identity/domain/password-policy';
import { sessionDecider, type SessionEvent } from '../../shared/identity/domain/session';
import { specification } from '../support/decider';

describe('CPF', () => {
  it('accepts valid CPFs, printed or bare', () => {
    for (const cpf of ['529.982.247-25', '52998224725', '111.444.777-35']) assert.equal(isValidCpf(cpf), true, cpf);
  });
  it('refuses wrong check digits, repeated digits and other shapes', () => {
    for (const cpf of ['529.982.247-24', '111.111.111-11', '5299822472', '529982247255', '529.982.247/25', 'abc.def.ghi-jk']) {
      assert.equal(isValidCpf(cpf), false, cpf);
    }
  });
});

describe('password policy', () => {
  it('wants at least 10 characters, not among the most common, not one repeated character', () => {
    assert.match(passwordWeakness('curta')!, /10 characters/);
    assert.match(passwordWeakness('Senha12345')!, /common/);
    assert.match(passwordWeakness('zzzzzzzzzzzz')!, /repeated/);
    assert.equal(passwordWeakness('correct horse battery staple'), undefined);
  });
});

describe('Session decider (refresh-token families)', () => {
  const given = specification(sessionDecider);
  const now = new Date('2026-11-27T12:00:00Z');
  const later = new Date('2026-12-27T12:00:00Z');
  const familyId = '3b0d6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11';
  const started: SessionEvent = { type: 'SessionStarted', data: { familyId, subject: 'u1', tokenHash: 'h1', expiresAt: later.toISOString(), startedAt: now.toISOString() } };
  const rotated: SessionEvent = {
    type: 'SessionRefreshed',
    data: { familyId, previousHash: 'h1', tokenHash: 'h2', expiresAt: later.toISOString(), refreshedAt: now.toISOString() },
  };
  const refresh = (presentedHash: string, subjectActive = true, at = now) =>
    ({ type: 'RefreshSession', presentedHash, newHash: 'h-next', expiresAt: later, subjectActive, now: at }) as const;

  it('rotates the current token', () =>
    given([started]).when(refresh('h1')).then([
      { type: 'SessionRefreshed', data: { familyId, previousHash: 'h1', tokenHash: 'h-next', expiresAt: later.toISOString(), refreshedAt: now.toISOString() } },
    ]));
  it('revokes the whole family when a rotated token comes back', () =>
    given([started, rotated]).when(refresh('h1')).then([{ type: 'SessionRevoked', data: { familyId, reason: 'reuse', revokedAt: now.toISOString() } }]));
  it('refuses an unknown or expired token without revoking', () => {
    given([started]).when(refresh('forged')).then([]);
    given([started]).when(refresh('h1', true, new Date('2027-01-01T00:00:00Z'))).then([]);
  });
  it('ends the family when its subject is gone', () =>
    given([started]).when(refresh('h1', false)).then([{ type: 'SessionRevoked', data: { familyId, reason: 'subject-gone', revokedAt: now.toISOString() } }]));
  it('refuses everything once revoked', () =>
    given([started, { type: 'SessionRevoked', data: { familyId, reason: 'logout', revokedAt: now.toISOString() } }]).when(refresh('h1')).then([]));
});
