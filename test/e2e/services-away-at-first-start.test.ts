import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { AppProcess } from '../support/app-process';
import { freePort } from '../support/free-port';
import { skipUnlessReachable } from '../support/reachable';
import { suiteNeeding } from '../support/suite';

/**
 * `npm run start:services` on a fresh DATA_DIR with Redis and RabbitMQ both away. The demo
 * seed wrote its pharmacies, products and offers, then stopped at the first demo account
 * (a registration is counted in Redis, so it answered 503) and the process exited 1; every
 * later start found the event store no longer empty and never seeded the accounts or the
 * partner client. Now the platform serves (readiness degraded) and seeds nothing, and the
 * next start with Redis there seeds all of it.
 */
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

suiteNeeding('The services profile started for the first time with Redis and RabbitMQ away', skipUnlessReachable('Redis', 'REDIS_URL', redisUrl), () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'farmacias-away-at-start-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('serves without a partial seed, and the next start with Redis back seeds everything', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}/api`;
    const env = {
      DATA_DIR: dataDir,
      LOCAL_HOST_PORT: String(port),
      RABBITMQ_URL: `amqp://guest:guest@127.0.0.1:${await freePort()}`,
      RABBITMQ_EXCHANGE: `test-away-${process.pid}`,
      RABBITMQ_QUEUE_PREFIX: `test-away-${process.pid}.`,
      REDIS_KEY_PREFIX: `test-away-${process.pid}-${Date.now()}:`,
      REQUEST_LOG: 'false',
      PASSWORD_SCRYPT_LOG2_N: '14',
    };
    const away = new AppProcess({ ...env, REDIS_URL: `redis://127.0.0.1:${await freePort()}` }, base);
    try {
      await away.start();
      const ready = (await (await fetch(`${base}/health/ready`)).json()) as { status: string; checks: Record<string, { status: string }> };
      assert.deepEqual([ready.status, ready.checks.cache.status, ready.checks.bus.status], ['degraded', 'unhealthy', 'unhealthy']);
      const pharmacies = (await (await fetch(`${base}/pharmacies?limit=1`)).json()) as { items: unknown[] };
      assert.equal(pharmacies.items.length, 0, 'nothing of the demo data is written while its accounts cannot be');
      assert.match(away.output, /the demo data is not seeded: the cache \(Redis\) does not answer/);
    } finally {
      await away.kill();
    }

    const back = new AppProcess({ ...env, REDIS_URL: redisUrl }, base);
    try {
      await back.start();
      assert.match(back.output, /seeded 24 pharmacies, 53 products and 360 offers/);
      assert.ok(existsSync(join(dataDir, 'demo-partner.json')), 'the demo partner client, seeded last, is there');
    } finally {
      await back.kill();
    }
  });
});
