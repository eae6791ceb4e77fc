/**
 * `npm run soak`: starts the server as a child process (node_modules/.bin/node src/main.ts), drives a
 * mix of traffic at it for a bounded time, samples the server's RSS (VmRSS of /proc/<pid>/status) and
 * prints, per sample, RSS, requests by status class and the latency of /healthz; then a verdict on
 * whether RSS stayed flat (the mean of the last third of the run within 10% of the middle third) and
 * how the server stopped (SIGTERM, exit code, time).
 *
 * The mix: $validate-code (GET, cached and uncached; POST; gzip POST), $lookup, $expand with filters
 * and counts, searches and reads, malformed bodies (bad JSON, wrong resource, bad gzip), and now and
 * then a large expansion (~1.5 MB) or a large search (~16 MB). Uncached GETs carry fresh parameters,
 * so the response cache fills and has to hold its bounds.
 *
 * Options: --minutes N (default 30; decimals allowed), --interval SECONDS (RSS sample, default 5),
 *          --concurrency N (default 16), --csv FILE (write the samples), --cache-bytes BYTES
 *          (RESPONSE_CACHE_BYTES of the server, default its own), --node-options '…' (NODE_OPTIONS of
 *          the server, e.g. --max-old-space-size=512).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Pool } from 'undici';
import { freePort } from './free-port.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const NLK_VS = 'https://no-fhir-facade.example/fhir/ValueSet/nlk-7280';
const NLK_CS = 'urn:oid:2.16.578.1.12.4.1.1.7280';
const GENDER_VS = 'http://hl7.org/fhir/ValueSet/administrative-gender';
const GENDER_CS = 'http://hl7.org/fhir/administrative-gender';
const FILTER_WORDS = ['kalium', 'natrium', 'glukose', 'hemoglobin', 'jern', 'vitamin', 'urin', 'blod', 'albumin', 'b-'];

const { values: opts } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    interval: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
    csv: { type: 'string' },
    'cache-bytes': { type: 'string' },
    'node-options': { type: 'string' },
  },
});
const durationMs = Number(opts.minutes) * 60_000;
const intervalMs = Number(opts.interval) * 1000;
const concurrency = Number(opts.concurrency);
if (!(durationMs > 0) || !(intervalMs >= 500) || !(concurrency >= 1)) {
  process.stderr.write('usage: npm run soak -- [--minutes 30] [--interval 5] [--concurrency 16] [--csv FILE]\n');
  process.exit(2);
}

// --- the server ------------------------------------------------------------------------------------

interface Server {
  child: ChildProcess;
  port: number;
  warnings: string[];
  exit: Promise<number | null>;
}

async function startServer(): Promise<Server> {
  const port = await freePort();
  const child = spawn(join(root, 'node_modules/.bin/node'), [join(root, 'src/main.ts')], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...(opts['cache-bytes'] ? { RESPONSE_CACHE_BYTES: opts['cache-bytes'] } : {}),
      ...(opts['node-options'] ? { NODE_OPTIONS: opts['node-options'] } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const warnings: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (d: string) => warnings.push(...d.split('\n').filter(Boolean)));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => warnings.push(d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}: ${warnings.join('\n')}`);
    if (Date.now() > deadline) throw new Error('the server did not start within 60 s');
    try {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (r.ok) break;
    } catch {
      // not up yet
    }
    await sleep(200);
  }
  return { child, port, warnings, exit };
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- the traffic ---------------------------------------------------------------------------------

interface Call {
  kind: string;
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)];
const nonce = () => Math.random().toString(36).slice(2, 8);
const FHIR_JSON = { 'content-type': 'application/fhir+json' };

/** The request mix, as weights; `codes` are real NLK codes (fetched at the start). */
function mix(codes: string[]): [number, () => Call][] {
  const q = encodeURIComponent;
  const validateParams = (code: string) =>
    JSON.stringify({
      resourceType: 'Parameters',
      parameter: [
        { name: 'url', valueUri: NLK_VS },
        { name: 'coding', valueCoding: { system: NLK_CS, code } },
      ],
    });
  return [
    // the same questions again and again (a validator): mostly cache hits
    [
      25,
      () => ({
        kind: 'validate-get',
        method: 'GET',
        path: `/fhir/CodeSystem/$validate-code?url=${q(NLK_CS)}&code=${pick(codes.slice(0, 50))}`,
      }),
    ],
    // fresh questions: new cache keys all the time
    [
      15,
      () => ({
        kind: 'validate-fresh',
        method: 'GET',
        path: `/fhir/ValueSet/$validate-code?url=${q(NLK_VS)}&system=${q(NLK_CS)}&code=${pick(codes)}&_n=${nonce()}`,
      }),
    ],
    [
      8,
      () => ({
        kind: 'validate-post',
        method: 'POST',
        path: '/fhir/ValueSet/$validate-code',
        headers: FHIR_JSON,
        body: validateParams(pick(codes)),
      }),
    ],
    [
      5,
      () => ({
        kind: 'validate-gzip',
        method: 'POST',
        path: '/fhir/ValueSet/$validate-code',
        headers: { ...FHIR_JSON, 'content-encoding': 'gzip' },
        body: gzipSync(validateParams(pick(codes))),
      }),
    ],
    [
      10,
      () => ({
        kind: 'lookup',
        method: 'GET',
        path: `/fhir/CodeSystem/$lookup?system=${q(NLK_CS)}&code=${pick(codes)}`,
      }),
    ],
    [
      10,
      () => ({
        kind: 'expand-filter',
        method: 'GET',
        path: `/fhir/ValueSet/$expand?url=${q(NLK_VS)}&filter=${pick(FILTER_WORDS)}&count=${10 + Math.floor(Math.random() * 190)}&offset=${Math.floor(Math.random() * 50)}`,
      }),
    ],
    [
      4,
      () => ({ kind: 'expand-small', method: 'GET', path: `/fhir/ValueSet/$expand?url=${q(GENDER_VS)}&_n=${nonce()}` }),
    ],
    [
      3,
      () => ({
        kind: 'validate-gender',
        method: 'GET',
        path: `/fhir/ValueSet/$validate-code?url=${q(GENDER_VS)}&system=${q(GENDER_CS)}&code=${pick(['male', 'female', 'other', 'unknown', 'nope'])}`,
      }),
    ],
    [
      6,
      () => ({
        kind: 'search',
        method: 'GET',
        path: `/fhir/CodeSystem?_count=50&_offset=${Math.floor(Math.random() * 600)}`,
      }),
    ],
    [
      4,
      () => ({
        kind: 'read',
        method: 'GET',
        path: `/fhir/ValueSet/${pick(['nlk-7280', 'administrative-gender', 'no-basis-marital-status', 'languages', 'no-such-id'])}`,
      }),
    ],
    [
      2,
      () => ({
        kind: 'bad-json',
        method: 'POST',
        path: '/fhir/ValueSet/$validate-code',
        headers: FHIR_JSON,
        body: '{"resourceType": "Parameters", ',
      }),
    ],
    [
      2,
      () => ({
        kind: 'bad-resource',
        method: 'POST',
        path: '/fhir/CodeSystem/$lookup',
        headers: FHIR_JSON,
        body: '{"resourceType":"Patient"}',
      }),
    ],
    [
      1,
      () => ({
        kind: 'bad-gzip',
        method: 'POST',
        path: '/fhir/CodeSystem/$lookup',
        headers: { ...FHIR_JSON, 'content-encoding': 'gzip' },
        body: Buffer.from('not gzip at all'),
      }),
    ],
    [1, () => ({ kind: 'unknown-path', method: 'GET', path: `/fhir/Nope/${nonce()}` })],
    // large answers: a whole NLK expansion (~1.5 MB, above the cache's entry limit), every code system (~16 MB)
    [
      0.6,
      () => ({
        kind: 'expand-large',
        method: 'GET',
        path: `/fhir/ValueSet/$expand?url=${q(NLK_VS)}&count=20000&_n=${nonce()}`,
      }),
    ],
    [0.15, () => ({ kind: 'search-large', method: 'GET', path: '/fhir/CodeSystem?_count=1000' })],
  ];
}

