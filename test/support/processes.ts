const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Ends a service process the test started: thawed first (a frozen process would hold the
 * signal), then `signal`, then waits until it is gone; after `withinMs` it is killed, so
 * that a restart finds its ports free. Resolves at once for a process already gone.
 */
export async function endProcess(pid: number, signal: 'SIGKILL' | 'SIGTERM', withinMs: number): Promise<void> {
  try {
    process.kill(pid, 'SIGCONT');
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(50);
  }
  if (signal !== 'SIGKILL') process.kill(pid, 'SIGKILL');
}
