import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { createServer as createTcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { after, before, it } from 'node:test';
import { suiteNeeding } from '../support/suite';
import { projectRoot } from '../../shared/kernel/project-root';

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * The Application Insights adapter against a stand-in ingestion endpoint (TLS, as the SDK
 * insists): in a child process of its own, so the SDK never loads into other tests.
 */
suiteNeeding('Application Insights telemetry', hasOpenssl ? false : 'openssl is needed to make the stand-in endpoint a certificate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'farmacias-ai-'));
  const received: unknown[] = [];
  /** The Authorization header of each batch, by the instrumentation key of its items. */
  const authorizations = new Map<string, (string | undefined)[]>();
  let server: ReturnType<typeof createServer>;
  before(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = (request.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString();
        if (request.url?.startsWith('/v2.1/track')) {
          const items = JSON.parse(text) as { iKey: string }[];
          received.push(...items);
          for (const iKey of new Set(items.map((item) => item.iKey))) {
            authorizations.set(iKey, [...(authorizations.get(iKey) ?? []), request.headers.authorization]);
          }
        }
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ itemsReceived: 1, itemsAccepted: 1, errors: [] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends custom metrics with their dimensions to the ingestion endpoint of the connection string', async () => {
    const { port } = server.address() as AddressInfo;
    const connectionString = `InstrumentationKey=00000000-0000-4000-8000-000000000001;IngestionEndpoint=https://127.0.0.1:${port}/;LiveEndpoint=https://127.0.0.1:${port}/`;
    const adapter = join(projectRoot(), 'dist', 'shared', 'adapters', 'app-insights', 'telemetry.js');
    const script = `require(${JSON.stringify(adapter)}).openAppInsights(process.env.APPLICATIONINSIGHTS_CONNECTION_STRING).then(async (telemetry) => {
      telemetry.metric('command.duration_ms', 12, { command: 'registerPharmacy', outcome: 'accepted' });
      telemetry.metric('command.duration_ms', 30, { command: 'registerPharmacy', outcome: 'accepted' });
      await telemetry.flush();
      process.exit(0);
    });`;
    await promisify(execFile)(process.execPath, ['-e', script], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem'), APPLICATIONINSIGHTS_CONNECTION_STRING: connectionString, APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL: 'true' },
      timeout: 60_000,
    });
    type Envelope = { data: { baseType: string; baseData: { metrics: { name: string; count: number; min: number; max: number }[]; properties: Record<string, string> } } };
    const metric = (received as Envelope[]).find((item) => item.data.baseType === 'MetricData' && item.data.baseData.metrics[0].name === 'command.duration_ms');
    assert.ok(metric, 'the metric reached the endpoint');
    assert.deepEqual(metric.data.baseData.properties, { command: 'registerPharmacy', outcome: 'accepted' });
    const [point] = metric.data.baseData.metrics;
    assert.deepEqual([point.count, point.min, point.max], [2, 12, 30], 'aggregated by the SDK');
    const sent = authorizations.get('00000000-0000-4000-8000-000000000001') ?? [];
    assert.ok(sent.length > 0 && sent.every((header) => header === undefined), 'without a credential: the key alone, no bearer token');
  });

  it("keeps the Redis keys out of the dependency telemetry: they carry clients' addresses (login and registration throttling)", async () => {
    const { port } = server.address() as AddressInfo;
    const redis = await answeringRedis();
    const iKey = '00000000-0000-4000-8000-000000000003';
    const connectionString = `InstrumentationKey=${iKey};IngestionEndpoint=https://127.0.0.1:${port}/;LiveEndpoint=https://127.0.0.1:${port}/`;
    const adapter = join(projectRoot(), 'dist', 'shared', 'adapters', 'app-insights', 'telemetry.js');
    const cache = join(projectRoot(), 'dist', 'shared', 'adapters', 'redis', 'cache.js');
    // As composition does: telemetry first, so that its instrumentation wraps the Redis client loaded after it.
    const script = `require(${JSON.stringify(adapter)}).openAppInsights(process.env.APPLICATIONINSIGHTS_CONNECTION_STRING).then(async (telemetry) => {
      const { RedisCache } = require(${JSON.stringify(cache)});
      const cache = RedisCache.open('redis://127.0.0.1:${(redis.address() as AddressInfo).port}');
      await cache.ready();
      await cache.incrementWithin('login-failures:address:203.0.113.77', 900);
      await cache.peekWindow('registrations:address:203.0.113.77');
      await cache.get('login-known:203.0.113.77');
      await telemetry.flush();
      process.exit(0);
    });`;
    try {
      await promisify(execFile)(process.execPath, ['-e', script], {
        // Every span kept: the SDK's default sampler keeps about 5 traces a second, adaptively,
        // and on a loaded machine it dropped the command spans this test reads (only the connect came).
        env: {
          ...process.env,
          NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem'),
          APPLICATIONINSIGHTS_CONNECTION_STRING: connectionString,
          APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL: 'true',
          OTEL_TRACES_SAMPLER: 'always_on',
        },
        timeout: 60_000,
      });
    } finally {
      redis.close();
    }
    type Envelope = { iKey: string; data: { baseType: string; baseData: { type?: string; data?: string; name?: string } } };
    const dependencies = (received as Envelope[]).filter((item) => item.iKey === iKey && item.data.baseType === 'RemoteDependencyData');
    const commands = dependencies.filter((item) => item.data.baseData.type === 'redis' && item.data.baseData.data).map((item) => item.data.baseData.data);
    assert.ok(commands.length > 0, `the Redis calls are still tracked: ${JSON.stringify(dependencies)}`);
    for (const command of commands) assert.match(command!, /^[A-Z]+$/, 'each Redis dependency names its command alone');
    assert.doesNotMatch(JSON.stringify(dependencies), /203\.0\.113\.77/, 'no client address in any dependency');
  });

  it('with a credential (Entra ID ingestion, local auth disabled), every batch carries its bearer token for Azure Monitor', async () => {
    const { port } = server.address() as AddressInfo;
    const iKey = '00000000-0000-4000-8000-000000000002';
    const connectionString = `InstrumentationKey=${iKey};IngestionEndpoint=https://127.0.0.1:${port}/;LiveEndpoint=https://127.0.0.1:${port}/`;
    const adapter = join(projectRoot(), 'dist', 'shared', 'adapters', 'app-insights', 'telemetry.js');
    // A stand-in for the managed identity: the adapter gets any TokenCredential, composition hands it the app's.
    const script = `const scopes = [];
    const credential = { getToken: async (scope) => { scopes.push(...[].concat(scope)); return { token: 'token-of-the-identity', expiresOnTimestamp: Date.now() + 3600000 }; } };
    require(${JSON.stringify(adapter)}).openAppInsights(process.env.APPLICATIONINSIGHTS_CONNECTION_STRING, { credential }).then(async (telemetry) => {
      telemetry.metric('projection.lag_ms', 40, { projection: 'pharmacies' });
      await telemetry.flush();
      console.log(JSON.stringify([...new Set(scopes)]));
      process.exit(0);
    });`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem'), APPLICATIONINSIGHTS_CONNECTION_STRING: connectionString, APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL: 'true' },
      timeout: 60_000,
    });
    assert.deepEqual(JSON.parse(stdout.trim().split('\n').pop()!), ['https://monitor.azure.com/.default'], 'the token asked for is Azure Monitor’s');
    const sent = authorizations.get(iKey) ?? [];
    assert.ok(sent.length > 0, 'the metric reached the endpoint');
    assert.ok(sent.every((header) => header === 'Bearer token-of-the-identity'), JSON.stringify(sent));
  });
});

