import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pharmacyBody } from '../support/fixtures';
import { hostCaller } from '../support/http';
import { localHostForSuite } from '../support/suite-host';

/**
 * Many commands on one pharmacy at once, over real HTTP, on the embedded (SQLite) store,
 * whose appends of one turn share a commit. One process's commands on a stream each run
 * from the load to the append without another command on it in between, as they did when
 * every append committed in its caller's turn: none may be refused for a change this
 * process made meanwhile, and none may be lost.
 */
describe('commands on one stream at once, through the local host', () => {
  const suite = localHostForSuite();

  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => hostCaller(suite.host.url, () => suite.adminToken)(method, path, body, headers);

  const CONCURRENT = 24;

  /** A few rounds: the first, on a cold process, spreads its requests over more turns than the later ones. */
  const ROUNDS = 3;

  it(`${CONCURRENT} changes without If-Match, ${ROUNDS} times: each applied, at consecutive versions, the read model at the last`, async () => {
    for (let round = 1; round <= ROUNDS; round += 1) {
      const { body: created } = await call('POST', 'pharmacies', pharmacyBody());
      const changes = await Promise.all(Array.from({ length: CONCURRENT }, (_, index) => call('PATCH', `pharmacies/${created.id}`, { tradeName: `Drogaria ${index}` })));
      const refused = changes.filter((change) => change.status !== 200);
      assert.deepEqual(refused.map((change) => change.body.detail), [], `round ${round}: ${refused.length} of ${CONCURRENT} refused`);
      assert.deepEqual(changes.map((change) => change.body.version).sort((a, b) => a - b), changes.map((_, index) => index + 2));
      const stored = await suite.services.eventStore.readStream(`pharmacy-${created.id}`);
      assert.deepEqual(stored.map((event) => event.version), [1, ...changes.map((_, index) => index + 2)]);
      await suite.services.bus.idle?.();
      const last = changes.findIndex((change) => change.body.version === CONCURRENT + 1);
      const read = await call('GET', `pharmacies/${created.id}`, undefined, { 'x-min-version': String(CONCURRENT + 1) });
      assert.equal(read.status, 200);
      assert.equal(read.body.tradeName, `Drogaria ${last}`);
    }
  });

  it(`${CONCURRENT} changes with the same If-Match: one applied, every other refused with 412, as one at a time`, async () => {
    const { body: created } = await call('POST', 'pharmacies', pharmacyBody());
    const changes = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, index) => call('PATCH', `pharmacies/${created.id}`, { tradeName: `Drogaria ${index}` }, { 'if-match': '"1"' })),
    );
    assert.deepEqual(changes.map((change) => change.status).sort(), [200, ...Array.from({ length: CONCURRENT - 1 }, () => 412)]);
    assert.deepEqual((await suite.services.eventStore.readStream(`pharmacy-${created.id}`)).map((event) => event.version), [1, 2]);
  });

  it('a registration sent twice at once with one Idempotency-Key, 10 times: 201, and the same 201 replayed', async () => {
    for (let round = 1; round <= 10; round += 1) {
      const body = pharmacyBody();
      const key = { 'idempotency-key': `twice-${round}-${body.cnpj}` };
      const answers = await Promise.all([call('POST', 'pharmacies', body, key), call('POST', 'pharmacies', body, key)]);
      assert.deepEqual(answers.map(({ status, headers }) => [status, headers.get('idempotent-replayed') === 'true']).sort(), [[201, false], [201, true]], `round ${round}: ${JSON.stringify(answers.map((answer) => answer.body))}`);
      assert.deepEqual(answers[0].body, answers[1].body);
    }
  });
});
