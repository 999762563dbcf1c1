import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { projectRoot } from '../../shared/kernel/project-root';

const root = projectRoot();

/** The lists of a `<cors>` policy, read from infra/apim/global.xml as API Management would. */
export function corsPolicy(): { methods: string[]; headers: string[]; exposed: string[] } {
  const xml = readFileSync(join(root, 'infra', 'apim', 'global.xml'), 'utf8');
  const list = (section: string, item: string) =>
    [...(xml.split(`<${section}`)[1]?.split(`</${section}>`)[0] ?? '').matchAll(new RegExp(`<${item}>([^<]+)</${item}>`, 'g'))].map((match) => match[1].trim());
  return { methods: list('allowed-methods', 'method'), headers: list('allowed-headers', 'header').map((name) => name.toLowerCase()), exposed: list('expose-headers', 'header') };
}

/** Each API apim.bicep imports: its path at the gateway, and its OpenAPI document's operation paths. */
export function importedApis(): Array<{ path: string; operations: string[] }> {
  const bicep = readFileSync(join(root, 'infra', 'modules', 'apim.bicep'), 'utf8');
  const entries = [...bicep.matchAll(/path: '([a-z]+)', spec: loadTextContent\('\.\.\/\.\.\/(shared\/[a-z]+\/openapi\.yaml)'\)/g)];
  if (entries.length < 5) throw new Error('apim.bicep no longer lists its APIs in the form the tests read');
  return entries.map(([, path, spec]) => {
    const document = parseYaml(readFileSync(join(root, spec), 'utf8')) as { paths: Record<string, unknown> };
    return { path, operations: Object.keys(document.paths) };
  });
}

function importedOperations(): Map<string, RegExp[]> {
  return new Map(importedApis().map(({ path, operations }) => [path, operations.map((operation) => new RegExp(`^${operation.replace(/\{[^}]+\}/g, '[^/]+')}$`))]));
}

/**
 * The public product's rule (infra/apim/product-public.xml): a command outside the identity
 * API passes only with a person's token (no client_id) holding the pharmacist or admin role.
 * Like the policy, it reads the claims without checking the signature; the app checks it.
 */
function publicProductRefuses(method: string, api: string, authorization: string | undefined): boolean {
  if (method === 'GET' || method === 'HEAD' || api === 'identity') return false;
  let claims: { client_id?: unknown; roles?: unknown } = {};
  try {
    claims = JSON.parse(Buffer.from((authorization ?? '').replace(/^Bearer /i, '').split('.')[1] ?? '', 'base64url').toString('utf8')) as typeof claims;
  } catch {
    return true;
  }
  const roles = Array.isArray(claims.roles) ? claims.roles : [];
  return claims.client_id !== undefined || !(roles.includes('pharmacist') || roles.includes('admin'));
}

/** The body product-public.xml answers a refused command with. */
const REFUSAL = readFileSync(join(root, 'infra', 'apim', 'product-public.xml'), 'utf8').split('<set-body>')[1].split('</set-body>')[0];

export interface GatewayStandIn {
  origin: string;
  /** Requests that reached an operation (preflights not counted). */
  forwarded: number;
  close(): Promise<void>;
}

/**
 * A stand-in for API Management in front of the local host, for the browser: each API under
 * the path apim.bicep gives it, an operation its OpenAPI document does not declare is a 404,
 * the public product's rule for commands (no subscription keys here), and CORS as
 * global.xml's policy would answer for the origins given (the static site's).
 */
export async function startGatewayStandIn(backend: string, allowedOrigins: () => string[]): Promise<GatewayStandIn> {
  const cors = corsPolicy();
  const apis = importedOperations();
  const state = { forwarded: 0 };

  const corsHeaders = (request: IncomingMessage): Record<string, string> => {
    const origin = request.headers.origin;
    return origin && allowedOrigins().includes(origin) ? { 'access-control-allow-origin': origin, vary: 'Origin' } : {};
  };

  const preflight = (request: IncomingMessage, response: ServerResponse) => {
    const method = String(request.headers['access-control-request-method'] ?? '');
    const asked = String(request.headers['access-control-request-headers'] ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
    const allowed = corsHeaders(request);
    const granted = allowed['access-control-allow-origin'] && cors.methods.includes(method) && asked.every((name) => cors.headers.includes(name));
    response.writeHead(200, granted ? { ...allowed, 'access-control-allow-methods': cors.methods.join(','), 'access-control-allow-headers': asked.join(','), 'access-control-max-age': '600' } : {});
    response.end();
  };

  const forward = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://gateway');
    const [, api, ...rest] = url.pathname.split('/');
    const operation = `/${rest.join('/')}`;
    if (!apis.get(api)?.some((pattern) => pattern.test(operation))) {
      response.writeHead(404, { 'content-type': 'application/json', ...corsHeaders(request) });
      response.end('{"statusCode":404,"message":"Resource not found"}');
      return;
    }
    if (publicProductRefuses(request.method ?? 'GET', api, request.headers.authorization)) {
      response.writeHead(403, { 'content-type': 'application/problem+json', ...corsHeaders(request) });
      response.end(REFUSAL);
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !['host', 'origin', 'connection', 'content-length'].includes(name))) as Record<string, string>;
    const answer = await fetch(`${backend}${operation}${url.search}`, { method: request.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
    state.forwarded += 1;
    const out: Record<string, string> = { ...corsHeaders(request), 'access-control-expose-headers': cors.exposed.join(',') };
    answer.headers.forEach((value, name) => {
      if (!['content-encoding', 'content-length', 'transfer-encoding', 'connection'].includes(name)) out[name] = value;
    });
    response.writeHead(answer.status, out);
    response.end(Buffer.from(await answer.arrayBuffer()));
  };

  const server = createServer((request, response) => {
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) return preflight(request, response);
    forward(request, response).catch(() => {
      response.writeHead(502);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    get forwarded() {
      return state.forwarded;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
