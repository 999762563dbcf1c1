import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { connect } from 'amqplib';
import { freePort } from './free-port';
import { endProcess } from './processes';

const SERVER = process.env.RABBITMQ_SERVER_BIN ?? '/usr/sbin/rabbitmq-server';

/** Why a private broker cannot be started here (a skip message), or false; under CI=true it must be possible, so never a skip. */
export function privateRabbitMqUnavailable(): string | false {
  if (process.env.CI === 'true') return false;
  if (!existsSync(SERVER)) return `RabbitMQ is not installed (${SERVER}): the test starts a broker of its own (set RABBITMQ_SERVER_BIN; required under CI=true)`;
  return false;
}


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A RabbitMQ node of the test's own, on spare ports with its own data folder (never the
 * machine's shared broker): it can be stopped, started again (its durable queues and
 * messages kept) and frozen (SIGSTOP on its Erlang VM, the way a hung broker looks).
 */
export class RabbitMqNode {
  private pid?: number;
  private launcher?: number;

  private constructor(
    readonly name: string,
    readonly port: number,
    private readonly distPort: number,
    private readonly base: string,
  ) {}

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  static async start(): Promise<RabbitMqNode> {
    const id = randomUUID().slice(0, 8);
    const base = `/tmp/farmacias-rabbitmq-${id}`;
    for (const dir of [base, `${base}/mnesia`, `${base}/log`]) mkdirSync(dir, { recursive: true });
    // The server script runs the node as the rabbitmq user when started by root.
    if (process.getuid?.() === 0) {
      try {
        const ids = execFileSync('id', ['-u', 'rabbitmq']).toString().trim();
        const gid = execFileSync('id', ['-g', 'rabbitmq']).toString().trim();
        for (const dir of [base, `${base}/mnesia`, `${base}/log`]) chownSync(dir, Number(ids), Number(gid));
      } catch {
        // No rabbitmq user: the node runs as root.
      }
    }
    const node = new RabbitMqNode(`farmacias-test-${id}@localhost`, await freePort(), await freePort(), base);
    await node.boot();
    return node;
  }

  private async boot() {
    const child = spawn(SERVER, [], {
      cwd: '/tmp',
      detached: true,
      stdio: 'ignore',
      env: {
        ...process.env,
        RABBITMQ_NODENAME: this.name,
        RABBITMQ_NODE_PORT: String(this.port),
        RABBITMQ_DIST_PORT: String(this.distPort),
        RABBITMQ_MNESIA_BASE: `${this.base}/mnesia`,
        RABBITMQ_LOG_BASE: `${this.base}/log`,
        RABBITMQ_ENABLED_PLUGINS_FILE: `${this.base}/enabled_plugins`,
      },
    });
    child.unref();
    this.launcher = child.pid;
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const model = await connect(this.url, { timeout: 1_000 });
        await model.close();
        break;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`the test's RabbitMQ node did not start within 60 s (logs in ${this.base}/log): ${(error as Error).message}`);
        await sleep(250);
      }
    }
    this.pid = this.vmPid();
    // A test run that ends abruptly (a timeout, --test-force-exit) must not leave the node running, or frozen.
    const pid = this.pid;
    process.once('exit', () => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    });
  }

  /** The Erlang VM of this node: the beam among the descendants of the script this test started (so never another broker's). */
  private vmPid(): number {
    const processes = execFileSync('ps', ['-eo', 'pid=,ppid=,comm='])
      .toString()
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields.length >= 3)
      .map(([pid, ppid, comm]) => ({ pid: Number(pid), ppid: Number(ppid), comm }));
    const family = new Set([this.launcher]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const entry of processes) {
        if (family.has(entry.ppid) && !family.has(entry.pid)) {
          family.add(entry.pid);
          grew = true;
        }
      }
    }
    const vm = processes.find((entry) => family.has(entry.pid) && entry.comm.startsWith('beam'));
    if (!vm) throw new Error(`no Erlang VM found for ${this.name}`);
    return vm.pid;
  }

  freeze(): void {
    if (this.pid) process.kill(this.pid, 'SIGSTOP');
  }

  thaw(): void {
    if (this.pid) process.kill(this.pid, 'SIGCONT');
  }

  /** Kills the node (as a crash would) and waits until its VM is gone. */
  async stop(): Promise<void> {
    const pid = this.pid;
    this.pid = undefined;
    if (pid) await endProcess(pid, 'SIGKILL', 10_000);
  }

  /**
   * Stops the node as an operator would (SIGTERM: RabbitMQ closes its connections with a
   * shutdown reason and flushes its queues) and waits until its VM is gone (killed after 30 s).
   */
  async shutdown(): Promise<void> {
    const pid = this.pid;
    this.pid = undefined;
    if (pid) await endProcess(pid, 'SIGTERM', 30_000);
  }

  /** Starts the node again on the same ports and data (durable queues and their messages come back). */
  async restart(): Promise<void> {
    await this.boot();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.base, { recursive: true, force: true });
  }
}
