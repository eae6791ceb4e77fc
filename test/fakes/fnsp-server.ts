import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * A fake FNSP open-data API on 127.0.0.1 (STYLE.md example 7): it answers the documented procedure
 * endpoints, the sites and the full-dataset download with the JSON of test/fixtures/fnsp, refuses a
 * request without the API key (401, as an API gateway would), and can be told to fail, to answer
 * something else, or to hold its answers until released (to test single-flight loads).
 */

export const FNSP_FIXTURES = join(import.meta.dirname, '../fixtures/fnsp');
export const fnspFixture = (name: string): unknown => JSON.parse(readFileSync(join(FNSP_FIXTURES, name), 'utf8'));

export const FAKE_FNSP_KEY = 'test-key-not-secret';
export const FAKE_FNSP_KEY_HEADER = 'Ocp-Apim-Subscription-Key';

export interface FakeResponse {
  status: number;
  /** JSON body (serialised), or a string sent as is */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RecordedRequest {
  method: string;
  /** decoded, without the /api prefix */
  path: string;
  /** as sent (percent-encoded) */
  rawPath: string;
  /** the API key header carried the right key */
  authorized: boolean;
}

export interface FakeFnspServer {
  /** the API root to configure, e.g. http://127.0.0.1:41234/api */
  baseUrl: string;
  requests: RecordedRequest[];
  /** requests to a path (without the /api prefix) */
  count(path: string): number;
  /** the JSON answered at a path (without the /api prefix) */
  set(path: string, body: unknown): void;
  /** a status (and body) answered at every path until cleared with null */
  failAll(response: FakeResponse | null): void;
  /** holds every answer until the returned function is called */
  hold(): () => void;
  close(): Promise<void>;
}

export interface FakeFnspOptions {
  apiKey?: string;
  apiKeyHeader?: string;
  /** path of the full dataset (default /nedlastning) */
  datasetPath?: string;
  /** path → JSON body; defaults to the fixtures */
  routes?: Record<string, unknown>;
}

export function defaultFnspRoutes(): Record<string, unknown> {
  return {
    '/nedlastning': fnspFixture('datasett.json'),
    '/nettsteder': fnspFixture('nettsteder.json'),
    '/prosedyrer': fnspFixture('prosedyrer.json'),
    '/prosedyrer/koloskopi': fnspFixture('prosedyre-koloskopi.json'),
    '/prosedyrer/koloskopi/999100002': fnspFixture('tilbud-koloskopi-999100002.json'),
  };
}

export async function startFakeFnsp(options: FakeFnspOptions = {}): Promise<FakeFnspServer> {
  const apiKey = options.apiKey ?? FAKE_FNSP_KEY;
  const header = (options.apiKeyHeader ?? FAKE_FNSP_KEY_HEADER).toLowerCase();
  const routes = new Map(Object.entries(options.routes ?? defaultFnspRoutes()));
  if (options.datasetPath && options.datasetPath !== '/nedlastning') {
    routes.set(options.datasetPath, routes.get('/nedlastning'));
    routes.delete('/nedlastning');
  }
  const requests: RecordedRequest[] = [];
  let failure: FakeResponse | null = null;
  let gate: Promise<void> | null = null;

  const send = (res: ServerResponse, r: FakeResponse) => {
    const text = typeof r.body === 'string' ? r.body : JSON.stringify(r.body ?? { feil: `HTTP ${r.status}` });
    res.writeHead(r.status, { 'content-type': r.contentType ?? 'application/json; charset=utf-8', ...r.headers });
    res.end(text);
  };

  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = decodeURIComponent(url.pathname.replace(/^\/api/, '').replace(/\/+$/, '')) || '/';
    const authorized = req.headers[header] === apiKey;
    requests.push({ method: req.method ?? 'GET', path, rawPath: url.pathname, authorized });
    if (gate) await gate;
    if (!authorized)
      return send(res, { status: 401, body: { statusCode: 401, message: 'Access denied: missing subscription key' } });
    if (failure) return send(res, failure);
    if (!routes.has(path)) return send(res, { status: 404, body: { feil: 'ikke funnet' } });
    send(res, { status: 200, body: routes.get(path) });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/api`,
    requests,
    count: (path) => requests.filter((r) => r.path === path).length,
    set: (path, body) => {
      routes.set(path, body);
    },
    failAll: (r) => {
      failure = r;
    },
    hold: () => {
      let release: () => void = () => undefined;
      gate = new Promise<void>((resolve) => {
        release = () => {
          gate = null;
          resolve();
        };
      });
      return release;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
