import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { InvocationContext, type HttpResponseInit } from '@azure/functions';
import { CLIENT_IP_HEADER, normaliseAddress, UNKNOWN_ADDRESS } from '../shared/kernel/client-address';
import { LARGEST_BODY_BYTES, problemResponse, traceIdInTraceparent } from '../shared/kernel/http';
import type { EventBus } from '../shared/kernel/ports';
import type { FunctionModule } from '../shared/kernel/routes';
import type { Services } from '../shared/kernel/services';
import { Connections, REQUEST_TIMEOUT_MS } from './connections';
import { LocalHttpRequest } from './request';
import { Router } from './router';
import { relayOutbox } from '../shared/platform/outbox-relay';
import { traceRandomHex } from './trace-random';
import type { WebApp } from './web-app';

const ROUTE_PREFIX = '/api/';

export interface LocalHostOptions {
  modules: FunctionModule[];
  /** Unset when the services could not be composed: the routes then answer from their provider (a 503). */
  services?: Services;
  port: number;
  requestLog: boolean;
  log?: (line: string) => void;
  /** How long a request may take to arrive, headers and body (REQUEST_TIMEOUT_MS unless a test says). */
  requestTimeoutMs?: number;
  /** The web app, served at / beside the APIs (same origin); without it only /api/ answers. */
  webApp?: WebApp;
}

export interface LocalHost {
  url: string;
  /** Runs a request through the router and handler, without a socket (seeding, tests). */
  dispatch(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: unknown; headers: Record<string, string> }>;
  stop(): Promise<void>;
}

/**
 * A span of its own for each invocation, in the caller's trace when one came with it (a
 * request's `traceparent` header, an event's metadata), as the Functions host does.
 */
export function childTraceparent(parent: string | undefined): string {
  const traceId = traceIdInTraceparent(parent) ?? traceRandomHex(16);
  return `00-${traceId}-${traceRandomHex(8)}-01`;
}

/** The trace id a traceparent carries (`00-<trace id>-<span id>-<flags>`). */
function traceIdIn(traceParent: string): string {
  return traceParent.slice(3, 35);
}

/** `traceParent` is the invocation's own span: the request log and the problem body then name the same trace. */
function contextFor(functionName: string, log: (line: string) => void, traceParent = childTraceparent(undefined)): InvocationContext {
  const traceId = traceIdIn(traceParent);
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
      handle: (event) => consumer.handler(event, contextFor(consumer.name, log, childTraceparent(event.metadata.traceparent))),
    });
  }
}

type BodyRead = Buffer | undefined | 'too-large' | 'aborted';

/**
 * Reads the body, up to LARGEST_BODY_BYTES: enough to know a body is too large for any
 * route. A declared length over it is refused before reading. Past the limit the stream is
 * left flowing without a listener, which discards the rest, rather than destroyed: the
 * 413 must still reach the caller. A connection that closes mid-body is 'aborted'.
 */
function readBody(request: IncomingMessage): Promise<BodyRead> {
  // HTTP/1.1: without Content-Length or Transfer-Encoding a request has no body.
  if (request.headers['content-length'] === undefined && request.headers['transfer-encoding'] === undefined) return Promise.resolve(undefined);
  if (Number(request.headers['content-length']) > LARGEST_BODY_BYTES) return Promise.resolve('too-large');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (outcome: BodyRead) => {
      request.off('data', onData).off('end', onEnd).off('error', onGone).off('close', onClose);
      resolve(outcome);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > LARGEST_BODY_BYTES) settle('too-large');
      else chunks.push(chunk);
    };
    const onEnd = () => settle(Buffer.concat(chunks));
    const onGone = () => settle('aborted');
    const onClose = () => request.complete || onGone();
    request.on('data', onData).once('end', onEnd).once('error', onGone).once('close', onClose);
  });
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

/**
 * Why the request's Host header makes it malformed (RFC 9112, section 3.2: an HTTP/1.1
 * request without one, or any request with more than one, is a 400), else undefined.
 * Node keeps only the first of several Host headers, so they are counted in the raw ones.
 */
function hostHeaderProblem(request: IncomingMessage): string | undefined {
  let hosts = 0;
  for (let i = 0; i < request.rawHeaders.length; i += 2) if (request.rawHeaders[i].length === 4 && request.rawHeaders[i].toLowerCase() === 'host') hosts++;
  if (hosts > 1) return 'the request has more than one Host header';
  if (hosts === 0 && request.httpVersion === '1.1') return 'an HTTP/1.1 request needs a Host header';
  return undefined;
}

/**
 * The request target as a URL on this host, or undefined when it names none: `new URL` throws
 * on a target such as `//` or `//:99999/x` (read as an authority), and a throw in a listener
 * would end the host. Such a request is a 400.
 */
