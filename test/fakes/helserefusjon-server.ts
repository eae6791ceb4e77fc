import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDate } from '../../src/upstream/values.ts';

/**
 * A fake Helserefusjon open-data API on 127.0.0.1 for whole-service tests (STYLE.md example 7):
 * the documented paths and query parameters (seed 003, navikt/Helserefusjon-apne-data), the wrapper
 * keys public clients rely on (research/upstream-apis.md §1: `takstkoder`, `nlkkoder`,
 * `fagomraader`, `apatKombinasjoner`; `refusjonskategorisatser` and `bandasjister` inferred),
 * JSON only. The test owns the rows (`data`, mutable), can make requests fail (a status, a
 * malformed body, a hang) and can count them.
 *
 * Standalone (a demo upstream): `node test/fakes/helserefusjon-server.ts [port]` prints its URL.
 */

export type Samhandlertype = 'PO' | 'LR';
type Rows = Record<string, unknown>[];

export interface FakeHelserefusjonData {
  fagomraader: Rows;
  takstkoder: Rows;
  /** `/v1/nlkkoder` without samhandlertype */
  nlkkoder: Rows;
  /** `/v1/nlkkoder?samhandlertype=…`; a samhandlertype without its own rows gets none */
  nlkkoderPerSamhandlertype: Partial<Record<Samhandlertype, Rows>>;
  refusjonskategorisatser: Partial<Record<Samhandlertype, Rows>>;
  apatkombinasjoner: Partial<Record<Samhandlertype, Rows>>;
  bandasjister: Rows;
}

/** What a failing request gets instead of its answer. */
export type Fault =
  | { status: number; retryAfter?: string }
  | { body: string; contentType?: string }
  /** never answers (until the server closes): for timeouts */
  | { hang: true };

export interface FaultOptions {
  /** only requests of this path, e.g. `/v1/takstkoder` (default: every path) */
  path?: string;
  /** how many requests fail (default: every one until clearFaults) */
  times?: number;
}

export interface FakeHelserefusjon {
  /** the root, e.g. http://127.0.0.1:41234 */
  url: string;
  /** the rows answered; change them between requests */
  data: FakeHelserefusjonData;
  /** every request received, as path and query (`/v1/nlkkoder?samhandlertype=PO`) */
  requests: string[];
  /** how many requests were received (of one path) */
  calls(path?: string): number;
  fail(fault: Fault, options?: FaultOptions): void;
  clearFaults(): void;
  close(): Promise<void>;
}

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'helserefusjon');
const fixture = (name: string, key: string): Rows =>
  (JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as Record<string, Rows>)[key];

/** The synthetic fixtures of test/fixtures/helserefusjon as the fake's rows (a fresh copy). */
export function fixtureData(): FakeHelserefusjonData {
  const nlkPo = fixture('nlkkoder-po.json', 'nlkkoder');
  return {
    fagomraader: fixture('fagomraader.json', 'fagomraader'),
    takstkoder: fixture('takstkoder-le.json', 'takstkoder'),
    nlkkoder: structuredClone(nlkPo),
    nlkkoderPerSamhandlertype: { PO: nlkPo },
    refusjonskategorisatser: { PO: fixture('refusjonskategorisatser-po.json', 'refusjonskategorisatser') },
    apatkombinasjoner: { PO: fixture('apatkombinasjoner-po.json', 'apatKombinasjoner') },
    bandasjister: fixture('bandasjister.json', 'bandasjister'),
  };
}

export interface StartOptions {
  data?: Partial<FakeHelserefusjonData>;
  /** default 0 (a free port) */
  port?: number;
}

export async function startFakeHelserefusjon(options: StartOptions = {}): Promise<FakeHelserefusjon> {
  const data: FakeHelserefusjonData = { ...fixtureData(), ...options.data };
  const requests: string[] = [];
  const faults: { fault: Fault; path?: string; left: number }[] = [];
  const hanging = new Set<ServerResponse>();

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push(`${url.pathname}${url.search}`);
    const i = faults.findIndex((f) => f.path === undefined || f.path === url.pathname);
    if (i >= 0) {
      const f = faults[i];
      if (--f.left <= 0) faults.splice(i, 1);
      if ('hang' in f.fault) {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      if ('status' in f.fault) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (f.fault.retryAfter !== undefined) headers['retry-after'] = f.fault.retryAfter;
        res
          .writeHead(f.fault.status, headers)
          .end(JSON.stringify({ status: f.fault.status, feil: 'Feil i tjenesten' }));
        return;
      }
      res.writeHead(200, { 'content-type': f.fault.contentType ?? 'application/json' }).end(f.fault.body);
      return;
    }
    answer(req, res, url, data);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    data,
    requests,
    calls: (path) => (path === undefined ? requests.length : requests.filter((r) => r.split('?')[0] === path).length),
    fail: (fault, o = {}) => {
      faults.push({
        fault,
        ...(o.path !== undefined ? { path: o.path } : {}),
        left: o.times ?? Number.POSITIVE_INFINITY,
      });
    },
    clearFaults: () => {
      faults.length = 0;
    },
    close: () =>
      new Promise<void>((ok, fail) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close((err) => (err ? fail(err) : ok()));
      }),
  };
}