function chooser(weighted: [number, () => Call][]): () => Call {
  const total = weighted.reduce((s, [w]) => s + w, 0);
  return () => {
    let r = Math.random() * total;
    for (const [w, make] of weighted) {
      r -= w;
      if (r <= 0) return make();
    }
    return weighted[weighted.length - 1][1]();
  };
}

interface Counts {
  requests: number;
  s2xx: number;
  s4xx: number;
  shed: number;
  s5xx: number;
  failed: number;
  bytes: number;
  healthz: number[];
}

const freshCounts = (): Counts => ({
  requests: 0,
  s2xx: 0,
  s4xx: 0,
  shed: 0,
  s5xx: 0,
  failed: 0,
  bytes: 0,
  healthz: [],
});

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

// --- the run -------------------------------------------------------------------------------------

const server = await startServer();
const pid = server.child.pid as number;
const origin = `http://127.0.0.1:${server.port}`;
const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
// /healthz on its own connection, so that its latency is the server's, not our queue's
const probe = new Pool(origin, { connections: 1 });

const codesAnswer = await fetch(`${origin}/fhir/ValueSet/$expand?url=${encodeURIComponent(NLK_VS)}&count=2000`);
const expansion = (await codesAnswer.json()) as { expansion?: { contains?: { code?: string }[] } };
const codes = (expansion.expansion?.contains ?? []).map((c) => c.code).filter((c): c is string => !!c);
if (codes.length < 100) throw new Error(`expected NLK codes to drive the soak, got ${codes.length}`);
const next = chooser(mix(codes));

