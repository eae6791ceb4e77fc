import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

/**
 * No configured URL, credential, upstream error text or stack frame in any log line or response.
 *
 * The real server process runs against a hostile fake of every upstream (Maskinporten, HPR,
 * Helserefusjon, FNSP) that fails, and whose error answers repeat everything it was sent: the URL
 * with its canary path, the API key, the bearer token, the JWT grant. Every setting carries a
 * canary. Every log line and every response (headers and body) is then searched for them.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const NODE = resolve(ROOT, 'node_modules/.bin/node');
const CANARY = `cnry${randomBytes(6).toString('hex')}`;

/** What the fake was asked, by upstream. */
const asked: Record<string, number> = { refuse: 0, grant: 0, hpr: 0, helserefusjon: 0, fnsp: 0 };

/** Everything about a request, as a hostile upstream would echo it back. */
async function echo(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.stringify({ url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
}

function hostileUpstream(): Server {
  return createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    const everything = await echo(req);
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'Content-Type': type, 'X-Debug': `${CANARY}-header` }).end(body);
    };
    if (url.startsWith(`/mp-refuse-${CANARY}/`)) {
      asked.refuse++;
      // RFC 6749 §5.2 shape, with a description that repeats the client id and the whole request
      return send(
        400,
        'application/json',
        JSON.stringify({
          error: `invalid_client_${CANARY}`,
          error_description: `MP-100 client ${CANARY}-client is unknown; you sent ${everything}`,
        }),
      );
    }
    if (url.startsWith(`/mp-grant-${CANARY}/`)) {
      asked.grant++;
      return send(
        200,
        'application/json',
        JSON.stringify({
          access_token: `${CANARY}-token`,
          token_type: 'Bearer',
          expires_in: 120,
          scope: 'nhn:hpr/basic',
        }),
      );
    }
    if (url.startsWith(`/hpr-${CANARY}/`)) {
      asked.hpr++;
      return send(500, 'text/plain', `HPR exploded at ${everything}`);
    }
    if (url.startsWith(`/hr-${CANARY}/`)) {
      asked.helserefusjon++;
      // a 200 whose body is not JSON: JSON.parse's message would quote it
      return send(200, 'application/json', `${CANARY}-body {not json at ${everything}`);
    }
    if (url.startsWith(`/fnsp-${CANARY}/`)) {
      asked.fnsp++;
      return send(401, 'application/json', JSON.stringify({ message: `bad key, you sent ${everything}` }));
    }
    send(404, 'text/plain', `nothing at ${everything}`);
  });
}

interface Run {
  child: ChildProcess;
  lines: string[];
  stderr: string[];
  port: number;
  exit: Promise<number | null>;
}