function targetOf(request: IncomingMessage): URL | undefined {
  try {
    return new URL(request.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

/** A response's headers as a plain object of its own, whichever form the handler gave them in. */
function responseHeaders(init: HttpResponseInit): Record<string, string> {
  return init.headers instanceof Headers ? Object.fromEntries(init.headers) : { ...((init.headers as Record<string, string>) ?? {}) };
}

async function writeResponse(response: ServerResponse, init: HttpResponseInit) {
  const headers = responseHeaders(init);
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
/** What piled up in the outbox while the bus was away goes as soon as it is back, not at the relay timer's next turn. */
export function relayWhenTheBusReturns(services: Services, log: (line: string) => void): void {
  services.bus.onReconnected?.(() => {
    relayOutbox(services, undefined, 0).catch((error) =>
      log(JSON.stringify({ level: 'warning', msg: 'outbox relay after the bus returned failed; the relay timer retries', error: error instanceof Error ? error.message : String(error) })),
    );
  });
}

export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const log = options.log ?? ((line: string) => console.log(line));
  const router = new Router(options.modules.flatMap((module) => module.routes));

  if (options.services) {
    subscribeEventHandlers(options.services.bus, options.modules, log);
    relayWhenTheBusReturns(options.services, log);
  }

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

  async function invoke(method: string, url: URL, headers: Record<string, string>, body: Buffer | undefined, traceParent: string) {
    const path = url.pathname.startsWith(ROUTE_PREFIX) ? url.pathname.slice(ROUTE_PREFIX.length) : undefined;
    const match = path === undefined ? ({ kind: 'not-found' } as const) : router.match(method, path);
    const traceId = traceIdIn(traceParent);
    if (match.kind === 'not-found') return { name: '-', init: problemResponse(404, 'Not found', 'no such route', traceId) };
    if (match.kind === 'method-not-allowed') {
      const allow = match.allow.join(', ');
      return { name: '-', init: problemResponse(405, 'Method not allowed', `use ${allow}`, traceId, { headers: { allow } }) };
    }
    const request = new LocalHttpRequest({ method, url, headers, params: match.params, body });
    const init = await match.declaration.handler(request, contextFor(match.declaration.name, log, traceParent));
    return { name: match.declaration.name, init };
  }

  /** Answers one request; what it answered (or why it could not), for the request log. */
  async function serve(request: IncomingMessage, response: ServerResponse, url: URL | undefined, traceParent: string): Promise<{ status: number; name: string }> {
    const traceId = traceIdIn(traceParent);
    const hostProblem = hostHeaderProblem(request);
    if (hostProblem) {
      // Node answers a missing Host itself, with an empty body; here it is problem+json, as every refusal.
      await writeResponse(response, problemResponse(400, 'Bad request', hostProblem, traceId, { headers: { connection: 'close' } }));
      return { status: 400, name: '-' };
    }
    if (!url) {
      await writeResponse(response, problemResponse(400, 'Bad request', 'the request target is not a path on this host', traceId, { headers: { connection: 'close' } }));
      return { status: 400, name: '-' };
    }
    const body = await readBody(request);
    if (body === 'aborted') return { status: connections.gone(request.socket), name: '-' };
    if (body === 'too-large') {
      // Close after the answer: the rest of the body is still on its way, and no next request can follow it.
      const detail = `the body is larger than ${LARGEST_BODY_BYTES} bytes`;
      await writeResponse(response, problemResponse(413, 'Payload too large', detail, traceId, { headers: { connection: 'close' } }));
      return { status: 413, name: '-' };
    }
    const method = request.method ?? 'GET';
    if (options.webApp && !url.pathname.startsWith(ROUTE_PREFIX)) {
      const page = await options.webApp.serve(method, url.pathname);
      await writeResponse(response, page);
      return { status: page.status ?? 200, name: 'web' };
    }
    const { name, init } = await invoke(method, url, headersOf(request), body, traceParent);
    await writeResponse(response, init);
    return { status: init.status ?? 200, name };
  }

  const requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const connections = new Connections(requestTimeoutMs, (line) => options.requestLog && log(line));
  const server: Server = createServer(
    // Node checks the timeouts every connectionsCheckingInterval: often enough to keep them.
    // The Host header is checked in serve (hostHeaderProblem), which answers problem+json.
    { requestTimeout: requestTimeoutMs, headersTimeout: requestTimeoutMs, connectionsCheckingInterval: Math.min(1_000, requestTimeoutMs), requireHostHeader: false },
    async (request, response) => {
      if (!connections.admit(request.socket, response)) return;
      const started = performance.now();
      const url = targetOf(request);
      // A string always: Node joins a repeated traceparent's values with ", " (no trace context then).
      const traceParent = childTraceparent(request.headers.traceparent as string | undefined);
      const traceId = traceIdIn(traceParent);
      connections.serving(request.socket, response, traceId);
      let served = { status: 500, name: '-' };
      try {
        served = await serve(request, response, url, traceParent);
      } catch (error) {
        log(JSON.stringify({ level: 'error', msg: 'local host failure', traceId, error: error instanceof Error ? error.message : String(error) }));
        if (!response.headersSent) await writeResponse(response, problemResponse(500, 'Internal error', 'the request could not be completed', traceId));
        else response.destroy();
      }
      if (options.requestLog) {
        // The path only: query strings carry coordinates and search terms.
        const ms = Math.round((performance.now() - started) * 10) / 10;
        log(JSON.stringify({ level: 'info', method: request.method, path: url?.pathname ?? '-', status: served.status, ms, function: served.name, traceId }));
      }
    },
  );
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => connections.refuse(error, socket));
  // Node's own answers otherwise: an empty 417 to an Expect other than 100-continue, and a dropped connection to a CONNECT.
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const traceId = traceIdIn(childTraceparent(request.headers.traceparent as string | undefined));
    // The caller's value is not echoed: it is theirs already, and an answer should carry no text a client did not need.
    const detail = 'the only expectation this host meets is 100-continue';
    void writeResponse(response, problemResponse(417, 'Expectation failed', detail, traceId, { headers: { connection: 'close' } }));
    if (options.requestLog) log(JSON.stringify({ level: 'info', method: request.method, path: targetOf(request)?.pathname ?? '-', status: 417, traceId }));
  });
  server.on('connect', (_request: IncomingMessage, socket: Duplex) => connections.refuseTunnel(socket));
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
        childTraceparent(headers.traceparent),
      );
      return {
        status: init.status ?? 200,
        body: typeof init.body === 'string' && init.body ? JSON.parse(init.body) : undefined,
        headers: responseHeaders(init),
      };
    },
    async stop() {
      jobs.forEach((job) => job.stop());
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
