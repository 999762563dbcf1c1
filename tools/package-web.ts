// Builds the web app for Azure Static Web Apps in .package-web/: the app compiled against
// API Management's gateway (each API under its own path there, web/src/gateway.ts), and the
// site's staticwebapp.config.json: the same headers the local host sends (local/web-app.ts),
// but for the gateway as the one other origin the app may call, and the same caching.
// The deploy workflow uploads that folder; dist/web stays the local host's build.
//   npm run package:web -- --gateway https://apim-….azure-api.net [--out <folder>]
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import Joi from 'joi';
import { WEB_APP_HEADERS } from '../local/web-app';
import { projectRoot } from '../shared/kernel/project-root';
import { runWhenMain } from './cli';
import { folderSize, packageFolder } from './package';

const USAGE = 'usage: package-web --gateway <https origin> [--out <folder>]';

/** Hashed assets are kept a year (their names change with their content); the rest is revalidated. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';
export const REVALIDATE = 'no-cache';

/**
 * An origin only: https, or http on the loopback address (the tests' stand-in gateway).
 * A path, a query or credentials would end up in the CSP and in every API URL. The host is
 * a DNS name or an IPv4 address: a URL's host may also hold `*` (connect-src would then
 * admit any host) or `;` and `,` (a directive, a policy of the caller's, in the CSP).
 */
const DNS_NAME = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const gatewaySchema = Joi.string()
  .uri({ scheme: ['https', 'http'] })
  .custom((text: string, helpers) => {
    const url = new URL(text);
    const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost';
    if (url.protocol === 'http:' && !loopback) return helpers.error('gateway.https');
    if (!DNS_NAME.test(url.hostname)) return helpers.error('gateway.host');
    if (url.origin !== text.replace(/\/$/, '')) return helpers.error('gateway.origin');
    return url.origin;
  })
  .messages({
    'gateway.https': '{{#label}} must be https',
    'gateway.host': '{{#label}} must name its host by a DNS name or an IPv4 address',
    'gateway.origin': '{{#label}} must be an origin (no path, query or credentials)',
  })
  .label('--gateway')
  .required();

export function gatewayOrigin(text: unknown): string {
  const { value, error } = gatewaySchema.validate(text);
  if (error) throw new Error(error.message);
  return value as string;
}

/** The CSP with one more source a directive allows: the gateway, for `connect-src`. */
export function allowingSource(policy: string, directive: string, source: string): string {
  const directives = policy.split(';').map((part) => part.trim());
  const index = directives.findIndex((part) => part.split(/\s+/)[0] === directive);
  if (index < 0) throw new Error(`the policy has no ${directive}`);
  directives[index] = `${directives[index]} ${source}`;
  return directives.join('; ');
}

export interface StaticWebAppConfig {
  globalHeaders: Record<string, string>;
  routes: Array<{ route: string; headers?: Record<string, string>; statusCode?: number }>;
  mimeTypes: Record<string, string>;
}

/**
 * Static Web Apps signs visitors in with GitHub and Microsoft Entra ID at `/.auth/login/…`
 * unless a route blocks it, but the app's identity is its own (the API's tokens): such a
 * sign-in grants nothing here and would only put another provider's cookie on the site.
 * Each preconfigured provider answers 404, as Microsoft documents for blocking one, and so
 * does the rest of the `/.auth` system folder (`/me`, `/logout`, providers added later).
 */
const SIGN_IN_BLOCKED = [
  { route: '/.auth/login/github', statusCode: 404 },
  { route: '/.auth/login/aad', statusCode: 404 },
  { route: '/.auth/*', statusCode: 404 },
];

/**
 * The site's configuration. No navigation fallback: the app routes by fragment (`#/portal`),
 * so an unknown path is a 404, as on the local host.
 */
export function staticWebAppConfig(gateway: string): StaticWebAppConfig {
  const origin = gatewayOrigin(gateway);
  const csp = allowingSource(WEB_APP_HEADERS['content-security-policy'], 'connect-src', origin);
  return {
    globalHeaders: { ...WEB_APP_HEADERS, 'content-security-policy': csp, 'cache-control': REVALIDATE },
    routes: [...SIGN_IN_BLOCKED, { route: '/assets/*', headers: { 'cache-control': IMMUTABLE } }],
    mimeTypes: { '.webmanifest': 'application/manifest+json' },
  };
}

export function buildWebPackage(root: string, out: string, gateway: string): { bytes: number; files: number } {
  const origin = gatewayOrigin(gateway);
  mkdirSync(out, { recursive: true });
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  execFileSync(process.execPath, [vite, 'build', '--config', join(root, 'web', 'vite.config.mjs'), '--outDir', out, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, VITE_API_GATEWAY: origin },
  });
  writeFileSync(join(out, 'staticwebapp.config.json'), `${JSON.stringify(staticWebAppConfig(origin), null, 2)}\n`);
  return folderSize(out);
}

runWhenMain(module, async (argv) => {
  const { values } = parseArgs({ args: argv, options: { gateway: { type: 'string' }, out: { type: 'string' } } });
  const root = projectRoot();
  const out = packageFolder(root, values.out ?? '.package-web');
  const gateway = gatewayOrigin(values.gateway);
  const { bytes, files } = buildWebPackage(root, out, gateway);
  console.log(`${relative(root, out) || out}: ${files} files, ${(bytes / 1024).toFixed(0)} KB, calling ${gateway}`);
  return 0;
}, USAGE);
