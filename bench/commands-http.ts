// `npm run bench:commands:http`: HTTP commands (a pharmacy's trade name PATCHed, as in
// `npm run bench`) against the local host with its projectors in the same process, and
// against a host whose projectors run in a process of their own (bench/projector-process.ts),
// its read store in a third (bench/read-store-process.ts, as Cosmos DB is its own service in
// Azure, so that the projector process's CPU is the client side alone), each as a ratio
// to a bare node:http server, in BENCH_ROUNDS (3) rounds that take turns:
//   bare                 the baseline, GET of fixed bytes
//   same process         `npm start`'s host: commands, projectors and read store in one process
//   own process          the projector process follows the events while the commands run
//   projectors paused    the projector process waits during the run, then drains the backlog (timed)
// Then the partner feed on the host without projectors: 500-item keyed `POST /offers/batch`es (new
// prices every time, each connection its own 500 offers) with the projector process paused,
// then its drain timed: the feed's write path and its projection, each in a process of its own.
// After each run the read model is waited for; at the end every pharmacy a command changed is
// checked against the last version its commands returned, in both read models, and the
// events projected are counted against the event store's. `BENCH_SECONDS`, `BENCH_CONNECTIONS`
// and `BENCH_CPU_PROFILE` as for `npm run bench`.
import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import type autocannon from 'autocannon';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DEMO_USERS } from '../local/demo-data';
import { CONNECTIONS, cpuMicros, DURATION_SECONDS, load, pharmacyCommands, start, stop, untilProjected, type Measured } from './http-load';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** `BENCH_CPU_PROFILE=<folder>`: the host without projectors and the projector process write V8 CPU profiles there when they stop. */
const PROFILE_ARGS = process.env.BENCH_CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE}`] : [];

/** Sends `line` to the projector process and resolves with its first answer that matches `answer`. */
function ask(projector: ChildProcess, line: string, answer: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve) => {
    const lines = createInterface({ input: projector.stdout! });
    lines.on('line', (text) => {
      const match = text.match(answer);
      if (!match) return;
      lines.close();
      resolve(match);
    });
    projector.stdin!.write(`${line}\n`);
  });
}

async function pharmacyIds(base: string): Promise<string[]> {
  const list = (await (await fetch(`${base}/pharmacies?limit=100`)).json()) as { items: { id: string }[] };
  return list.items.map((pharmacy) => pharmacy.id);
}

interface Run extends Measured {
  /** Seconds from the end of the load until the read model showed every command's version. */
  drainSeconds: number;
  /** The projector process's CPU per command, where it has one. */
  projectorCpuMicrosPerCommand?: number;
  /** The read store process's CPU per command (the local Cosmos DB server: Cosmos DB's work in Azure). */
  readStoreCpuMicrosPerCommand?: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const sameDir = mkdtempSync(join(tmpdir(), 'farmacias-bench-same-'));
  const ownDir = mkdtempSync(join(tmpdir(), 'farmacias-bench-own-'));
  const children: ChildProcess[] = [];
  try {
    const same = await start('../local/main.js', { DATA_DIR: sameDir, LOCAL_HOST_PORT: '0', REQUEST_LOG: 'false' }, /on http:\/\/localhost:(\d+)\/api/);
    children.push(same.child);
    const sameBase = `http://127.0.0.1:${same.match[1]}/api`;
    const login = await fetch(`${sameBase}/auth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', username: DEMO_USERS[0].email, password: DEMO_USERS[0].password }),
    });
    const sameAuth = { authorization: `Bearer ${((await login.json()) as { access_token: string }).access_token}` };
    const sameIds = await pharmacyIds(sameBase);

    const readStore = await start('read-store-process.js', {}, /read store on (\S+) (\S+)/);
    children.push(readStore.child);
    const cosmos = { COSMOS_ENDPOINT: readStore.match[1], COSMOS_KEY: readStore.match[2] };
    const projector = await start('projector-process.js', { DATA_DIR: ownDir, ...cosmos }, /projectors on (\S+) (\S+)/, PROFILE_ARGS);
    children.push(projector.child);
    const own = await start(
      'host-without-projectors.js',
      { DATA_DIR: ownDir, LOCAL_HOST_PORT: '0', ...cosmos },
      /token (\S+)\nhost on http:\/\/127\.0\.0\.1:(\d+)\/api/,
      PROFILE_ARGS,
    );
    children.push(own.child);
    const ownBase = `http://127.0.0.1:${own.match[2]}/api`;
    const ownAuth = { authorization: `Bearer ${own.match[1]}` };
    await ask(projector.child, 'sync', /^synced/);
    const ownIds = await pharmacyIds(ownBase);

    const sample = await (await fetch(`${sameBase}/pharmacies/${sameIds[0]}`)).text();
    const baseline = await start('baseline-server.js', { BASELINE_BODY: sample }, /baseline on (\d+)/);
    children.push(baseline.child);
    const bareUrl = `http://127.0.0.1:${baseline.match[1]}/`;
    console.log(`autocannon: ${CONNECTIONS} connections, ${DURATION_SECONDS} s per run, loopback; ${sameIds.length} and ${ownIds.length} demo pharmacies; ${ROUNDS} rounds\n`);

    const sameVersions = new Map<string, number>();
    const ownVersions = new Map<string, number>();
    const commandsOn = (base: string, ids: string[], auth: Record<string, string>, versions: Map<string, number>) => ({ url: base, requests: pharmacyCommands(ids, auth, versions) });
    const projectorCpu = () => cpuOf(projector.child);
    const readStoreCpu = () => cpuOf(readStore.child);

    // A second of each first, unmeasured: the baseline starts cold where the seeding warmed the hosts.
    await load('warm-up', { url: bareUrl, duration: 1 });
    await load('warm-up', { ...commandsOn(sameBase, sameIds, sameAuth, sameVersions), duration: 1 });
    await load('warm-up', { ...commandsOn(ownBase, ownIds, ownAuth, ownVersions), duration: 1 });
    await untilProjected(sameBase, sameVersions, sameAuth);
    await ask(projector.child, 'sync', /^synced/);

    const rounds: Run[][] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const bare: Run = { ...(await load('bare node:http (baseline)', { url: bareUrl }, baseline.child)), drainSeconds: 0 };

      const sameRun = await load('commands, projectors in the same process', commandsOn(sameBase, sameIds, sameAuth, sameVersions), same.child);
      const sameDrain = await untilProjected(sameBase, sameVersions, sameAuth);

      let cpuBefore = projectorCpu();
      let storeCpuBefore = readStoreCpu();
      const ownRun = await load('commands, projectors in their own process', commandsOn(ownBase, ownIds, ownAuth, ownVersions), own.child);
      const loaded = performance.now();
      await ask(projector.child, 'sync', /^synced/);
      const ownDrain = (performance.now() - loaded) / 1000;
      const ownProjectorCpu = perCommand(projectorCpu(), cpuBefore, ownRun);
      const ownStoreCpu = perCommand(readStoreCpu(), storeCpuBefore, ownRun);

      projector.child.stdin!.write('pause\n');
      cpuBefore = projectorCpu();
      storeCpuBefore = readStoreCpu();
      const pausedRun = await load('commands, projectors paused (then drained)', commandsOn(ownBase, ownIds, ownAuth, ownVersions), own.child);
      const drained = await ask(projector.child, 'resume', /^drained (\d+) (\d+)/);
      const pausedProjectorCpu = perCommand(projectorCpu(), cpuBefore, pausedRun);
      const pausedStoreCpu = perCommand(readStoreCpu(), storeCpuBefore, pausedRun);

      const measured: Run[] = [
        bare,
        { ...sameRun, drainSeconds: sameDrain },
        { ...ownRun, drainSeconds: ownDrain, projectorCpuMicrosPerCommand: ownProjectorCpu, readStoreCpuMicrosPerCommand: ownStoreCpu },
        { ...pausedRun, drainSeconds: Number(drained[2]) / 1000, projectorCpuMicrosPerCommand: pausedProjectorCpu, readStoreCpuMicrosPerCommand: pausedStoreCpu },
      ];
      rounds.push(measured);
      console.log(`round ${round}: ${measured.map((m) => `${m.label} ${Math.round(m.requestsPerSecond)}/s ${(m.requestsPerSecond / bare.requestsPerSecond).toFixed(3)}×`).join('; ')}; paused backlog ${drained[1]} events in ${drained[2]} ms`);
    }
    printMedians(rounds);

    // Nothing lost: every pharmacy a command changed shows its last version, in both read models.
    await untilProjected(sameBase, sameVersions, sameAuth);
    console.log(`same process: the read model shows the last version of all ${sameVersions.size} pharmacies the commands changed`);
    const synced = await ask(projector.child, 'sync', /^synced (\d+)/);
    const verified = await ask(projector.child, `verify ${JSON.stringify(Object.fromEntries(ownVersions))}`, /^verified (\d+) (\d+) (\d+)/);
    console.log(`own process: the read model shows the last version of ${verified[1]} of ${verified[2]} pharmacies the commands changed; ${verified[3]} events projected, the event store's last position ${synced[1]}`);
    if (verified[1] !== verified[2] || verified[3] !== synced[1]) process.exitCode = 1;

    await feedApart(ownBase, ownAuth, ownIds, { projector: projector.child, host: own.child, readStore: readStore.child });
  } finally {
    for (const child of children.reverse()) await stop(child);
    rmSync(sameDir, { recursive: true, force: true });
    rmSync(ownDir, { recursive: true, force: true });
  }
}