async function startServer(env: Record<string, string>): Promise<Run> {
  const child = spawn(NODE, ['src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const stderr: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => stderr.push(d));
  const exit = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const deadline = Date.now() + 30_000;
  let port: number | undefined;
  while (port === undefined && Date.now() < deadline && child.exitCode === null) {
    const line = lines.find((l) => l.includes('"listening"'));
    if (line) port = JSON.parse(line).port;
    else await new Promise((r) => setTimeout(r, 50));
  }
  if (port === undefined) throw new Error(`server did not start: ${stderr.join('')}`);
  return { child, lines, stderr, port, exit };
}

/** Every response, as text: status line, headers and body. */
const seen: string[] = [];

async function ask(run: Run, path: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${run.port}${path}`);
  const body = await res.text();
  seen.push(`${res.status} ${path}\n${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${body}`);
  return res.status;
}

function askRaw(run: Run, request: string): Promise<void> {
  return new Promise((done) => {
    const socket = connect(run.port, '127.0.0.1', () => socket.write(request));
    const got: Buffer[] = [];
    socket.on('data', (c: Buffer) => got.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      seen.push(Buffer.concat(got).toString());
      done();
    });
  });
}

const PATHS = [
  '/healthz',
  '/readyz',
  '/fhir/metadata',
  '/fhir/Practitioner/900000001',
  '/fhir/Practitioner/900000002',
  '/fhir/Practitioner?family=Nordmann&birthdate=1980-01-01',
  '/fhir/HealthcareService?service-type=73761001',
  '/fhir/HealthcareService/fnsp-1-2',
  '/fhir/Organization?name=a',
  '/fhir/Location?address-city=Oslo',
  '/fhir/CodeSystem?_count=2',
  '/fhir/nowhere',
];

let upstream: Server;
let snapshotDir: string;
const runs: Run[] = [];

beforeAll(async () => {
  upstream = hostileUpstream();
  await new Promise<void>((done) => upstream.listen(0, '127.0.0.1', done));
  const origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  snapshotDir = mkdtempSync(join(tmpdir(), 'no-leaks-'));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const common = {
    MASKINPORTEN_CLIENT_ID: `${CANARY}-client`,
    MASKINPORTEN_KID: `${CANARY}-kid`,
    MASKINPORTEN_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    MASKINPORTEN_ISSUER: `${origin}/issuer-${CANARY}/`,
    HPR_BASE_URL: `${origin}/hpr-${CANARY}`,
    HPR_TIMEOUT: '2s',
    HELSEREFUSJON_BASE_URL: `${origin}/hr-${CANARY}`,
    HELSEREFUSJON_TIMEOUT: '2s',
    HELSEREFUSJON_SNAPSHOT_DIR: snapshotDir,
    FNSP_BASE_URL: `${origin}/fnsp-${CANARY}`,
    FNSP_API_KEY: `${CANARY}-apikey`,
    FNSP_API_KEY_HEADER: 'X-Api-Key',
    FNSP_TIMEOUT: '2s',
  };
  // one server whose Maskinporten refuses the grant, one whose Maskinporten grants and HPR fails
  runs.push(
    ...(await Promise.all([
      startServer({ ...common, MASKINPORTEN_TOKEN_ENDPOINT: `${origin}/mp-refuse-${CANARY}/token` }),
      startServer({ ...common, MASKINPORTEN_TOKEN_ENDPOINT: `${origin}/mp-grant-${CANARY}/token` }),
    ])),
  );
  for (const run of runs) {
    for (const path of PATHS) await ask(run, path);
    // asked again: now answered from the remembered failure (cool-downs, stale state)
    for (const path of PATHS) await ask(run, path);
    await askRaw(run, `GET /fhir/${'x'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    run.child.kill('SIGTERM');
  }
  await Promise.all(runs.map((r) => r.exit));
}, 90_000);

afterAll(async () => {
  for (const r of runs) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  await new Promise((done) => upstream.close(done));
  rmSync(snapshotDir, { recursive: true, force: true });
});

describe('nothing configured or upstream-sent leaks', () => {
  test('the hostile upstreams were asked', () => {
    expect(asked.refuse).toBeGreaterThan(0);
    expect(asked.grant).toBeGreaterThan(0);
    expect(asked.hpr).toBeGreaterThan(0);
    expect(asked.helserefusjon).toBeGreaterThan(0);
    expect(asked.fnsp).toBeGreaterThan(0);
  });

  test('the failures were logged and answered', () => {
    const all = runs.flatMap((r) => r.lines).join('\n');
    expect(all).toMatch(/helserefusjon refresh failed/);
    expect(all).toMatch(/directory data load failed/);
    expect(all).toMatch(/hpr .* failed/);
    expect(seen.some((s) => /^50[234] \/fhir\/Practitioner/.test(s))).toBe(true);
    expect(seen.some((s) => /^50[234] \/fhir\/HealthcareService/.test(s))).toBe(true);
  });

  test('every log line is one JSON object without a canary, an address, a key or a stack frame', () => {
    const lines = runs.flatMap((r) => r.lines);
    expect(lines.length).toBeGreaterThan(40);
    for (const line of lines) {
      expect(() => JSON.parse(line), line).not.toThrow();
      expect(line.toLowerCase(), line).not.toContain(CANARY);
      expect(line, line).not.toMatch(/127\.0\.0\.1:\d+\/|PRIVATE KEY|eyJ[\w-]{10,}\.|\.ts:\d+|file:\/\/|\\n\s+at /);
    }
    expect(runs.flatMap((r) => r.stderr).join('')).toBe('');
  });

  test('no response carries a canary, an upstream address or upstream text', () => {
    expect(seen.length).toBe(2 * (2 * PATHS.length + 1));
    for (const text of seen) {
      expect(text.toLowerCase(), text.slice(0, 300)).not.toContain(CANARY);
      expect(text, text.slice(0, 300)).not.toMatch(/127\.0\.0\.1:\d+\/|PRIVATE KEY|eyJ[\w-]{10,}\.|\.ts:\d+|not json/);
    }
  });

  test('both servers stopped cleanly', async () => {
    expect(await Promise.all(runs.map((r) => r.exit))).toEqual([0, 0]);
  });
});
