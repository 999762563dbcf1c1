// `npm run bench:cold-start`: what a Functions cold start costs the app itself, each
// figure the median of 7 fresh processes: loading the entry point (registration only),
// then composing the services on first use (embedded, then RabbitMQ and Redis when
// reachable), with a bare `node -e 0` process as the baseline of the same run. When
// .package exists (`npm run package`), also from the deployed package: its entry point,
// and the Azure SDKs an Azure instance loads on first use.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUNS = 7;
const root = join(__dirname, '..', '..');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Runs `script` in a fresh Node process and reads the milliseconds it prints. */
function measure(script: string, env: Record<string, string> = {}, cwd = root): number[] {
  return Array.from({ length: RUNS }, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'farmacias-cold-'));
    try {
      const out = execFileSync(process.execPath, ['-e', script], {
        cwd,
        env: { ...process.env, DATA_DIR: dataDir, REQUEST_LOG: 'false', SEED_DEMO_DATA: 'false', ...env },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      return Number(out.trim().split('\n').pop());
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

const load = `const t = performance.now(); require('./dist/functions/index.js'); console.log(performance.now() - t)`;
const compose = `
  const { lazyServices } = require('./dist/shared/kernel/composition');
  const { READ_CONTAINERS } = require('./dist/shared/platform/app');
  const t = performance.now();
  lazyServices(READ_CONTAINERS)().then(async (services) => {
    const ms = performance.now() - t;
    await services.close();
    console.log(ms);
    process.exit(0);
  });`;

const processStart = (() => {
  const times = Array.from({ length: RUNS }, () => {
    const started = performance.now();
    execFileSync(process.execPath, ['-e', '0']);
    return performance.now() - started;
  });
  return median(times);
})();
const rows = [
  { step: 'bare node process (baseline, wall clock)', ms: processStart },
  { step: 'load dist/functions/index.js (registration)', ms: median(measure(load)) },
  { step: 'compose on first use: embedded', ms: median(measure(compose)) },
];
try {
  rows.push({
    step: 'compose on first use: RabbitMQ + Redis',
    ms: median(measure(compose, { RABBITMQ_URL: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672', REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' })),
  });
} catch {
  console.log('(RabbitMQ or Redis not reachable: the services row is left out)');
}
const packaged = join(root, '.package');
if (existsSync(join(packaged, 'dist', 'functions', 'index.js'))) {
  const azureSdks = `const t = performance.now(); for (const m of ['mssql', '@azure/service-bus', '@azure/cosmos', '@azure/identity', 'redis', '@redis/entraid', 'applicationinsights']) require(m); console.log(performance.now() - t)`;
  rows.push({ step: 'load dist/functions/index.js from .package', ms: median(measure(load, {}, packaged)) });
  rows.push({ step: 'load the Azure SDKs from .package (Azure first use)', ms: median(measure(azureSdks, {}, packaged)) });
} else {
  console.log('(no .package: run npm run package for the package rows)');
}
console.table(rows.map((row) => ({ step: row.step, 'median ms': row.ms.toFixed(1) })));