const FEED_BATCH = 500;
const FEED_CONNECTIONS = 2;

/**
 * The partner feed with its projection apart: the host (no projector in its process) takes
 * price feeds while the projector process is paused, then the projector process drains them.
 * Each connection has its own 500 offers, so two batches never write the same streams.
 */
async function feedApart(base: string, auth: Record<string, string>, pharmacies: string[], { projector, host, readStore }: Record<'projector' | 'host' | 'readStore', ChildProcess>) {
  const { items: products } = (await (await fetch(`${base}/products?limit=100`)).json()) as { items: { id: string }[] };
  const pairs = pharmacies.flatMap((pharmacyId) => products.map(({ id: productId }) => ({ pharmacyId, productId })));
  if (pairs.length < FEED_BATCH * FEED_CONNECTIONS) throw new Error(`the demo data has ${pairs.length} (pharmacy, product) pairs, fewer than the feed needs`);
  const validity = { validFrom: new Date(Date.now() - 86_400_000).toISOString(), validUntil: new Date(Date.now() + 30 * 86_400_000).toISOString(), stock: 'in_stock' };
  let nextSlice = 0;
  let round = 0;
  const feed = {
    method: 'POST',
    path: '/api/offers/batch',
    setupRequest: (request: autocannon.Request, context: Record<string, number>) => {
      context.slice ??= nextSlice++ % FEED_CONNECTIONS;
      round += 1;
      const slice = pairs.slice(context.slice * FEED_BATCH, (context.slice + 1) * FEED_BATCH);
      const items = slice.map((pair, i) => ({ ...pair, priceCents: 1_000 + ((round * 7 + i) % 900), ...validity }));
      // Keyed, as partners are told to send it: the claim and the answer stored with the items are part of the cost.
      const headers = { 'content-type': 'application/json', 'idempotency-key': `bench-feed-${randomUUID()}`, ...auth };
      return { ...request, headers, body: JSON.stringify({ items }) };
    },
  } as autocannon.Request;
  // The offers first published (unmeasured), so the measured batches are all price changes.
  await load('feed warm-up', { url: base, connections: FEED_CONNECTIONS, amount: FEED_CONNECTIONS, requests: [feed] });
  await ask(projector, 'sync', /^synced/);

  projector.stdin!.write('pause\n');
  const accepted = await load('partner feed, projectors paused', { url: base, connections: FEED_CONNECTIONS, requests: [feed] }, host);
  const before = { projector: cpuOf(projector), readStore: cpuOf(readStore) };
  const drained = await ask(projector, 'resume', /^drained (\d+) (\d+)/);
  const events = Number(drained[1]);
  const drainSeconds = Number(drained[2]) / 1000;
  const perEvent = (after: number | undefined, start: number | undefined) => (after === undefined || start === undefined ? '?' : String(Math.round((after - start) / events)));
  console.log(
    `\npartner feed apart (${FEED_CONNECTIONS} connections, ${FEED_BATCH}-item keyed batches of price changes, ${accepted.non2xx} non-2xx): ` +
      `accepted ${Math.round(accepted.requestsPerSecond * FEED_BATCH)} offers/s, host CPU ${accepted.cpuMicrosPerRequest === undefined ? '?' : Math.round(accepted.cpuMicrosPerRequest / FEED_BATCH)} µs per offer; ` +
      `then ${events} offer events projected into their three read models in ${drainSeconds.toFixed(1)} s (${Math.round(events / drainSeconds)}/s), ` +
      `CPU per event: projector process ${perEvent(cpuOf(projector), before.projector)} µs, read store process ${perEvent(cpuOf(readStore), before.readStore)} µs`,
  );
}