/**
 * Enough of Redis for the cache's calls: every command answered (a counter's 1, no value
 * for a read, OK otherwise), MULTI's commands queued and answered by EXEC.
 */
async function answeringRedis() {
  const answer = (name: string, args: string[]): string => {
    if (name === 'INCR') return ':1\r\n';
    if (name === 'PTTL') return ':900000\r\n';
    if (name === 'PING') return '+PONG\r\n';
    if (name === 'GET' || (name === 'SET' && args.some((arg) => arg.toUpperCase() === 'GET'))) return '$-1\r\n';
    if (name === 'MGET') return `*${args.length}\r\n${'$-1\r\n'.repeat(args.length)}`;
    return '+OK\r\n';
  };
  const server = createTcpServer((socket: Socket) => {
    let pending = '';
    let queued: string[] | undefined;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (;;) {
        const command = /^\*(\d+)\r\n/.exec(pending);
        if (!command) return;
        let at = command[0].length;
        const parts: string[] = [];
        for (let index = 0; index < Number(command[1]); index++) {
          const bulk = /^\$(\d+)\r\n/.exec(pending.slice(at));
          if (!bulk || pending.length < at + bulk[0].length + Number(bulk[1]) + 2) return;
          parts.push(pending.slice(at + bulk[0].length, at + bulk[0].length + Number(bulk[1])));
          at += bulk[0].length + Number(bulk[1]) + 2;
        }
        pending = pending.slice(at);
        const [name = '', ...args] = parts;
        const upper = name.toUpperCase();
        if (upper === 'MULTI') {
          queued = [];
          socket.write('+OK\r\n');
        } else if (upper === 'EXEC') {
          socket.write(`*${queued?.length ?? 0}\r\n${(queued ?? []).join('')}`);
          queued = undefined;
        } else if (queued) {
          queued.push(answer(upper, args));
          socket.write('+QUEUED\r\n');
        } else {
          socket.write(answer(upper, args));
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
