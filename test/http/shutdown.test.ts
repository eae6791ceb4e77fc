import { type ChildProcess, spawn } from 'node:child_process';
import { Agent, get, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';

/**
 * Graceful shutdown of the real server process (src/main.ts, started as production starts it:
 * node_modules/.bin/node src/main.ts), on a free port of 127.0.0.1.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const NODE = resolve(ROOT, 'node_modules/.bin/node');

interface Running {
  child: ChildProcess;
  lines: string[];
  port: number;
  /** the pid of the serving process (not npm's) */
  pid: number;
  exit: Promise<number | null>;
}

const children: ChildProcess[] = [];
const servers: number[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const pid of servers.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Starts `command` and waits for the server's `listening` line. */
async function start(env: Record<string, string>, command: string[] = [NODE, 'src/main.ts']): Promise<Running> {
  const [file, ...args] = command;
  const child = spawn(file, args, {
    cwd: ROOT,
    env: { PATH: `${resolve(ROOT, 'node_modules/.bin')}:${process.env.PATH ?? ''}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exit = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const deadline = Date.now() + 30_000;
  let listening: { port?: number; pid?: number } | undefined;
  while (!listening && Date.now() < deadline && child.exitCode === null) {
    const line = lines.find((l) => l.includes('"listening"'));
    if (line) listening = JSON.parse(line);
    else await sleep(50);
  }
  if (!listening?.port || !listening.pid) throw new Error(`server did not start: ${stderr.slice(0, 500)}`);
  servers.push(listening.pid);
  return { child, lines, port: listening.port, pid: listening.pid, exit };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How a new TCP connection to `port` ends: `connected` or the error code. */
function tryConnect(port: number): Promise<string> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? 'error'));
  });
}

function logged(lines: string[], msg: string): Record<string, unknown> | undefined {
  const line = lines.find((l) => l.includes(`"msg":"${msg}"`));
  return line ? JSON.parse(line) : undefined;
}

/** A search whose answer is ~16 MB (every CodeSystem, 600+): long enough to be in flight at the signal. */
const LARGE = '/fhir/CodeSystem?_count=1000';

describe('graceful shutdown of src/main.ts', () => {
  test('a large answer in flight at SIGTERM arrives whole; new connections are refused; exit 0', async () => {
    const server = await start({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SHUTDOWN_GRACE: '30s' });
    const res = await new Promise<IncomingMessage>((done, fail) => {
      get({ host: '127.0.0.1', port: server.port, path: LARGE, agent: false }, done).once('error', fail);
    });
    expect(res.statusCode).toBe(200);
    // read one chunk, then stop reading so that most of the body is still to be sent
    const chunks: Buffer[] = [];
    await new Promise<void>((done) =>
      res.once('data', (c: Buffer) => {
        chunks.push(c);
        res.pause();
        done();
      }),
    );
    const signalled = performance.now();
    server.child.kill('SIGTERM');
    await sleep(500);
    // draining: the answer is still being sent, the listener is closed
    expect(server.child.exitCode).toBeNull();
    expect(await tryConnect(server.port)).toBe('ECONNREFUSED');
    res.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((done, fail) => {
      res.once('end', done);
      res.once('error', fail);
    });
    res.resume();
    await ended;
    const body = Buffer.concat(chunks);
    expect(body.length).toBe(Number(res.headers['content-length'] ?? body.length));
    expect(body.length).toBeGreaterThan(5_000_000);
    const bundle = JSON.parse(body.toString('utf8'));
    expect(bundle.resourceType).toBe('Bundle');
    expect(bundle.entry.length).toBeGreaterThan(600);
    expect(await server.exit).toBe(0);
    const exitMs = performance.now() - signalled;
    expect(exitMs).toBeLessThan(10_000);
    expect(logged(server.lines, 'shutting down')).toMatchObject({ signal: 'SIGTERM', graceMs: 30_000 });
    expect(logged(server.lines, 'stopped')).toMatchObject({ level: 'info' });
    expect(await tryConnect(server.port)).toBe('ECONNREFUSED');
  }, 60_000);

  test('an idle keep-alive connection is closed, so the next request is refused, not reset', async () => {
    const server = await start({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const fetchOnce = () =>
      new Promise<{ status?: number; connection?: string }>((done, fail) => {
        const req = get({ host: '127.0.0.1', port: server.port, path: '/healthz', agent }, (res) => {
          res.resume();
          res.once('end', () => done({ status: res.statusCode, connection: res.headers.connection }));
        });
        req.once('error', fail);
      });
    expect(await fetchOnce()).toEqual({ status: 200, connection: 'keep-alive' });
    // the connection is idle in the agent's pool now
    expect(Object.values(agent.freeSockets).flat()).toHaveLength(1);
    const signalled = performance.now();
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
    const exitMs = performance.now() - signalled;
    // nothing was in flight: the exit does not wait for the grace time
    expect(exitMs).toBeLessThan(3_000);
    const next = await fetchOnce().then(
      () => 'answered',
      (err: NodeJS.ErrnoException) => err.code,
    );
    expect(next).toBe('ECONNREFUSED');
    agent.destroy();
  }, 60_000);

  test('exit 1 when the grace time runs out before an answer is delivered', async () => {
    const server = await start({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SHUTDOWN_GRACE: '1s' });
    const res = await new Promise<IncomingMessage>((done, fail) => {
      get({ host: '127.0.0.1', port: server.port, path: LARGE, agent: false }, done).once('error', fail);
    });
    // a client that stops reading: the answer cannot be delivered within the grace time
    res.pause();
    res.on('error', () => undefined);
    const signalled = performance.now();
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(1);
    const exitMs = performance.now() - signalled;
    expect(exitMs).toBeGreaterThanOrEqual(900);
    expect(exitMs).toBeLessThan(5_000);
    expect(logged(server.lines, 'stopped: grace time over, connections closed')).toMatchObject({ forced: 1 });
    res.destroy();
  }, 60_000);

  test('a server started by `npm start` stops when npm is signalled and exits', async () => {
    const server = await start({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' }, ['npm', 'start', '--silent']);
    expect(await tryConnect(server.port)).toBe('connected');
    // npm exits on SIGTERM without passing it on; the server notices that its parent is gone
    server.child.kill('SIGTERM');
    await server.exit;
    const deadline = Date.now() + 10_000;
    let state = await tryConnect(server.port);
    while (state === 'connected' && Date.now() < deadline) {
      await sleep(100);
      state = await tryConnect(server.port);
    }
    expect(state).toBe('ECONNREFUSED');
    expect(logged(server.lines, 'shutting down')).toMatchObject({ signal: 'parent exited' });
  }, 60_000);
});
