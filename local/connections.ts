import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { problemResponse } from '../shared/kernel/http';
import { traceRandomHex } from './trace-random';

/**
 * How long a request may take to arrive, headers and body, before it is answered 408 and
 * its connection closed. Node's default (300 s) lets a declared Content-Length that never
 * comes hold a connection for five minutes; the largest body (256 KB) takes far less than
 * 10 s on any real link.
 */
export const REQUEST_TIMEOUT_MS = 10_000;

/**
 * What the request log says of a request whose client closed the connection before its
 * body arrived (nginx's "client closed request"): nothing failed here, so not a 500.
 */
export const CLIENT_CLOSED_REQUEST = 499;

interface Refusal {
  status: number;
  title: string;
  detail: string;
}

/**
 * Node's refusals of what is not a request it can parse; undefined when the client is
 * simply gone: a reset, or its end of the connection closed mid-request (the parser's
 * "invalid EOF state"), which is a client leaving, not a malformed request.
 */
function refusalFor(code: string | undefined, timeoutMs: number): Refusal | undefined {
  if (code === 'HPE_INVALID_EOF_STATE') return undefined;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, title: 'Request timeout', detail: `the request did not arrive within ${timeoutMs} ms` };
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return { status: 431, title: 'Request header fields too large', detail: 'the request headers are larger than the server accepts' };
  }
  if (code?.startsWith('HPE_')) return { status: 400, title: 'Bad request', detail: 'the request is not valid HTTP/1.1' };
  return undefined;
}

/** A whole HTTP/1.1 response as text, for a socket no ServerResponse stands for. */
function rawProblem({ status, title, detail }: Refusal, traceId: string): string {
  const init = problemResponse(status, title, detail, traceId);
  const body = init.body as string;
  const headers = { ...(init.headers as Record<string, string>), 'cache-control': 'no-store', connection: 'close', 'content-length': String(Buffer.byteLength(body)) };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return [`HTTP/1.1 ${status} ${STATUS_CODES[status]}`, ...lines, '', body].join('\r\n');
}

/**
 * How many answers one connection may have waiting, and how many bytes of them its client may
 * leave unread, before the host closes it. A client that pipelines requests and reads nothing
 * made the host hold every answer: Node parses all the requests of an incoming chunk before
 * any backpressure (measured by a crash hunt: one such connection took the host from 114 to
 * 189 MB, twenty to 263 MB, held until they closed). Browsers never pipeline, and a client
 * that reads its answers leaves nothing unread when it sends the next request.
 */
export const MOST_WAITING_ANSWERS = 64;
export const MOST_UNREAD_ANSWER_BYTES = 1024 * 1024;

interface InFlight {
  response: ServerResponse;
  traceId: string;
  /** The status this host answered on the socket itself, when it did. */
  refusedWith?: number;
}

/**
 * What the local host knows of its connections beyond a request handler: the request a
 * socket is serving, so that Node's own refusals (the `clientError` event: a malformed
 * request, headers too large, a request too slow to arrive) answer problem+json with that
 * request's trace id instead of Node's empty body, and so that a request whose connection
 * went away is logged for what it is.
 */
export class Connections {
  private readonly inFlight = new WeakMap<Duplex, InFlight>();
  private readonly waitingAnswers = new WeakMap<Duplex, number>();

  constructor(
    private readonly timeoutMs: number,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Whether a request may be served on its connection. One past MOST_WAITING_ANSWERS, or sent
   * with more than MOST_UNREAD_ANSWER_BYTES of earlier answers unread, closes the connection:
   * its client is not reading, and every answer it asks for would be held in memory.
   */
  admit(socket: Duplex, response: ServerResponse): boolean {
    if (socket.destroyed) return false;
    const waiting = (this.waitingAnswers.get(socket) ?? 0) + 1;
    if (waiting > MOST_WAITING_ANSWERS || socket.writableLength > MOST_UNREAD_ANSWER_BYTES) {
      this.log(JSON.stringify({ level: 'warn', msg: 'closed a connection whose client reads none of its answers', waiting: waiting - 1, unreadBytes: socket.writableLength }));
      socket.destroy();
      return false;
    }
    this.waitingAnswers.set(socket, waiting);
    response.once('close', () => this.waitingAnswers.set(socket, (this.waitingAnswers.get(socket) ?? 1) - 1));
    return true;
  }

  serving(socket: Duplex, response: ServerResponse, traceId: string): void {
    const entry: InFlight = { response, traceId };
    this.inFlight.set(socket, entry);
    response.once('finish', () => this.inFlight.get(socket) === entry && this.inFlight.delete(socket));
  }

  /** The status to log for a request whose connection closed mid-body: what this host answered when it closed it, else the client left. */
  gone(socket: Duplex): number {
    return this.inFlight.get(socket)?.refusedWith ?? CLIENT_CLOSED_REQUEST;
  }

  /**
   * The `connect` handler: a CONNECT (a proxy tunnel) has no route here. Without a handler
   * Node drops the connection with no answer at all; this answers 501 problem+json and closes.
   */
  refuseTunnel(socket: Duplex): void {
    const traceId = traceRandomHex(16);
    const refusal = { status: 501, title: 'Not implemented', detail: 'this host is not a proxy: CONNECT is not served' };
    this.log(JSON.stringify({ level: 'info', method: 'CONNECT', status: refusal.status, traceId }));
    if (!socket.writable) return void socket.destroy();
    socket.end(rawProblem(refusal, traceId), () => socket.destroy());
  }

  /** The `clientError` handler: answers what Node refused, then closes; a client that is gone just gets its socket closed. */
  refuse(error: NodeJS.ErrnoException, socket: Duplex): void {
    const refusal = refusalFor(error.code, this.timeoutMs);
    const inFlight = this.inFlight.get(socket);
    if (!refusal || !socket.writable || inFlight?.response.headersSent) {
      socket.destroy();
      return;
    }
    const traceId = inFlight?.traceId ?? traceRandomHex(16);
    if (inFlight) inFlight.refusedWith = refusal.status;
    // A request being served is logged by its handler; one Node never handed over, here.
    else this.log(JSON.stringify({ level: 'info', status: refusal.status, error: error.code, traceId }));
    socket.end(rawProblem(refusal, traceId), () => socket.destroy());
  }
}
