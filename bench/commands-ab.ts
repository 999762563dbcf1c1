// `npm run bench:commands:ab -- <checkout>`: this checkout's commands against another's (a
// commit before a change, built with `npx tsc` in a worktree), both hosts up at once on one
// read store, taking turns under the same load (`npm run bench:commands:http`'s PATCHes, its
// projectors paused): the machine's slow and fast spells fall on both alike, which runs one
// after the other cannot promise. Reports each host's CPU per command and req/s, run by run
// and their medians. BENCH_PAIRS (8) turns each, BENCH_SECONDS (5) a run, BENCH_CONNECTIONS.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { load, pharmacyCommands, start, stop } from './http-load';

const PAIRS = Number(process.env.BENCH_PAIRS ?? 8);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

interface Host {
  name: string;
  child: ChildProcess;
  base: string;
  auth: Record<string, string>;
  ids: string[];
  versions: Map<string, number>;
  cpu: number[];
  requestsPerSecond: number[];
}

/** The seeded pharmacies, from the event store: the read model stays empty with no projector. */
function pharmacyIdsIn(dataDir: string): string[] {
  const db = new Database(join(dataDir, 'events.sqlite'), { readonly: true });
  try {
    return db.prepare("SELECT DISTINCT substr(stream_id, 10) FROM events WHERE stream_id LIKE 'pharmacy-%'").pluck().all() as string[];
  } finally {
    db.close();
  }
}

async function startHost(name: string, checkout: string, dataDir: string, cosmos: Record<string, string>): Promise<Host> {
  const script = resolve(checkout, 'dist/bench/host-without-projectors.js');
  const { child, match } = await start(script, { DATA_DIR: dataDir, LOCAL_HOST_PORT: '0', ...cosmos }, /token (\S+)\nhost on http:\/\/127\.0\.0\.1:(\d+)\/api/);
  return { name, child, base: `http://127.0.0.1:${match[2]}/api`, auth: { authorization: `Bearer ${match[1]}` }, ids: pharmacyIdsIn(dataDir), versions: new Map(), cpu: [], requestsPerSecond: [] };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const baseline = process.argv[2];
  if (!baseline) throw new Error('name the other checkout: npm run bench:commands:ab -- <path> (built with npx tsc)');
  const dirs = [mkdtempSync(join(tmpdir(), 'farmacias-ab-this-')), mkdtempSync(join(tmpdir(), 'farmacias-ab-other-'))];
  const children: ChildProcess[] = [];
  try {
    const readStore = await start('read-store-process.js', {}, /read store on (\S+) (\S+)/);
    children.push(readStore.child);
    const cosmos = { COSMOS_ENDPOINT: readStore.match[1], COSMOS_KEY: readStore.match[2] };
    const hosts = [await startHost('this checkout', resolve(__dirname, '../..'), dirs[0], cosmos), await startHost(`other (${baseline})`, baseline, dirs[1], cosmos)];
    children.push(...hosts.map((host) => host.child));
    const run = (host: Host, duration: number) => load(host.name, { url: host.base, requests: pharmacyCommands(host.ids, host.auth, host.versions), duration }, host.child);
    for (const host of hosts) await run(host, 2);
    console.log(`${PAIRS} turns each of ${SECONDS} s, the first host first on even turns`);
    for (let turn = 0; turn < PAIRS; turn++) {
      for (const host of turn % 2 ? [...hosts].reverse() : hosts) {
        const measured = await run(host, SECONDS);
        if (measured.non2xx > 0) throw new Error(`${host.name}: ${measured.non2xx} requests failed`);
        host.cpu.push(Math.round(measured.cpuMicrosPerRequest ?? NaN));
        host.requestsPerSecond.push(Math.round(measured.requestsPerSecond));
      }
    }
    console.table(
      hosts.map((host) => ({
        host: host.name,
        'CPU µs per command': host.cpu.join(' '),
        'median CPU': median(host.cpu),
        'req/s': host.requestsPerSecond.join(' '),
        'median req/s': median(host.requestsPerSecond),
      })),
    );
    const [mine, other] = hosts;
    console.log(`this checkout's CPU per command is ${(median(mine.cpu) / median(other.cpu)).toFixed(2)}× the other's; its req/s ${(median(mine.requestsPerSecond) / median(other.requestsPerSecond)).toFixed(2)}×`);
  } finally {
    for (const child of children.reverse()) await stop(child);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
