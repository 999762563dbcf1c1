import { describe, it } from 'node:test';

/**
 * A suite that needs something this machine may not have. node:test does not count a
 * skipped `describe` in its summary ("skipped 0" while whole suites did not run), so a
 * suite that cannot run is reported as one skipped test under its own name, with the reason.
 */
export function suiteNeeding(name: string, skip: string | false, body: () => void): void {
  if (skip) it(name, { skip }, () => {});
  else describe(name, body);
}