let window = freshCounts();
const total = freshCounts();
const byKind = new Map<string, { n: number; ms: number; statuses: Map<number, number> }>();
let running = true;

async function worker(): Promise<void> {
  while (running) {
    const call = next();
    const started = performance.now();
    let status = 0;
    let bytes = 0;
    try {
      const res = await pool.request({ method: call.method, path: call.path, headers: call.headers, body: call.body });
      status = res.statusCode;
      for await (const chunk of res.body) bytes += (chunk as Buffer).length;
    } catch {
      status = 0;
    }
    const ms = performance.now() - started;
    for (const c of [window, total]) {
      c.requests++;
      c.bytes += bytes;
      if (status === 0) c.failed++;
      else if (status < 300) c.s2xx++;
      else if (status < 500) c.s4xx++;
      else if (status === 503) c.shed++;
      else c.s5xx++;
    }
    const k = byKind.get(call.kind) ?? { n: 0, ms: 0, statuses: new Map() };
    k.n++;
    k.ms += ms;
    k.statuses.set(status, (k.statuses.get(status) ?? 0) + 1);
    byKind.set(call.kind, k);
  }
}

async function healthProbe(): Promise<void> {
  while (running) {
    const started = performance.now();
    try {
      const res = await probe.request({ method: 'GET', path: '/healthz' });
      await res.body.dump();
      const ms = performance.now() - started;
      window.healthz.push(ms);
      total.healthz.push(ms);
    } catch {
      window.failed++;
    }
    await sleep(250);
  }
}

interface Sample {
  t: number;
  rss: number;
  requests: number;
  rps: number;
  s2xx: number;
  s4xx: number;
  shed: number;
  s5xx: number;
  failed: number;
  mbOut: number;
  healthP50: number;
  healthP99: number;
}
const samples: Sample[] = [];
const startedAt = performance.now();
const columns = 't_s,rss_mib,requests,rps,2xx,4xx,503_shed,5xx_other,failed,mib_out,healthz_p50_ms,healthz_p99_ms';

function sample(): void {
  const t = (performance.now() - startedAt) / 1000;
  const sorted = [...window.healthz].sort((a, b) => a - b);
  const s: Sample = {
    t: Math.round(t),
    rss: Math.round(rssMiB(pid)),
    requests: window.requests,
    rps: Math.round(window.requests / (intervalMs / 1000)),
    s2xx: window.s2xx,
    s4xx: window.s4xx,
    shed: window.shed,
    s5xx: window.s5xx,
    failed: window.failed,
    mbOut: Math.round(window.bytes / 1024 / 1024),
    healthP50: Math.round(percentile(sorted, 50) * 10) / 10,
    healthP99: Math.round(percentile(sorted, 99) * 10) / 10,
  };
  samples.push(s);
  window = freshCounts();
  process.stdout.write(`${Object.values(s).join(',')}\n`);
}

