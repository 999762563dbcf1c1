import { spawn } from 'node:child_process';

/**
 * Another process holding a SQLite file's lock (`BEGIN IMMEDIATE`: the write lock;
 * `BEGIN EXCLUSIVE`: readers of a rollback journal wait too), as an operator's sqlite3 shell
 * would, until `release`, or for `forMs` only (a second host's own transaction), then let go
 * by the holder itself: this process may be waiting for it in place meanwhile.
 */
export async function lockHeldElsewhere(file: string, mode: 'IMMEDIATE' | 'EXCLUSIVE', { forMs }: { forMs?: number } = {}): Promise<{ release(): Promise<void> }> {
  const letGo = forMs === undefined ? '' : `setTimeout(() => db.exec('COMMIT'), ${forMs});`;
  const holder = spawn(
    process.execPath,
    ['-e', `const db = new (require('better-sqlite3'))(${JSON.stringify(file)}); db.exec('BEGIN ${mode}'); console.log('held'); ${letGo} setInterval(() => {}, 1000);`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const release = async () => {
    holder.kill('SIGKILL');
    if (holder.exitCode === null && holder.signalCode === null) await new Promise((exited) => holder.once('exit', exited));
  };
  await new Promise((held, failed) => {
    holder.stdout!.once('data', held);
    holder.once('exit', (code) => failed(new Error(`the lock holder exited (${code}) before holding the lock`)));
  }).catch(async (error: unknown) => {
    await release();
    throw error;
  });
  return { release };
}
