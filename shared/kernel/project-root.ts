import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The folder holding package.json: assets (SQL, OpenAPI) are read from the source tree. */
export function projectRoot(from: string = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + from);
    dir = parent;
  }
  return dir;
}
