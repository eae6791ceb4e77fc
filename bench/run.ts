/**
 * `npm run bench`: loads the terminology operations of the real server and, in the same run,
 * a constant Express handler (bench/baseline-server.ts), and prints requests/s, p50/p99 and the
 * ratio to that baseline. Servers run as child processes; this process only generates load.
 *
 * The machines are shared and their speed drifts by tens of percent within seconds, so each
 * scenario is measured in one-second slices that alternate with slices of the baseline (paired), and
 * its ratio is taken against those baseline slices only. The run is made of rounds of every scenario;
 * the table gives the median over the rounds (requests/s, latencies, ratio) and the lowest and
 * highest ratio seen. The baseline's row gives all of its slices in a round.
 *
 * Options: --duration SECONDS (of a scenario, and of its baseline, per round, default 5), --rounds N (default 3),
 *          --connections N (default 32), --warmup SECONDS (default 2 in the first round, then
 *          half of it), --json FILE (write the figures), --only TEXT (measure only the scenarios whose
 *          name contains TEXT, against the same baseline; for working on one path).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { freePort } from './free-port.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** how many different codes (and filter words) a scenario uses in turn */
const SAMPLE = 200;

interface Scenario {
  name: string;
  target: 'baseline' | 'server';
  /** request paths, used in turn */
  paths: string[];
  /** extra request headers */
  headers?: Record<string, string>;
  /** POST bodies (FHIR JSON), used in turn with the paths: the scenario POSTs instead of GETs */
  bodies?: string[];
}

interface Result {
  name: string;
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  ratio?: number;
  /** lowest and highest ratio over the rounds */
  ratioRange?: [number, number];
}

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    json: { type: 'string' },
    only: { type: 'string' },
  },
});

