import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions';
import { CLIENT_IP_HEADER, normaliseAddress, UNKNOWN_ADDRESS } from '../shared/kernel/client-address';
import { LARGEST_BODY_BYTES, problemResponse } from '../shared/kernel/http';
import type { EventBus } from '../shared/kernel/ports';
import type { FunctionModule } from '../shared/kernel/routes';
import type { Services } from '../shared/kernel/services';
import { Router } from './router';

const ROUTE_PREFIX = '/api/';

export interface LocalHostOptions {
  modules: FunctionModule[];
  /** Unset when the services could not be composed: the routes then answer from their provider (a 503). */
  services?: Services;
  port: number;
  requestLog: boolean;
  log?: (line: string) => void;
}

export interface LocalHost {
  url: string;
  /** Runs a request through the router and handler, without a socket (seeding, tests). */
  dispatch(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: unknown }>;
  stop(): Promise<void>;
}

const TRACEPARENT = /^00-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

/**
 * A span of its own for each invocation, in the caller's trace when one came with it (a
 * request's `traceparent` header, an event's metadata), as the Functions host does.
 */
export function childTraceparent(parent: string | undefined): string {
  const traceId = (parent && TRACEPARENT.exec(parent)?.[1]) || randomBytes(16).toString('hex');
  return `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
}

function contextFor(functionName: string, log: (line: string) => void, parentTrace?: string): InvocationContext {
  const traceParent = childTraceparent(parentTrace);
  const traceId = traceParent.slice(3, 35);
  return new InvocationContext({
    invocationId: randomUUID(),
    functionName,
    traceContext: { traceParent, traceState: '', attributes: {} },
    logHandler: (level, ...args) => {
      if (level === 'trace' || level === 'debug') return;
      log(JSON.stringify({ level, function: functionName, traceId, msg: args.map(String).join(' ') }));
    },
  });
}

/** Subscribes each declared event handler to the bus, as a topic subscription would. */
export function subscribeEventHandlers(bus: EventBus, modules: FunctionModule[], log: (line: string) => void): void {
  for (const consumer of modules.flatMap((module) => module.eventHandlers)) {
    // Named after the subscription, as on Service Bus: queues and dead letters are found by it.
    bus.subscribe({
      name: consumer.subscription,
      eventTypes: consumer.eventTypes,
      handle: (event) => consumer.handler(event, contextFor(consumer.name, log, event.metadata.traceparent)),
    });
  }
}

/** Reads at most LARGEST_BODY_BYTES + 1 bytes: enough to know a body is too large for any route. */
async function readBody(request: IncomingMessage): Promise<Buffer | 'too-large' | undefined> {
  // HTTP/1.1: without Content-Length or Transfer-Encoding a request has no body.
  if (request.headers['content-length'] === undefined && request.headers['transfer-encoding'] === undefined) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > LARGEST_BODY_BYTES) return 'too-large';
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * The request's headers as a handler sees them. As API Management does in Azure, the host
 * states the caller's address itself (from the socket) in CLIENT_IP_HEADER and drops any
 * copy the caller sent: what a caller writes never names the caller.
 */
function headersOf(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && name !== CLIENT_IP_HEADER) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  headers[CLIENT_IP_HEADER] = normaliseAddress(request.socket.remoteAddress) ?? UNKNOWN_ADDRESS;
  return headers;
}

async function writeResponse(response: ServerResponse, init: HttpResponseInit) {
  const headers = init.headers instanceof Headers ? Object.fromEntries(init.headers) : (init.headers as Record<string, string>) ?? {};
  let body: string | Uint8Array | undefined;
  if (init.jsonBody !== undefined) {
    body = JSON.stringify(init.jsonBody);
    headers['content-type'] ??= 'application/json';
  } else if (typeof init.body === 'string' || init.body instanceof Uint8Array) {
    body = init.body;
  }
  // A known length avoids chunked encoding (and a second write) for every response.
  headers['content-length'] = String(body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length);
  response.writeHead(init.status ?? 200, headers);
  response.end(body);
}

/**
 * The local host: serves the same declarations as the Functions host on
 * http://localhost:<port>/api, delivers events to the declared projectors through the
 * in-process bus and runs the declared timers on their schedules.
 */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const log = options.log ?? ((line: string) => console.log(line));
  const router = new Router(options.modules.flatMap((module) => module.routes));

  if (options.services) subscribeEventHandlers(options.services.bus, options.modules, log);

  const { Cron } = await import('croner');
  const jobs = options.modules.flatMap((module) =>
    module.timers.map(
      (timer) =>
        new Cron(
          timer.schedule,
          { protect: true, catch: (error) => log(JSON.stringify({ level: 'error', timer: timer.name, msg: String(error) })) },
          async (job: { nextRun(): Date | null }) => {
            const now = new Date().toISOString();
            const next = job.nextRun()?.toISOString() ?? '';
            const status = { last: now, next, lastUpdated: now };
            await timer.handler({ isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: status }, contextFor(timer.name, log));
          },
        ),
    ),
  );

  async function invoke(method: string, url: URL, headers: Record<string, string>, body: Buffer | undefined) {
    const path = url.pathname.startsWith(ROUTE_PREFIX) ? url.pathname.slice(ROUTE_PREFIX.length) : undefined;
    const match = path === undefined ? ({ kind: 'not-found' } as const) : router.match(method, path);
    const traceParent = childTraceparent(headers.traceparent);
    const traceId = traceParent.slice(3, 35);
    if (match.kind === 'not-found') return { name: '-', traceId, init: problemResponse(404, 'Not found', 'no such route', traceId) };
    if (match.kind === 'method-not-allowed') {
      return {
        name: '-',
        traceId,
        init: problemResponse(405, 'Method not allowed', `use ${match.allow.join(', ')}`, traceId, { headers: { allow: match.allow.join(', ') } }),
      };
    }
    const request = new HttpRequest({
      method,
      url: url.toString(),
      headers,
      params: match.params,
      ...(body && body.length ? { body: { bytes: body } } : {}),
    });
    const init = await match.declaration.handler(request, contextFor(match.declaration.name, log, headers.traceparent));
    return { name: match.declaration.name, traceId, init };
  }

  const server: Server = createServer(async (request, response) => {
    const started = performance.now();
    let status = 500;
    let served = { name: '-', traceId: '' };
    const url = new URL(request.url ?? '/', 'http://localhost');
    try {
      const body = await readBody(request);
      const { init, ...invocation } =
        body === 'too-large'
          ? { name: '-', traceId: '', init: problemResponse(413, 'Payload too large', `the body is larger than ${LARGEST_BODY_BYTES} bytes`, randomUUID()) }
          : await invoke(request.method ?? 'GET', url, headersOf(request), body);
      served = invocation;
      status = init.status ?? 200;
      await writeResponse(response, init);
    } catch (error) {
      log(JSON.stringify({ level: 'error', msg: 'local host failure', error: error instanceof Error ? error.message : String(error) }));
      if (!response.headersSent) await writeResponse(response, problemResponse(500, 'Internal error', 'the request could not be completed', randomUUID()));
      else response.destroy();
    }
    if (options.requestLog) {
      // The path only: query strings carry coordinates and search terms.
      const ms = Math.round((performance.now() - started) * 10) / 10;
      log(JSON.stringify({ level: 'info', method: request.method, path: url.pathname, status, ms, function: served.name, traceId: served.traceId }));
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/api`,
    async dispatch(method, path, body, headers = {}) {
      const bytes = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const { init } = await invoke(
        method,
        new URL(`http://localhost:${port}/api/${path}`),
        { ...(bytes ? { 'content-type': 'application/json' } : {}), ...headers },
        bytes,
      );
      return { status: init.status ?? 200, body: typeof init.body === 'string' && init.body ? JSON.parse(init.body) : undefined };
    },
    async stop() {
      jobs.forEach((job) => job.stop());
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
