// Builds the Function App package in .package/: the compiled functions and shared code
// (no tests, benchmarks, local host, tools, source maps or declarations), host.json,
// package.json and the production dependencies only. azd (azure.yaml, dist: .package) and
// the deploy workflow ship that folder as it is.
//   npm run package [-- --out <folder>]
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../shared/kernel/project-root';
import { runWhenMain } from './cli';

const USAGE = 'usage: package [--out <folder>]';

/** The compiled folders the Functions host loads; everything else under dist/ stays behind. */
export const PACKAGED_FOLDERS = ['dist/functions', 'dist/shared'];
export const PACKAGED_FILES = ['package.json', 'package-lock.json', 'host.json'];

/** Whether a compiled file belongs in the package: JavaScript only. */
export function shipsFile(path: string): boolean {
  return path.endsWith('.js');
}

/** The bytes and files under a folder, for the packaging commands' summary line. */
export function folderSize(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    bytes += statSync(join(entry.parentPath, entry.name)).size;
    files += 1;
  }
  return { bytes, files };
}

/**
 * Where a packaging command writes, which it empties first: outside the repository, or a
 * `.package…` folder at its top. Anything else (`.`, `web`, a parent of the repository) would
 * lose source files, so it is refused.
 */
export function packageFolder(root: string, requested: string): string {
  const out = resolve(root, requested);
  if (out === root || root.startsWith(out.endsWith(sep) ? out : out + sep)) throw new Error(`--out ${requested} would empty the repository: choose a folder outside it, or .package… inside it`);
  const inside = relative(root, out);
  const outsideRepository = inside === '..' || inside.startsWith(`..${sep}`);
  if (!outsideRepository && !inside.split(sep)[0].startsWith('.package')) {
    throw new Error(`--out ${requested} is inside the repository: only a .package… folder at its top may be emptied`);
  }
  return out;
}

export function buildPackage(root: string, out: string): { bytes: number; files: number } {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const file of PACKAGED_FILES) copyFileSync(join(root, file), join(out, file));
  for (const folder of PACKAGED_FOLDERS) {
    cpSync(join(root, folder), join(out, folder), {
      recursive: true,
      filter: (source) => statSync(source).isDirectory() || shipsFile(source),
    });
  }
  // Install scripts are skipped: the one native module (better-sqlite3) serves only the
  // embedded profile, which an Azure instance refuses before anything opens.
  execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: out, stdio: 'inherit' });
  return folderSize(out);
}

runWhenMain(module, async (argv) => {
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string' } } });
  const root = projectRoot();
  const out = packageFolder(root, values.out ?? '.package');
  const { bytes, files } = buildPackage(root, out);
  console.log(`${relative(root, out) || out}: ${files} files, ${(bytes / 1024 / 1024).toFixed(1)} MB`);
  return 0;
}, USAGE);
