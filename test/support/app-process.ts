import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { childEnv } from './child-env';
import { until } from './fault-load';

/** `npm start`'s entry as a child process, with its output kept for the failure messages. */
export class AppProcess {
  /** This run's output (for its 'serving' line), and every run's (for the failure messages). */
  output = '';
  history = '';
  private child?: ChildProcess;

  constructor(
    private readonly env: Record<string, string>,
    readonly base: string,
  ) {}

  /** Starts it and resolves, with the ms it took, once it says it serves; rejects with its output if it exits first. */
  async start(): Promise<number> {
    const started = Date.now();
    // Each run's own output: the last run's 'serving' line must not count for this one.
    this.output = '';
    this.history += `--- started at ${new Date().toISOString()}\n`;
    const child = spawn(process.execPath, [join(__dirname, '../../local/main.js')], { env: childEnv({ ...this.env, CI: '' }), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.on('data', (chunk) => {
        this.output += chunk;
        this.history += chunk;
      });
    }
    const exited = new Promise<string>((resolve) => child.once('exit', (code) => resolve(`exited with ${code}`)));
    const serving = until('the app says it serves', 60_000, async () => this.output.includes('Farmácias platform on')).then(() => 'serving');
    assert.equal(await Promise.race([serving, exited]), 'serving', `the app did not start:\n${this.output}`);
    return Date.now() - started;
  }

  /** SIGKILL, as a crash or an OOM kill: nothing runs after it. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