process.stdout.write(
  `soak: server pid ${pid} on ${origin}, ${opts.minutes} min, ${concurrency} connections, RSS every ${opts.interval} s\n`,
);
process.stdout.write(`start RSS ${Math.round(rssMiB(pid))} MiB\n${columns}\n`);
const workers = Array.from({ length: concurrency }, () => worker());
const prober = healthProbe();
const sampler = setInterval(() => {
  try {
    sample();
  } catch {
    running = false; // the server is gone
  }
}, intervalMs);
const deadline = startedAt + durationMs;
while (running && performance.now() < deadline && server.child.exitCode === null) await sleep(200);
running = false;
clearInterval(sampler);
await Promise.all([...workers, prober]);
const alive = server.child.exitCode === null;

// --- the verdict ---------------------------------------------------------------------------------

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const third = Math.floor(samples.length / 3);
const middle = samples.slice(third, 2 * third).map((s) => s.rss);
const last = samples.slice(2 * third).map((s) => s.rss);
const middleMean = mean(middle);
const lastMean = mean(last);
const drift = (lastMean - middleMean) / middleMean;
const flat = samples.length >= 6 && Math.abs(drift) <= 0.1;
const health = [...total.healthz].sort((a, b) => a - b);

process.stdout.write('\nby kind: requests, mean ms, statuses\n');
for (const [kind, k] of [...byKind].sort((a, b) => b[1].n - a[1].n)) {
  const statuses = [...k.statuses].map(([s, n]) => `${s}×${n}`).join(' ');
  process.stdout.write(
    `  ${kind.padEnd(16)} ${String(k.n).padStart(7)} ${(k.ms / k.n).toFixed(1).padStart(8)}  ${statuses}\n`,
  );
}
process.stdout.write(
  `\ntotal: ${total.requests} requests (2xx ${total.s2xx}, 4xx ${total.s4xx}, 503 shed ${total.shed}, other 5xx ${total.s5xx}, failed ${total.failed}), ${Math.round(total.bytes / 1024 / 1024)} MiB answered\n`,
);
process.stdout.write(
  `/healthz: p50 ${percentile(health, 50).toFixed(1)} ms, p99 ${percentile(health, 99).toFixed(1)} ms, max ${(health.at(-1) ?? Number.NaN).toFixed(1)} ms (${health.length} probes)\n`,
);
process.stdout.write(
  `RSS: start ${samples[0]?.rss} MiB, max ${Math.max(...samples.map((s) => s.rss))} MiB, middle third mean ${middleMean.toFixed(0)} MiB, last third mean ${lastMean.toFixed(0)} MiB (${(drift * 100).toFixed(1)}%)\n`,
);
process.stdout.write(
  `verdict: RSS ${flat ? 'FLAT' : 'NOT FLAT'} (last third within 10% of the middle third)${alive ? '' : '; THE SERVER DIED'}\n`,
);
const warnings = server.warnings.filter((l) => !l.includes('"level":"info"'));
if (warnings.length > 0) {
  process.stdout.write(
    `server warnings/errors: ${warnings.length}, the first ones:\n${warnings.slice(0, 5).join('\n')}\n`,
  );
}

if (opts.csv) writeFileSync(opts.csv, `${columns}\n${samples.map((s) => Object.values(s).join(',')).join('\n')}\n`);

// how the server stops after the soak
await pool.close();
await probe.close();
const signalled = performance.now();
server.child.kill('SIGTERM');
const code = await server.exit;
process.stdout.write(`shutdown: SIGTERM → exit ${code} in ${Math.round(performance.now() - signalled)} ms\n`);
process.exit(flat && alive && code === 0 ? 0 : 1);
