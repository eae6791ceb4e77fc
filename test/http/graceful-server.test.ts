import { Agent, createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { gracefulServer } from '../../src/http/shutdown.ts';

/**
 * The drain itself (src/http/shutdown.ts), in this process: keep-alive connections that are busy
 * when the drain starts. The whole process is tested in shutdown.test.ts.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server = undefined;
});

/**
 * A server whose `/slow` answer takes 300 ms, in two parts (headers first); `/late` sends nothing for
 * 200 ms, then all of it; `/fast` answers at once.
 */
async function start(): Promise<{ port: number; graceful: ReturnType<typeof gracefulServer> }> {
  server = createServer((req, res) => {
    if (req.url === '/slow') {
      res.write('first part, ');
      setTimeout(() => res.end('second part'), 300);
    } else if (req.url === '/late') setTimeout(() => res.end('late'), 200);
    else res.end('fast');
  });
  const graceful = gracefulServer(server);
  await new Promise<void>((done) => server?.listen(0, '127.0.0.1', done));
  return { port: (server.address() as AddressInfo).port, graceful };
}

function request(port: number, path: string, agent: Agent): Promise<{ res: IncomingMessage; body: string }> {
  return new Promise((done, fail) => {
    get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => {
        body += c;
      });
      res.once('end', () => done({ res, body }));
      res.once('error', fail);
    }).once('error', fail);
  });
}

describe('gracefulServer', () => {
  test('a request reusing a keep-alive connection right after its answer finished is answered, with Connection: close', async () => {
    const { port, graceful } = await start();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const slow = request(port, '/slow', agent);
    await sleep(100);
    // the answer's headers are out (keep-alive); the next request waits for the connection
    const drained = graceful.drain(5000);
    const next = request(port, '/fast', agent);
    const first = await slow;
    expect(first.body).toBe('first part, second part');
    expect(first.res.headers.connection).toBe('keep-alive');
    const second = await next;
    expect(second.body).toBe('fast');
    expect(second.res.headers.connection).toBe('close');
    expect((await drained).forced).toBe(0);
    agent.destroy();
  });

  test('an answer that starts while draining says Connection: close, and the drain ends with it', async () => {
    const { port, graceful } = await start();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await request(port, '/fast', agent);
    // on the same connection, a request whose answer has not begun when the drain starts
    const next = request(port, '/late', agent);
    await sleep(50);
    const started = performance.now();
    const drained = graceful.drain(5000);
    const answer = await next;
    expect(answer.body).toBe('late');
    expect(answer.res.headers.connection).toBe('close');
    expect((await drained).forced).toBe(0);
    // no lingering after an answer that closed its connection: well within the grace time (5 s)
    expect(performance.now() - started).toBeLessThan(2_500);
    agent.destroy();
  });

  test('idle connections are closed at once; the drain does not wait for them', async () => {
    const { port, graceful } = await start();
    const agent = new Agent({ keepAlive: true });
    await Promise.all([request(port, '/fast', agent), request(port, '/fast', agent), request(port, '/fast', agent)]);
    expect(graceful.connections).toBeGreaterThan(0);
    const result = await graceful.drain(5000);
    expect(result).toMatchObject({ forced: 0 });
    // the drain did not wait for the idle connections (the grace time is 5 s)
    expect(result.ms).toBeLessThan(2_500);
    agent.destroy();
  });

  test('connections still busy at the end of the grace time are cut and counted', async () => {
    const { port, graceful } = await start();
    const agent = new Agent({ keepAlive: true });
    const slow = request(port, '/slow', agent).catch((err: NodeJS.ErrnoException) => err.code);
    await sleep(50);
    const result = await graceful.drain(100);
    expect(result.forced).toBe(1);
    expect(await slow).toBe('ECONNRESET');
    agent.destroy();
  });
});