function startChild(script: string, env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, script)], {
      env: { ...process.env, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const timer = setTimeout(() => reject(new Error(`${script} did not start within 60 s`)), 60_000);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', () => {});
    if (env.PORT && env.PORT !== '0') {
      // the service logs JSON lines; poll its readiness endpoint instead of parsing them
      const port = Number(env.PORT);
      const poll = async (): Promise<void> => {
        for (;;) {
          try {
            const r = await fetch(`http://127.0.0.1:${port}/readyz`);
            if (r.ok) break;
          } catch {
            // not up yet
          }
          await new Promise((res) => setTimeout(res, 200));
        }
        clearTimeout(timer);
        resolve({ child, port });
      };
      void poll();
    } else {
      child.stdout?.on('data', (chunk: string) => {
        const m = /listening (\d+)/.exec(chunk);
        if (m) {
          clearTimeout(timer);
          resolve({ child, port: Number(m[1]) });
        }
      });
    }
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Requests and latencies of one stretch of load. */
interface Slice {
  requests: number;
  errors: number;
  seconds: number;
  latencies: number[];
}

/** Load for `seconds` through `pool`, `connections` requests in flight, taking the paths in turn. */
async function load(
  pool: Pool,
  scenario: Scenario,
  seconds: number,
  connections: number,
  turns: { next: number },
): Promise<Slice> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const { paths, bodies } = scenario;
  const headers = scenario.headers ?? {};
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const at = turns.next++;
      const path = paths[at % paths.length];
      const t0 = performance.now();
      try {
        const res = await pool.request(
          bodies
            ? {
                method: 'POST',
                path,
                headers: { accept: 'application/fhir+json', 'content-type': 'application/fhir+json', ...headers },
                body: bodies[at % bodies.length],
              }
            : { method: 'GET', path, headers: { accept: 'application/fhir+json', ...headers } },
        );
        await res.body.text();
        if (res.statusCode !== 200) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  return { requests: latencies.length, errors, seconds: (performance.now() - started) / 1000, latencies };
}

function resultOf(name: string, slices: Slice[]): Result {
  const latencies = slices.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const seconds = slices.reduce((n, s) => n + s.seconds, 0);
  return {
    name,
    requests: latencies.length,
    errors: slices.reduce((n, s) => n + s.errors, 0),
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

/**
 * Measures a scenario against the baseline in alternating slices of about a second (baseline, scenario,
 * scenario, baseline, ...), `seconds` of each in all: the machine's speed drifts within seconds,
 * and a baseline measured a minute earlier (or later) says little about the speed the scenario met.
 * The ABBA order cancels a steady drift within each group of four slices.
 */
async function paired(
  pools: { baseline: Pool; server: Pool },
  baseline: Scenario,
  scenario: Scenario,
  seconds: number,
  connections: number,
  turns: Map<Scenario, { next: number }>,
): Promise<{ base: Slice[]; own: Slice[] }> {
  // an even number of slices of about a second, so that every group of four is complete
  const slices = Math.max(2, 2 * Math.round(seconds / 2));
  const base: Slice[] = [];
  const own: Slice[] = [];
  const turnOf = (s: Scenario): { next: number } => {
    let t = turns.get(s);
    if (!t) {
      t = { next: 0 };
      turns.set(s, t);
    }
    return t;
  };
  for (let i = 0; i < slices; i++) {
    const baseFirst = i % 2 === 0;
    for (const which of baseFirst ? ['base', 'own'] : ['own', 'base']) {
      const s = which === 'base' ? baseline : scenario;
      const slice = await load(pools[s.target], s, seconds / slices, connections, turnOf(s));
      (which === 'base' ? base : own).push(slice);
    }
  }
  return { base, own };
}

/** Picks the request paths from what the server actually serves, so the bench needs no fixed data. */
async function scenarios(serverOrigin: string): Promise<Scenario[]> {
  const q = (s: string): string => encodeURIComponent(s);
  const list: Scenario[] = [
    { name: 'baseline: constant Express handler', target: 'baseline', paths: ['/fhir/CodeSystem/$validate-code'] },
  ];
  interface CsConcept {
    code: string;
    display?: string;
    concept?: CsConcept[];
  }
  interface CsSummary {
    url?: string;
    content?: string;
    concept?: CsConcept[];
    valueSet?: string;
  }
  const systems: CsSummary[] = [];
  let next: string | undefined = `${serverOrigin}/fhir/CodeSystem?_count=500`;
  while (next) {
    const bundle = (await (await fetch(next)).json()) as {
      entry?: { resource: CsSummary }[];
      link?: { relation: string; url: string }[];
    };
    for (const e of bundle.entry ?? []) systems.push(e.resource);
    next = bundle.link?.find((l) => l.relation === 'next')?.url;
  }
  const flatten = (list: CsConcept[] | undefined): CsConcept[] =>
    (list ?? []).flatMap((c) => [c, ...flatten(c.concept)]);
  // NLK when served (issue 3); otherwise the largest complete code system, so look-ups are
  // measured on a realistic index size.
  const nlk = 'urn:oid:2.16.578.1.12.4.1.1.7280';
  const complete = systems.filter((r) => r.url && r.content === 'complete');
  const cs =
    complete.find((r) => r.url === nlk) ??
    complete.sort((a, b) => flatten(b.concept).length - flatten(a.concept).length)[0];
  if (!cs?.url) throw new Error('the server serves no code system to benchmark');
  const url = cs.url;
  const concepts = flatten(cs.concept);
  if (concepts.length === 0) throw new Error(`code system ${url} has no concepts`);
  // a spread of codes and words used in turn, so the figures are not one hot entry
  const step = Math.max(1, Math.floor(concepts.length / SAMPLE));
  const sample = concepts.filter((_, i) => i % step === 0).slice(0, SAMPLE);
  const words = [
    ...new Set(
      sample
        .map((c) => (c.display ?? '').split(/[^\p{L}\p{N}]+/u).find((w) => w.length >= 4))
        .filter((w): w is string => w !== undefined)
        .map((w) => w.slice(0, 6).toLowerCase()),
    ),
  ];
  const noCache = { 'cache-control': 'no-cache' };
  const validate = sample.map((c) => `/fhir/CodeSystem/$validate-code?url=${q(url)}&code=${q(c.code)}`);
  const lookup = sample.map((c) => `/fhir/CodeSystem/$lookup?system=${q(url)}&code=${q(c.code)}`);
  const label = `${url} (${concepts.length} concepts, ${sample.length} codes in turn)`;
  process.stdout.write(`code system: ${label}\n`);
  list.push(
    { name: 'CodeSystem $validate-code', target: 'server', paths: validate },
    { name: 'CodeSystem $validate-code, no-cache', target: 'server', paths: validate, headers: noCache },
    { name: 'CodeSystem $lookup', target: 'server', paths: lookup },
    { name: 'CodeSystem $lookup, no-cache', target: 'server', paths: lookup, headers: noCache },
    {
      // as the FHIR validator asks: a POST of Parameters with a coding (never from the response cache)
      name: 'CodeSystem $validate-code, POST',
      target: 'server',
      paths: ['/fhir/CodeSystem/$validate-code'],
      bodies: sample.map((c) =>
        JSON.stringify({
          resourceType: 'Parameters',
          parameter: [{ name: 'coding', valueCoding: { system: url, code: c.code, display: c.display } }],
        }),
      ),
    },
  );
  if (cs.valueSet && words.length > 0) {
    const expand = words.map((w) => `/fhir/ValueSet/$expand?url=${q(cs.valueSet ?? '')}&filter=${q(w)}&count=20`);
    process.stdout.write(`$expand filters: ${words.length} words (${words.slice(0, 5).join(', ')}, ...)\n`);
    list.push(
      { name: 'ValueSet $expand filter count=20', target: 'server', paths: expand },
      { name: 'ValueSet $expand filter count=20, no-cache', target: 'server', paths: expand, headers: noCache },
    );
  }
  return list;
}

async function main(): Promise<void> {
  const duration = Number(opts.duration);
  const warmup = Number(opts.warmup);
  const connections = Number(opts.connections);
  const baseline = await startChild('bench/baseline-server.ts', { PORT: '0' });
  const server = await startChild('src/main.ts', { PORT: String(await freePort()) });
  const origins = { baseline: `http://127.0.0.1:${baseline.port}`, server: `http://127.0.0.1:${server.port}` };
  const pools = {
    baseline: new Pool(origins.baseline, { connections, pipelining: 1 }),
    server: new Pool(origins.server, { connections, pipelining: 1 }),
  };
  try {
    const all = await scenarios(origins.server);
    const only = opts.only;
    const list = only === undefined ? all : [all[0], ...all.slice(1).filter((s) => s.name.includes(only))];
    if (list.length < 2) throw new Error(`no scenario's name contains "${only}"`);
    const [base, ...measured] = list;
    const rounds = Math.max(1, Number(opts.rounds));
    // per scenario, the result of each round (its ratio against the baseline slices next to it)
    const perRound: Result[][] = list.map(() => []);
    const turns = new Map<Scenario, { next: number }>();
    for (let round = 0; round < rounds; round++) {
      const warm = round === 0 ? warmup : warmup / 2;
      const baseSlices: Slice[] = [];
      for (const [i, s] of measured.entries()) {
        await load(pools.baseline, base, warm / 2, connections, { next: 0 });
        await load(pools.server, s, warm, connections, { next: 0 });
        const pair = await paired(pools, base, s, duration, connections, turns);
        const own = resultOf(s.name, pair.own);
        const against = resultOf(base.name, pair.base);
        baseSlices.push(...pair.base);
        perRound[i + 1].push({ ...own, ratio: own.rps / against.rps });
      }
      const b = resultOf(base.name, baseSlices);
      perRound[0].push({ ...b, ratio: 1 });
      process.stdout.write(`round ${round + 1} of ${rounds}: baseline ${b.rps.toFixed(0)} req/s\n`);
    }
    const results: Result[] = perRound.map((rs) => {
      const ratios = rs.map((r) => r.ratio ?? 0);
      return {
        name: rs[0].name,
        requests: rs.reduce((n, r) => n + r.requests, 0),
        errors: rs.reduce((n, r) => n + r.errors, 0),
        rps: median(rs.map((r) => r.rps)),
        p50: median(rs.map((r) => r.p50)),
        p99: median(rs.map((r) => r.p99)),
        ratio: median(ratios),
        ratioRange: [Math.min(...ratios), Math.max(...ratios)],
      };
    });
    const pad = (s: string, n: number): string => s.padEnd(n);
    process.stdout.write(
      `${pad('scenario (median of rounds)', 52)}${pad('req/s', 10)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('errors', 8)}${pad('ratio', 8)}range\n`,
    );
    for (const r of results) {
      const [lo, hi] = r.ratioRange ?? [0, 0];
      process.stdout.write(
        `${pad(r.name, 52)}${pad(r.rps.toFixed(0), 10)}${pad(r.p50.toFixed(2), 9)}${pad(r.p99.toFixed(2), 9)}${pad(String(r.errors), 8)}${pad((r.ratio ?? 0).toFixed(3), 8)}${lo.toFixed(2)}-${hi.toFixed(2)}\n`,
      );
    }
    if (opts.json) {
      writeFileSync(opts.json, JSON.stringify({ duration, rounds, connections, results, perRound }, null, 2));
    }
  } finally {
    await Promise.allSettled([pools.baseline.close(), pools.server.close()]);
    baseline.child.kill('SIGTERM');
    server.child.kill('SIGTERM');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