function cpuOf(child: ChildProcess): number | undefined {
  return cpuMicros(child.pid);
}

function perCommand(after: number | undefined, before: number | undefined, run: Measured): number | undefined {
  return after === undefined || before === undefined ? undefined : (after - before) / (run.requestsPerSecond * DURATION_SECONDS);
}

function printMedians(rounds: Run[][]) {
  const bareCpuPerRound = rounds.map((measured) => measured[0].cpuMicrosPerRequest).filter((value) => value !== undefined);
  const bareCpu = bareCpuPerRound.length ? median(bareCpuPerRound) : undefined;
  const rows = rounds[0].map((first, index) => {
    const of = rounds.map((measured) => measured[index]);
    const ratios = rounds.map((measured) => measured[index].requestsPerSecond / measured[0].requestsPerSecond);
    const cpu = of.map((m) => m.cpuMicrosPerRequest).filter((value) => value !== undefined);
    const projectorCpu = of.map((m) => m.projectorCpuMicrosPerCommand).filter((value) => value !== undefined);
    const readStoreCpu = of.map((m) => m.readStoreCpuMicrosPerCommand).filter((value) => value !== undefined);
    return {
      run: first.label,
      'req/s': Math.round(median(of.map((m) => m.requestsPerSecond))),
      'p99 ms': median(of.map((m) => m.p99Ms)),
      'ratio (median)': median(ratios).toFixed(3),
      'ratios by round': ratios.map((ratio) => ratio.toFixed(3)).join(' '),
      'non-2xx': of.reduce((sum, m) => sum + m.non2xx, 0),
      'host CPU µs/req': cpu.length ? Math.round(median(cpu)) : '',
      // The same ratio in CPU: far steadier than req/s on a machine other work shares.
      'CPU ratio': cpu.length && bareCpu ? (bareCpu / median(cpu)).toFixed(3) : '',
      'projector CPU µs/cmd': projectorCpu.length ? Math.round(median(projectorCpu)) : '',
      'read store CPU µs/cmd': readStoreCpu.length ? Math.round(median(readStoreCpu)) : '',
      'read model caught up, s': index === 0 ? '' : median(of.map((m) => m.drainSeconds)).toFixed(1),
    };
  });
  console.table(rows);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
