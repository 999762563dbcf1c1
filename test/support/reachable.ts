import { execFileSync } from 'node:child_process';

/**
 * Whether a TCP service answers, decided synchronously (tests are declared, and skipped,
 * before anything asynchronous runs): a child process tries to connect for a second.
 */
export function reachable(url: string): boolean {
  const { hostname, port } = new URL(url);
  const probe = `require('net').connect(${Number(port)}, ${JSON.stringify(hostname)}).on('connect', () => process.exit(0)).on('error', () => process.exit(1)).setTimeout(1000, () => process.exit(1))`;
  try {
    execFileSync(process.execPath, ['-e', probe], { stdio: 'ignore', timeout: 3000 });
    return true;
  } catch {
    return false;
  }
}

/** Skip with a message where a service is absent; under CI=true it must be there, so never skip. */
export function skipUnlessReachable(service: string, setting: string, url: string): string | false {
  if (reachable(url) || process.env.CI === 'true') return false;
  return `${service} is not reachable at ${url}: start it or set ${setting} (required under CI=true)`;
}
