// `npm run bench`: throughput and latency of the local host against a bare node:http
// baseline measured in the same run, plus projection lag. Loopback only, bounded.
// `npm run bench:services`: the same on RabbitMQ and Redis.
// `--reads-only`: the baseline, the health route and the cached by-id read alone (the host's
// per-request overhead), without the uncached host, the commands and the feed.
// `BENCH_ROUNDS=<n>`: the three reads n times in turn, medians reported.
// `BENCH_CPU_PROFILE=<folder>`: a CPU profile of the local host under the run (`--cpu-prof`).
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { DEMO_USERS } from '../local/demo-data';
import { declaredModules } from '../shared/platform/app';
import { CONNECTIONS, DURATION_SECONDS, load, pharmacyCommands, start, stop, untilProjected, type Measured } from './http-load';

const LAG_SAMPLES = Number(process.env.BENCH_LAG_SAMPLES ?? 300);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function projectionLag(base: string, ids: string[], auth: Record<string, string>): Promise<{ p50: number; p99: number; max: number }> {
  const lags: number[] = [];
  for (let i = 0; i < LAG_SAMPLES; i++) {
    const id = ids[i % ids.length];
    const command = await fetch(`${base}/pharmacies/${id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ tradeName: `Drogaria Lag ${i}` }),
    });
    const { version } = (await command.json()) as { version: number };
    const answered = performance.now();
    const read = await fetch(`${base}/pharmacies/${id}`, { headers: { 'x-min-version': String(version), ...auth } });
    const document = (await read.json()) as { version: number };
    if (document.version < version) throw new Error(`projection did not catch up: ${document.version} < ${version}`);
    lags.push(performance.now() - answered);
  }
  lags.sort((a, b) => a - b);
  return { p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags[lags.length - 1] };
}

/**
 * `--profile services`: the hosts run on RabbitMQ and Redis (queues of this run's own,
 * removed afterwards), so the figures show projection lag through the broker and cached
 * reads through Redis.
 */
const SERVICES = process.argv.includes('--profile') && process.argv[process.argv.indexOf('--profile') + 1] === 'services';
const RUN = randomUUID().slice(0, 8);
const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const PROFILE_ENV: Record<string, string> = SERVICES
  ? {
      RABBITMQ_URL,
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      RABBITMQ_EXCHANGE: `bench-${RUN}`,
      RABBITMQ_QUEUE_PREFIX: `bench-${RUN}.`,
      REDIS_KEY_PREFIX: `bench-${RUN}:`,
    }
  : {};

const READS_ONLY = process.argv.includes('--reads-only');
const READ_ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
/** `BENCH_CPU_PROFILE=<folder>`: the (cached) local host writes a V8 CPU profile there when it stops. */
const HOST_NODE_ARGS = process.env.BENCH_CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE}`] : [];

function printTable(bare: Measured, runs: Measured[]) {
  console.table(
    runs.map((m) => ({
      run: m.label,
      'req/s': Math.round(m.requestsPerSecond),
      'p99 ms': m.p99Ms,
      'ratio to baseline': (m.requestsPerSecond / bare.requestsPerSecond).toFixed(2),
      'non-2xx': m.non2xx,
      'server CPU µs/req': m.cpuMicrosPerRequest === undefined ? '' : Math.round(m.cpuMicrosPerRequest),
    })),
  );
}

async function removeBrokerObjects() {
  if (!SERVICES) return;
  const { connect } = await import('amqplib');
  const model = await connect(RABBITMQ_URL);
  const channel = await model.createChannel();
  const subscriptions = declaredModules().flatMap((module) => module.eventHandlers.map((handler) => handler.subscription));
  for (const prefix of [`bench-${RUN}`, `bench-${RUN}-uncached`]) {
    for (const name of subscriptions) for (const suffix of ['', '.retry', '.dead']) await channel.deleteQueue(`${prefix}.${name}${suffix}`);
    await channel.deleteExchange(prefix);
  }
  await model.close();
}

async function startUncached() {
  const dataDir = mkdtempSync(join(tmpdir(), 'farmacias-bench-uncached-'));
  const { child, match } = await start(
    '../local/main.js',
    // Its own queues: two hosts on one queue would share the deliveries.
    { ...PROFILE_ENV, ...(SERVICES ? { RABBITMQ_QUEUE_PREFIX: `bench-${RUN}-uncached.`, RABBITMQ_EXCHANGE: `bench-${RUN}-uncached`, REDIS_KEY_PREFIX: `bench-${RUN}-uncached:` } : {}), DATA_DIR: dataDir, LOCAL_HOST_PORT: '0', REQUEST_LOG: 'false', CACHE_FRESH_SECONDS: '0' },
    /on http:\/\/localhost:(\d+)\/api/,
  );
  return { child, dataDir, base: `http://127.0.0.1:${match[1]}/api` };
}

/**
 * The reads, warmed, then in turn BENCH_ROUNDS times (1 unless set): each figure is the median of its
 * rounds, and every round's ratios to the baseline are printed, so that a burst of load
 * from elsewhere on the machine shows as one odd round rather than as the result.
 */
async function readRuns(runs: [label: string, url: string, server: ChildProcess][]): Promise<Measured[]> {
  // A second of each first, unmeasured: the baseline starts cold (its code not yet
  // optimised) where the seeding warmed the host, which flattered the host in the first run.
  for (const [, url] of runs) await autocannon({ url, connections: CONNECTIONS, duration: 1 });
  const rounds: Measured[][] = [];
  for (let round = 0; round < READ_ROUNDS; round++) {
    const measured: Measured[] = [];
    for (const [label, url, server] of runs) measured.push(await load(label, { url }, server));
    rounds.push(measured);
    if (READ_ROUNDS > 1) console.log(`round ${round + 1}: ${measured.map((m) => (m.requestsPerSecond / measured[0].requestsPerSecond).toFixed(2)).join(' ')}`);
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return runs.map(([label], i) => {
    const of = rounds.map((measured) => measured[i]);
    const cpu = of.map((m) => m.cpuMicrosPerRequest).filter((value) => value !== undefined);
    return {
      label,
      requestsPerSecond: median(of.map((m) => m.requestsPerSecond)),
      p99Ms: median(of.map((m) => m.p99Ms)),
      non2xx: of.reduce((sum, m) => sum + m.non2xx, 0),
      cpuMicrosPerRequest: cpu.length === of.length ? median(cpu) : undefined,
    };
  });
}

/** The commands, the projection lag, "near me" cached and uncached, and the partner feed: every run but the reads. */
async function heavierRuns(host: ChildProcess, uncached: { child: ChildProcess; base: string }, base: string, ids: string[], asAdmin: Record<string, string>) {
  const latestVersion = new Map<string, number>();
  const command = await load('PATCH /api/pharmacies/{id} (command)', { url: base, requests: pharmacyCommands(ids, asAdmin, latestVersion) }, host);
  const drainSeconds = await untilProjected(base, latestVersion, asAdmin);
  const lag = await projectionLag(base, ids, asAdmin);

  // "Where is this medicine cheapest near me", from the cache, then from the store every time.
  const productsOf = async (api: string) =>
    ((await (await fetch(`${api}/products?limit=100`)).json()) as { items: { id: string; name: string }[] }).items;
  const nearMe = (products: { id: string; name: string }[]) =>
    `/products/${products.find((p) => p.name.startsWith('Dipirona Sódica 500'))!.id}/offers?lat=-23.5614&lon=-46.6559&radiusKm=5`;
  const products = await productsOf(base);
  const cheapestCached = await load('GET cheapest near me (cached)', { url: `${base}${nearMe(products)}` }, host);
  const cheapestUncached = await load('GET cheapest near me (uncached)', { url: `${uncached.base}${nearMe(await productsOf(uncached.base))}` }, uncached.child);

  // The partner feed: 500-item batches, each with new prices so every item is a write.
  let round = 0;
  const feed = await load('POST /api/offers/batch (500 items)', {
    url: base,
    connections: 2,
    requests: [
      {
        method: 'POST',
        path: '/api/offers/batch',
        setupRequest: (request: autocannon.Request) => {
          round += 1;
          const items = Array.from({ length: 500 }, (_, i) => ({
            pharmacyId: ids[i % ids.length],
            productId: products[Math.floor(i / ids.length) % products.length].id,
            priceCents: 1000 + ((round * 7 + i) % 500),
            validFrom: '2026-01-01T00:00:00Z',
            validUntil: '2099-01-01T00:00:00Z',
            stock: 'in_stock',
          }));
          return { ...request, headers: { 'content-type': 'application/json', ...asAdmin }, body: JSON.stringify({ items }) };
        },
      } as autocannon.Request,
    ],
  }, host);

  const commandEvents = Math.round(command.requestsPerSecond * DURATION_SECONDS);
  return {
    measured: [command, cheapestCached, cheapestUncached, feed],
    report() {
      console.log(`projector backlog after the command run (~${commandEvents} events) drained in ${drainSeconds.toFixed(1)} s`);
      console.log(`projection lag (command answered → by-id read shows the version), ${LAG_SAMPLES} samples:`);
      console.log(`  p50 ${lag.p50.toFixed(1)} ms, p99 ${lag.p99.toFixed(1)} ms, max ${lag.max.toFixed(1)} ms`);
      console.log(`partner feed: ${Math.round(feed.requestsPerSecond * 500)} offers/s in 500-item batches (2 connections)`);
    },
  };
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'farmacias-bench-'));
  console.log(`profile: ${SERVICES ? 'services (RabbitMQ and Redis)' : 'embedded'}`);
  const host = await start('../local/main.js', { ...PROFILE_ENV, DATA_DIR: dataDir, LOCAL_HOST_PORT: '0', REQUEST_LOG: 'false' }, /on http:\/\/localhost:(\d+)\/api/, HOST_NODE_ARGS);
  const base = `http://127.0.0.1:${host.match[1]}/api`;
  // Commands need a token: the benchmark logs in as the demo administrator.
  const login = await fetch(`${base}/auth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', username: DEMO_USERS[0].email, password: DEMO_USERS[0].password }),
  });
  const asAdmin = { authorization: `Bearer ${((await login.json()) as { access_token: string }).access_token}` };
  const list = (await (await fetch(`${base}/pharmacies?limit=100`)).json()) as { items: { id: string }[] };
  const ids = list.items.map((p) => p.id);
  const sample = await (await fetch(`${base}/pharmacies/${ids[0]}`)).text();
  const baseline = await start('baseline-server.js', { BASELINE_BODY: sample }, /baseline on (\d+)/);
  // A second host whose cache is never fresh: every query reaches the read store.
  const uncached = READS_ONLY ? undefined : await startUncached();
  try {
    console.log(`autocannon: ${CONNECTIONS} connections, ${DURATION_SECONDS} s per run, loopback; ${ids.length} demo pharmacies\n`);
    const [bare, ceiling, cached] = await readRuns([
      ['bare node:http (baseline)', `http://127.0.0.1:${baseline.match[1]}/`, baseline.child],
      // The local host's own ceiling: the cheapest route, through the same router and Functions request objects.
      ['GET /api/health (host ceiling)', `${base}/health`, host.child],
      ['GET /api/pharmacies/{id} (cached)', `${base}/pharmacies/${ids[0]}`, host.child],
    ]);
    if (READS_ONLY) return printTable(bare, [bare, ceiling, cached]);
    const rest = await heavierRuns(host.child, uncached!, base, ids, asAdmin);
    printTable(bare, [bare, ceiling, cached, ...rest.measured]);
    rest.report();
  } finally {
    await stop(baseline.child);
    await stop(host.child);
    if (uncached) await stop(uncached.child);
    rmSync(dataDir, { recursive: true, force: true });
    if (uncached) rmSync(uncached.dataDir, { recursive: true, force: true });
    await removeBrokerObjects();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
