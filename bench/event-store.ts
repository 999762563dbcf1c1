// `npm run bench:event-store`: the embedded (SQLite) event store's share of a command, as
// the local host pays it: a pharmacy's event appended on its expected version, then its
// stream's tail loaded, round-robin over 24 streams (as `npm run bench:commands:http`'s
// connections do), one after the other. The WAL checkpoint interval is weighed: SQLite's
// default (1 000 pages), the store's (WAL_PAGES_PER_CHECKPOINT) and 10 000, in rounds that
// take turns, each on a new file warmed by BENCH_WARM_UP appends first (default 10 000),
// then BENCH_APPENDS (default 30 000) timed: mean wall and CPU per append and load, the
// latency's p50/p99/p99.9 and its worst (a checkpoint's pause), and the WAL file's size.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore, WAL_PAGES_PER_CHECKPOINT } from '../shared/adapters/sqlite/event-store';

const APPENDS = Number(process.env.BENCH_APPENDS) || 30_000;
const WARM_UP = Number(process.env.BENCH_WARM_UP) || 10_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS) || 2;
const STREAMS = 24;
const INTERVALS = [...new Set([1_000, WAL_PAGES_PER_CHECKPOINT, 10_000])];

interface Row {
  'pages per checkpoint': number;
  round: number;
  'wall µs': number;
  'CPU µs': number;
  'p50 ms': string;
  'p99 ms': string;
  'p99.9 ms': string;
  'worst ms': string;
  'WAL MB': string;
}

async function measure(walPagesPerCheckpoint: number, round: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'farmacias-bench-es-'));
  const file = join(dir, 'events.sqlite');
  const store = SqliteEventStore.open(file, { walPagesPerCheckpoint });
  try {
    const versions = new Array<number>(STREAMS).fill(0);
    const changedBy = randomUUID();
    const command = async (index: number) => {
      const stream = index % STREAMS;
      const streamId = `pharmacy-${stream}`;
      const data = { pharmacyId: streamId, tradeName: `Drogaria Bench ${index}`, changedAt: new Date().toISOString(), changedBy };
      await store.append(streamId, versions[stream], [{ eventId: randomUUID(), type: 'PharmacyRenamed', data, metadata: { correlationId: randomUUID() } }]);
      versions[stream] += 1;
      await store.loadStream(streamId, 'pharmacy/v1', versions[stream] - 1);
    };
    for (let index = 0; index < WARM_UP; index++) await command(index);
    const latencies = new Float64Array(APPENDS);
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let index = 0; index < APPENDS; index++) {
      const at = performance.now();
      await command(WARM_UP + index);
      latencies[index] = performance.now() - at;
    }
    const wallMs = performance.now() - started;
    const { user, system } = process.cpuUsage(cpu);
    const walBytes = statSync(`${file}-wal`).size;
    latencies.sort();
    const at = (share: number) => latencies[Math.min(APPENDS - 1, Math.floor(share * APPENDS))].toFixed(3);
    return {
      'pages per checkpoint': walPagesPerCheckpoint,
      round,
      'wall µs': Math.round((wallMs * 1000) / APPENDS),
      'CPU µs': Math.round((user + system) / APPENDS),
      'p50 ms': at(0.5),
      'p99 ms': at(0.99),
      'p99.9 ms': at(0.999),
      'worst ms': latencies[APPENDS - 1].toFixed(1),
      'WAL MB': (walBytes / 1e6).toFixed(1),
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  console.log(`SQLite event store: ${WARM_UP} appends to warm up, then ${APPENDS} timed (append, then the stream's tail loaded), ${STREAMS} streams, ${ROUNDS} rounds; the store's interval is ${WAL_PAGES_PER_CHECKPOINT} pages\n`);
  const rows: Row[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const interval of INTERVALS) rows.push(await measure(interval, round));
  }
  console.table(rows);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
