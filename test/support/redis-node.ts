import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';
import { endProcess } from './processes';

const SERVER = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';

/** Why a private Redis cannot be started here (a skip message), or false; under CI=true it must be possible, so never a skip. */
export function privateRedisUnavailable(): string | false {
  if (process.env.CI === 'true') return false;
  if (!existsSync(SERVER)) return `Redis is not installed (${SERVER}): the test starts a Redis of its own (set REDIS_SERVER_BIN; required under CI=true)`;
  return false;
}


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether Redis answers PING on the port (a raw RESP exchange: no client library, no reconnection logic). */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}

/**
 * A Redis of the test's own, on a spare port with its own folder and no persistence
 * (`--save ''`, no AOF: a killed Redis comes back empty, as a cache may). It can be
 * killed (SIGKILL, a crash), started again on the same port, and frozen (SIGSTOP: the
 * connections stay open and nothing answers, the way a hung server looks).
 */
export class RedisNode {
  private pid?: number;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<RedisNode> {
    const node = new RedisNode(await freePort(), mkdtempSync(join(tmpdir(), 'farmacias-redis-')));
    await node.boot();
    return node;
  }

  private async boot() {
    const child = spawn(
      SERVER,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', join(this.dir, 'redis.log')],
      { cwd: this.dir, stdio: 'ignore', detached: true },
    );
    child.unref();
    const exited = new Promise<string>((resolve) => child.once('exit', (code) => resolve(`redis-server exited with ${code} (log in ${this.dir}/redis.log)`)));
    this.pid = child.pid;
    // A test run that ends abruptly (a timeout, --test-force-exit) must not leave it running, or frozen.
    const pid = child.pid;
    process.once('exit', () => {
      try {
        if (pid) process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    });
    const deadline = Date.now() + 10_000;
    let failed: string | undefined;
    void exited.then((reason) => (failed = reason));
    while (!(await answersPing(this.port))) {
      if (failed) throw new Error(failed);
      if (Date.now() > deadline) throw new Error(`the test's Redis did not answer within 10 s on port ${this.port}`);
      await sleep(50);
    }
  }

  freeze(): void {
    if (this.pid) process.kill(this.pid, 'SIGSTOP');
  }

  thaw(): void {
    if (this.pid) process.kill(this.pid, 'SIGCONT');
  }

  /** Kills Redis (as a crash would: no shutdown, nothing saved) and waits until the process is gone. */
  async kill(): Promise<void> {
    const pid = this.pid;
    this.pid = undefined;
    if (pid) await endProcess(pid, 'SIGKILL', 5_000);
  }

  /** Starts Redis again on the same port (empty: nothing was saved). */
  async restart(): Promise<void> {
    await this.boot();
  }

  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
