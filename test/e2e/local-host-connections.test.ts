import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startLocalHost, type LocalHost } from '../../local/host';
import { MOST_WAITING_ANSWERS } from '../../local/connections';
import { LARGEST_BODY_BYTES } from '../../shared/kernel/http';
import { appModules } from '../../shared/platform/app';
import { testServices } from '../support/services';

/** Short, so that a request that never arrives is answered within the test. */
const REQUEST_TIMEOUT_MS = 800;

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function parseResponse(text: string): RawResponse {
  const [head, ...rest] = text.split('\r\n\r\n');
  const [statusLine, ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
}

describe('the local host on the wire: bodies too large or too slow, aborted clients, Node\'s refusals, trace ids', () => {
  let services: Awaited<ReturnType<typeof testServices>>;
  let host: LocalHost;
  let port = 0;
  const logs: string[] = [];

  before(async () => {
    services = await testServices();
    host = await startLocalHost({
      modules: appModules(async () => services),
      services,
      port: 0,
      requestLog: true,
      log: (line) => logs.push(line),
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
    port = Number(new URL(host.url).port);
  });
  after(async () => {
    await host.stop();
    await services.dispose();
  });

  async function connect(): Promise<Socket> {
    const socket = createConnection(port, '127.0.0.1');
    socket.on('error', () => {}); // a reset after the answer is the server closing: what is read counts
    await once(socket, 'connect');
    return socket;
  }

  /** What the server sends until it closes the connection; fails when it holds it open past `withinMs`. */
  function untilClosed(socket: Socket, withinMs: number): Promise<{ text: string; ms: number }> {
    const started = performance.now();
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`the connection was still open after ${withinMs} ms; received: ${text.slice(0, 200)}`));
      }, withinMs);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve({ text, ms: performance.now() - started });
      });
    });
  }
  /** Sends one raw request on a connection of its own: its answer must be this status, in problem+json, with a trace id. */
  async function assertRefusedOnTheWire(request: string, status: number) {
    const socket = await connect();
    const closed = untilClosed(socket, 2_000);
    socket.write(request);
    const response = parseResponse((await closed).text);
    assert.equal(response.status, status, request);
    assert.match(response.headers['content-type'] ?? '', /^application\/problem\+json/, request);
    const body = JSON.parse(response.body);
    assert.equal(body.status, status);
    assert.match(body.traceId, /^[\da-f]{32}$/);
    assert.equal(Number(response.headers['content-length']), Buffer.byteLength(response.body));
  }


  const logLines = () => logs.map((line) => JSON.parse(line) as Record<string, unknown>);

  it('answers a declared body over the limit 413 problem+json with Connection: close, and closes at once', async () => {
    const socket = await connect();
    const closed = untilClosed(socket, 2_000);
    socket.write(`POST /api/pharmacies HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${2 * 1024 * 1024}\r\n\r\n`);
    socket.write(Buffer.alloc(LARGEST_BODY_BYTES + 1024, 'x'));
    const response = parseResponse((await closed).text);
    assert.equal(response.status, 413);
    assert.equal(response.headers.connection, 'close');
    assert.match(response.headers['content-type'], /^application\/problem\+json/);
    assert.equal(JSON.parse(response.body).status, 413);
  });

  it('answers a chunked body that grows over the limit the same way', async () => {
    const socket = await connect();
    const closed = untilClosed(socket, 2_000);
    socket.write('POST /api/pharmacies HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n');
    const chunk = Buffer.alloc(64 * 1024, 'x');
    for (let sent = 0; sent <= LARGEST_BODY_BYTES; sent += chunk.length) socket.write(`${chunk.length.toString(16)}\r\n${chunk.toString()}\r\n`);
    const response = parseResponse((await closed).text);
    assert.equal(response.status, 413);
    assert.equal(response.headers.connection, 'close');
  });

  it('answers 408 problem+json when a declared body never arrives, and logs a 408 under the body\'s trace id', async () => {
    const socket = await connect();
    const closed = untilClosed(socket, REQUEST_TIMEOUT_MS + 3_000);
    socket.write('POST /api/pharmacies HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"trade');
    const { text } = await closed;
    const response = parseResponse(text);
    assert.equal(response.status, 408, text);
    assert.match(response.headers['content-type'], /^application\/problem\+json/);
    const { traceId } = JSON.parse(response.body);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const logged = logLines().find((line) => line.traceId === traceId);
    assert.equal(logged?.status, 408, JSON.stringify(logLines().slice(-3)));
    assert.equal(logged?.path, '/api/pharmacies');
  });

  it('logs a client that leaves mid-body as such (499), not as a failure or a 500', async () => {
    const before = logs.length;
    const socket = await connect();
    socket.write('POST /api/pharmacies HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"trade');
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const lines = logs.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(lines.map((line) => [line.level, line.status, line.path]), [['info', 499, '/api/pharmacies']]);
  });

  it('answers what Node cannot parse in problem+json: a malformed request 400, headers too large 431', async () => {
    for (const [request, status] of [
      ['NOT HTTP AT ALL\r\n\r\n', 400],
      [`GET /api/health HTTP/1.1\r\nhost: x\r\nx-padding: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ] as const) await assertRefusedOnTheWire(request, status);
  });

  it('answers in problem+json what Node would answer on its own: no Host or two 400, an unknown Expect 417, CONNECT 501', async () => {
    for (const [request, status] of [
      ['GET /api/health HTTP/1.1\r\n\r\n', 400],
      ['GET /api/health HTTP/1.1\r\nhost: x\r\nhost: y\r\n\r\n', 400],
      ['GET /api/health HTTP/1.1\r\nhost: x\r\nexpect: something\r\n\r\n', 417],
      ['CONNECT 127.0.0.1:443 HTTP/1.1\r\nhost: 127.0.0.1:443\r\n\r\n', 501],
    ] as const) await assertRefusedOnTheWire(request, status);
  });

  // Found in review: new URL('//', base) throws, in the request listener and in the 417's, and the throw ended the host.
  it('answers a request target that is no URL path (`//`) 400 problem+json, with or without an Expect, and goes on serving', async () => {
    for (const [request, status] of [
      ['GET // HTTP/1.1\r\nhost: x\r\n\r\n', 400],
      ['GET //:99999/api/health HTTP/1.1\r\nhost: x\r\n\r\n', 400],
      ['GET // HTTP/1.1\r\nhost: x\r\nexpect: something\r\n\r\n', 417],
    ] as const) await assertRefusedOnTheWire(request, status);
    assert.equal((await fetch(`${host.url}/health`)).status, 200, 'the host still serves');
  });

  // Found by a crash hunt: a client pipelining requests and reading nothing made the host hold every answer in memory.
  it(`closes a connection that pipelines more than ${MOST_WAITING_ANSWERS} requests and reads none of the answers, and answers one that reads them`, async () => {
    const request = (n: number) => `GET /api/pharmacies?limit=${1 + (n % 20)} HTTP/1.1\r\nhost: x\r\n\r\n`;
    const greedy = await connect();
    greedy.pause(); // reads nothing
    const closed = new Promise((resolve) => greedy.once('close', resolve)); // a reset is the host closing it
    greedy.write(Array.from({ length: 2_000 }, (_, n) => request(n)).join(''));
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the connection was never closed')), 5_000))]);
    assert.ok(logs.some((line) => line.includes('reads none of its answers')), 'the close is logged');

    const reader = await connect();
    const answered = untilClosed(reader, 5_000);
    const many = MOST_WAITING_ANSWERS - 4;
    reader.write(Array.from({ length: many }, (_, n) => request(n)).join('') + 'GET /api/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    assert.equal((await answered).text.match(/HTTP\/1\.1 200 /g)?.length, many + 1, 'every pipelined request of a client that reads is answered');
  });

  it('still serves an HTTP/1.0 request without Host, and an empty Host', async () => {
    for (const request of ['GET /api/health HTTP/1.0\r\n\r\n', 'GET /api/health HTTP/1.1\r\nhost:\r\nconnection: close\r\n\r\n']) {
      const socket = await connect();
      const closed = untilClosed(socket, 2_000);
      socket.write(request);
      assert.equal(parseResponse((await closed).text).status, 200, request);
    }
  });

  it('serves the next request on a kept-alive connection after an ordinary refusal', async () => {
    const socket = await connect();
    const closed = untilClosed(socket, 2_000);
    const body = '{"tradeName": ';
    socket.write(`POST /api/pharmacies HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    socket.write('GET /api/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    const { text } = await closed;
    assert.match(text, /^HTTP\/1\.1 401 [\s\S]*HTTP\/1\.1 200 /);
  });

  it('logs the trace id the problem body names, without a traceparent', async () => {
    const response = await fetch(`${host.url}/pharmacies/not-a-uuid`);
    assert.equal(response.status, 400);
    const { traceId } = (await response.json()) as { traceId: string };
    const logged = logLines().filter((line) => line.path === '/api/pharmacies/not-a-uuid' && line.method === 'GET');
    assert.equal(logged.at(-1)?.traceId, traceId);
  });
});
