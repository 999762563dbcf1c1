// What the HTTP benchmarks share: child processes started and stopped, an autocannon run
// with the serving process's CPU time per request, and the wait for a read model to show
// the versions the commands returned.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import autocannon from 'autocannon';

export const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);

/** Starts `script` (beside this file, or an absolute path) and resolves once its stdout matches `ready`. */
export function start(script: string, env: Record<string, string>, ready: RegExp, nodeArgs: string[] = []): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(process.execPath, [...nodeArgs, resolvePath(__dirname, script)], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let output = '';
    let started = false;
    const timer = setTimeout(() => reject(new Error(`${script} did not start: ${output}`)), 120_000);
    // Read to the end even once started: a pipe nobody reads would block the child's writes.
    child.stdout!.on('data', (chunk: Buffer) => {
      if (started) return;
      output += chunk;
      const match = output.match(ready);
      if (match) {
        started = true;
        clearTimeout(timer);
        resolve({ child, match });
      }
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}: ${output}`)));
  });
}

export async function stop(child: ChildProcess) {
  child.removeAllListeners('exit');
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

export interface Measured {
  label: string;
  requestsPerSecond: number;
  p99Ms: number;
  non2xx: number;
  /** The serving process's CPU time per request, when it is known (Linux). */
  cpuMicrosPerRequest?: number;
}

/**
 * A process's CPU time so far in µs (user and system, from /proc), undefined where there
 * is no /proc. On a machine shared with other loads the req/s of a server moves with what
 * else runs; the CPU it spends per request moves far less.
 */
export function cpuMicros(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime are fields 14 and 15 of stat, the 12th and 13th after the command name.
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
/** USER_HZ, the unit of /proc's CPU times: 100 on every Linux that Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** `server` is the process serving the load, for its CPU time per request. */
export async function load(label: string, options: autocannon.Options, server?: ChildProcess): Promise<Measured> {
  const cpuBefore = cpuMicros(server?.pid);
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION_SECONDS, timeout: 30, ...options });
  const cpuAfter = cpuMicros(server?.pid);
  const cpuMicrosPerRequest = cpuBefore === undefined || cpuAfter === undefined ? undefined : (cpuAfter - cpuBefore) / result.requests.total;
  return { label, requestsPerSecond: result.requests.average, p99Ms: result.latency.p99, non2xx: result.non2xx + result.errors, cpuMicrosPerRequest };
}

/** Seconds until every pharmacy's read model, read through the host, shows the last version a command returned. */
export async function untilProjected(base: string, latestVersion: Map<string, number>, auth: Record<string, string>): Promise<number> {
  const started = performance.now();
  for (const [id, version] of latestVersion) {
    for (;;) {
      const read = await fetch(`${base}/pharmacies/${id}`, { headers: { 'x-min-version': String(version), ...auth } });
      if (((await read.json()) as { version: number }).version >= version) break;
      // Far behind (more than MAX_VERSIONS_AHEAD), the read does not wait: poll gently.
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (performance.now() - started > 300_000) throw new Error('the projector did not catch up in 5 minutes');
    }
  }
  return (performance.now() - started) / 1000;
}

/**
 * The PATCH of a pharmacy's trade name, one pharmacy per connection (the commands measure
 * the pipeline, not write conflicts); each 200's version is kept in `latestVersion`.
 */
export function pharmacyCommands(ids: string[], auth: Record<string, string>, latestVersion: Map<string, number>): autocannon.Request[] {
  let next = 0;
  let counter = 0;
  return [
    {
      method: 'PATCH',
      setupRequest: (request: autocannon.Request, context: Record<string, string>) => {
        context.id ??= ids[next++ % ids.length];
        counter += 1;
        return {
          ...request,
          path: `/api/pharmacies/${context.id}`,
          headers: { 'content-type': 'application/json', ...auth },
          body: JSON.stringify({ tradeName: `Drogaria Bench ${counter}` }),
        };
      },
      onResponse: (status: number, body: string, context: Record<string, string>) => {
        if (status === 200) latestVersion.set(context.id, Math.max(latestVersion.get(context.id) ?? 0, JSON.parse(body).version));
      },
    } as autocannon.Request,
  ];
}
