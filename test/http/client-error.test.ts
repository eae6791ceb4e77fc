import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { answerClientErrors, parserErrorAnswer } from '../../src/http/client-error.ts';
import { createLogger } from '../../src/http/log.ts';
import { expectValidFhir, testStore } from '../support/fhir.ts';

/**
 * Requests Node's HTTP parser refuses, sent over raw sockets (a client library would refuse to send
 * most of them): each gets an OperationOutcome with the status that names the problem.
 */

let server: Server;
let port: number;
beforeAll(async () => {
  const app = createApp({ ...loadConfig({}), logLevel: 'silent', loadShedLagMs: 0 }, { store: testStore() });
  server = createServer(app);
  answerClientErrors(server, createLogger('silent'));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes `data` on a fresh connection and reads until the server closes it. */
function exchange(data: string | Buffer[], { endAfterWrite = false } = {}): Promise<RawResponse> {
  return new Promise((done, fail) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // the server may close while we are still writing; what it sent first is what counts
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') fail(err);
    });
    socket.on('close', () => {
      const text = Buffer.concat(received).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return fail(new Error(`no HTTP response: ${JSON.stringify(text.slice(0, 200))}`));
      const [statusLine, ...headerLines] = text.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of headerLines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      done({ status: Number(statusLine.split(' ')[1]), headers, body: text.slice(split + 4) });
    });
    socket.on('connect', () => {
      for (const part of Array.isArray(data) ? data : [data]) socket.write(part);
      if (endAfterWrite) socket.end();
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')));
  });
}

function expectOutcome(res: RawResponse, status: number, code: string, text: RegExp): OperationOutcome {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
  expect(res.headers.connection).toBe('close');
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
  const oo = expectValidFhir<OperationOutcome>(JSON.parse(res.body));
  expect(oo.issue[0]).toMatchObject({ severity: 'error', code });
  expect(oo.issue[0].details?.text).toMatch(text);
  return oo;
}

describe('Node HTTP parser errors answer with an OperationOutcome', () => {
  test.each([
    ['a URL of 17 KiB', 17 * 1024],
    ['a URL of 100 KiB', 100 * 1024],
  ])('414 for %s', async (_name, length) => {
    const url = `/fhir/CodeSystem/$lookup?code=${'a'.repeat(length)}`;
    const res = await exchange(`GET ${url} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const oo = expectOutcome(res, 414, 'too-long', /URL is too long/);
    expect(JSON.stringify(oo)).not.toContain('aaaa');
  });

  test('431 for one header of 20 KiB', async () => {
    const res = await exchange(`GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`);
    expectOutcome(res, 431, 'too-long', /headers are too large/);
  });

  test('431 for 2000 small headers', async () => {
    const many = Array.from({ length: 2000 }, (_, i) => `X-H${i}: v\r\n`).join('');
    const res = await exchange(`GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n${many}\r\n`);
    expectOutcome(res, 431, 'too-long', /headers are too large/);
  });

  test('501 for a method Node does not know', async () => {
    const res = await exchange('FROB /fhir/metadata HTTP/1.1\r\nHost: x\r\n\r\n');
    expectOutcome(res, 501, 'not-supported', /method is not supported/);
  });

  test('400 for a request line that is not HTTP', async () => {
    const res = await exchange('HELLO\r\n\r\n');
    expectOutcome(res, 400, 'invalid', /not valid HTTP/);
  });

  test('505 for HTTP/9.9', async () => {
    const res = await exchange('GET /fhir/metadata HTTP/9.9\r\nHost: x\r\n\r\n');
    expectOutcome(res, 505, 'not-supported', /HTTP version/);
  });

  test('400 for a duplicate Content-Length', async () => {
    const res = await exchange(
      'POST /fhir/$versions HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}',
    );
    expectOutcome(res, 400, 'invalid', /framing/);
  });

  test('400 for a bad chunk size while the body is being read', async () => {
    const head =
      'POST /fhir/$versions HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nTransfer-Encoding: chunked\r\n\r\n';
    // the headers first, so that the request reaches the app, which starts reading the body
    const res = await exchange([Buffer.from(`${head}5\r\n{"res\r\n`), Buffer.from('zz\r\nabc\r\n0\r\n\r\n')]);
    expectOutcome(res, 400, 'invalid', /chunked/);
  });

  test('a second request on a keep-alive connection with a huge URL gets 414 after the first answer', async () => {
    const first = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
    const second = `GET /fhir/${'x'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`;
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    await new Promise((done) => socket.once('connect', done));
    socket.write(first);
    // wait for the first answer, then send the second request
    while (!Buffer.concat(received).toString().includes('{"status":"ok"}')) await new Promise((r) => setTimeout(r, 10));
    socket.write(second);
    await new Promise((done) => socket.once('close', done));
    const text = Buffer.concat(received).toString('utf8');
    expect(text.startsWith('HTTP/1.1 200 OK')).toBe(true);
    expect(text).toContain('HTTP/1.1 414 URI Too Long');
  });

  test('the server still answers afterwards', async () => {
    const res = await exchange('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
  });
});

describe('parserErrorAnswer', () => {
  test.each<[string, string, number]>([
    ['HPE_HEADER_OVERFLOW', `GET /${'a'.repeat(9000)} HTTP/1.1\r\n`, 414],
    ['HPE_HEADER_OVERFLOW', `GET /${'a'.repeat(20000)}`, 414],
    ['HPE_HEADER_OVERFLOW', `GET / HTTP/1.1\r\nX: ${'a'.repeat(20000)}`, 431],
    ['HPE_HEADER_OVERFLOW', 'aaaa', 431],
    ['HPE_INVALID_METHOD', 'FOO / HTTP/1.1\r\n', 501],
    ['HPE_INVALID_METHOD', '\u0000\u0001', 400],
    ['HPE_CHUNK_EXTENSIONS_OVERFLOW', '', 413],
    ['ERR_HTTP_REQUEST_TIMEOUT', '', 408],
    ['HPE_SOMETHING_NEW', '', 400],
  ])('%s on %j… is %d', (code, raw, status) => {
    expect(parserErrorAnswer(code, Buffer.from(raw, 'latin1'), 16 * 1024).status).toBe(status);
  });
});
