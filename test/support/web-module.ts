import { buildSync } from 'esbuild';
import { join } from 'node:path';
import { projectRoot } from '../../shared/kernel/project-root';

/**
 * A module of the web app (web/src, TypeScript for the browser) loaded in Node: bundled by
 * esbuild (Vite's own) into CommonJS and evaluated, with the browser globals it needs
 * (sessionStorage, fetch…) left to the test to provide on globalThis. Pure logic only.
 */
export function webModule<T>(path: string): T {
  const bundle = buildSync({ entryPoints: [join(projectRoot(), 'web', 'src', path)], bundle: true, format: 'cjs', platform: 'neutral', write: false, logLevel: 'silent' });
  const module = { exports: {} as T };
  new Function('module', 'exports', bundle.outputFiles[0].text)(module, module.exports);
  return module.exports;
}