function answer(req: IncomingMessage, res: ServerResponse, url: URL, data: FakeHelserefusjonData): void {
  const [status, body] = route(req.method ?? 'GET', url, data);
  res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8' }).end(JSON.stringify(body));
}

/** The status and body the API would answer. */
function route(method: string, url: URL, data: FakeHelserefusjonData): [number, unknown] {
  if (method !== 'GET') return [405, { feil: `${method} støttes ikke` }];
  const q = url.searchParams;
  const st = q.get('samhandlertype');
  if (st !== null && st !== 'PO' && st !== 'LR') return [400, { feil: `Ugyldig samhandlertype: ${st}` }];
  const date = q.get('gyldigdato');
  if (date !== null && !/^\d{4}-\d{2}-\d{2}$/.test(date)) return [400, { feil: 'gyldigdato må være yyyy-MM-dd' }];
  const valid = (rows: Rows) => (date === null ? rows : rows.filter((r) => validOn(r, date)));
  const perSamhandlertype = (rows: Partial<Record<Samhandlertype, Rows>>) =>
    st !== null ? (rows[st] ?? []) : [...(rows.PO ?? []), ...(rows.LR ?? [])];

  switch (url.pathname) {
    case '/v1/fagomraader':
      return [200, { fagomraader: data.fagomraader }];
    case '/v1/takstkoder': {
      let rows = valid(data.takstkoder);
      const fag = q.get('fagomraade');
      if (fag !== null) rows = rows.filter((r) => r.fagomraade === fag);
      const kode = q.get('takstkode');
      if (kode !== null) rows = rows.filter((r) => like(r.takstkode, kode));
      const tekst = q.get('beskrivelse');
      if (tekst !== null) rows = rows.filter((r) => like(r.beskrivelse, tekst));
      return [200, { takstkoder: rows }];
    }
    case '/v1/nlkkoder': {
      let rows = valid(st !== null ? (data.nlkkoderPerSamhandlertype[st] ?? []) : data.nlkkoder);
      const kode = q.get('nlkkode');
      if (kode !== null) rows = rows.filter((r) => like(r.nlkKode ?? r.nlk_kode, kode));
      return [200, { nlkkoder: rows }];
    }
    case '/v1/refusjonskategorisatser':
      return [200, { refusjonskategorisatser: valid(perSamhandlertype(data.refusjonskategorisatser)) }];
    case '/v1/apatkombinasjoner':
      return [200, { apatKombinasjoner: valid(perSamhandlertype(data.apatkombinasjoner)) }];
    case '/v1/bandasjister':
      return [200, { bandasjister: data.bandasjister }];
    default:
      return [404, { feil: 'Ukjent ressurs' }];
  }
}

/** `%` is the wildcard (the API documents `%25` in the URL, which URLSearchParams decodes). */
function like(value: unknown, pattern: string): boolean {
  if (typeof value !== 'string') return false;
  const re = new RegExp(`^${pattern.split('%').map(escapeRegExp).join('.*')}$`, 'i');
  return re.test(value);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function validOn(row: Record<string, unknown>, date: string): boolean {
  const day = (v: unknown) => {
    try {
      return readDate(v, 'fradato')?.slice(0, 10) ?? null;
    } catch {
      return null;
    }
  };
  const from = day(row.fradato);
  const to = day(row.tildato);
  return (from === null || from <= date) && (to === null || date <= to);
}

// standalone: node test/fakes/helserefusjon-server.ts [port]
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const fake = await startFakeHelserefusjon({ port: Number(process.argv[2] ?? 0) });
  process.stdout.write(`fake Helserefusjon API at ${fake.url} (HELSEREFUSJON_BASE_URL=${fake.url})\n`);
  const stop = () => void fake.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
