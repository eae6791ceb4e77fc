import type { Resource } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { MockAgent } from 'undici';
import { expect } from 'vitest';
import { createDirectory } from '../../src/directory/directory.ts';
import { fnspDirectoryEndpoints } from '../../src/directory/directory-routes.ts';
import { practitionerEndpoint } from '../../src/directory/practitioner-endpoint.ts';
import { createLogger } from '../../src/http/log.ts';
import { parseFhirXml } from '../../src/http/xml-read.ts';
import { expectValidFhir, startTestServer, type TestServer } from '../support/fhir.ts';
import { propertyRuns } from '../support/property.ts';

/**
 * The fuzz suite's machinery (fuzz.test.ts, fuzz-cases.test.ts): a server of its own for each test
 * file, sending a request and checking its answer against what every answer must pass, and running
 * a property over generated recipes.
 */

/** Each batch takes a few seconds alone; the whole suite runs files in parallel, so leave room. */
export const BATCH_TIMEOUT_MS = 120_000;

/** A test file's server, with what it logged at level error. */
export interface FuzzServer {
  server: TestServer;
  logLines: string[];
  close(): Promise<void>;
}

/** Starts the app with every endpoint, the directory routes unconfigured; call from beforeAll. */
export async function startFuzzServer(): Promise<FuzzServer> {
  const logLines: string[] = [];
  // no network: the directory upstreams are unconfigured, and the dispatcher refuses any connection
  const mock = new MockAgent();
  mock.disableNetConnect();
  const server = await startTestServer({
    logger: createLogger('error', (line) => logLines.push(line)),
    directory: (config) => [
      practitionerEndpoint(config, { dispatcher: mock }).endpoint,
      ...fnspDirectoryEndpoints({
        directory: createDirectory(config.directory, { dispatcher: mock, logger: createLogger('silent') }),
        baseUrl: config.publicBaseUrl,
      }),
    ],
  });
  return {
    server,
    logLines,
    close: async () => {
      await server.close();
      await mock.close();
    },
  };
}

// --- sending and checking ---------------------------------------------------------------------

export interface Sent {
  method: string;
  /** path under /fhir, with the query string */
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** a directory route: 503 is its documented answer while unconfigured */
  directory?: boolean;
}

interface Answer {
  status: number;
  contentType: string | null;
  text: string;
}

export async function send(app: FuzzServer, req: Sent): Promise<Answer> {
  const res = await fetch(`${app.server.baseUrl}${req.path}`, {
    method: req.method,
    headers: req.headers,
    body: req.body,
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, contentType: res.headers.get('content-type'), text: await res.text() };
}

function short(req: Sent): string {
  const body = req.body === undefined ? '' : ` body(${req.body.length}): ${req.body.slice(0, 300)}`;
  return `${req.method} ${req.path.slice(0, 300)} ${JSON.stringify(req.headers).slice(0, 200)}${body}`;
}

/** The assertions every answer must pass; throws with the request summarised. */
export function checkAnswer(req: Sent, res: Answer): void {
  const fail = (why: string): never => {
    throw new Error(`${why}\n  request: ${short(req)}\n  answer: ${res.status} ${res.text.slice(0, 400)}`);
  };
  if (res.status >= 500 && !(res.status === 503 && req.directory)) fail(`HTTP ${res.status}`);
  // no body to check: HEAD, 204 (CORS preflight), 304
  if (req.method === 'HEAD' || res.status === 204 || res.status === 304) return;
  if (res.contentType === 'text/html; charset=utf-8') {
    // the HTML view (a browser's Accept): a whole page, and nothing from the request as markup
    if (!res.text.startsWith('<!DOCTYPE html>') || !res.text.endsWith('</html>')) fail('not an HTML page');
    if (/<script|<iframe|<[^>]*\son[a-z]+=/i.test(res.text)) fail('markup from the request in the page');
    return;
  }
  const xml = res.contentType === 'application/fhir+xml; charset=utf-8';
  if (!xml && !res.contentType?.startsWith('application/fhir+json')) fail(`Content-Type ${res.contentType}`);
  let body: Resource | undefined;
  try {
    body = xml ? parseFhirXml(res.text) : (JSON.parse(res.text) as Resource);
  } catch {
    fail(xml ? 'body is not FHIR XML' : 'body is not JSON');
  }
  if (!body) return;
  if (res.status >= 400 && body.resourceType !== 'OperationOutcome') fail('an error that is not an OperationOutcome');
  try {
    expectValidFhir(body);
  } catch (e) {
    fail(`not valid FHIR R4: ${(e as Error).message.slice(0, 600)}`);
  }
  const bad = issueWithoutTxType(body);
  if (bad) fail(`an issue without a details.text and a tx-issue-type coding: ${JSON.stringify(bad).slice(0, 300)}`);
}

/** Issue types about the HTTP exchange itself or the server, which carry no tx-issue-type (README: Issues). */
const EXCHANGE_ISSUES = new Set(['transient', 'too-long', 'exception', 'throttled', 'timeout', 'security']);

/**
 * The first OperationOutcome issue in an answer (the answer itself, a Parameters' `issues`, a
 * batch's `validation` resources) that lacks what the tx-ecosystem IG requires of every issue: a
 * details.text and a details.coding from the tx-issue-type system.
 */
function issueWithoutTxType(r: Resource | undefined): unknown {
  if (!r) return undefined;
  if (r.resourceType === 'OperationOutcome') {
    return r.issue?.find(
      (i) =>
        !EXCHANGE_ISSUES.has(i.code) &&
        (!i.details?.text ||
          !i.details.coding?.some((c) => c.system === 'http://hl7.org/fhir/tools/CodeSystem/tx-issue-type')),
    );
  }
  if (r.resourceType === 'Parameters') {
    for (const p of r.parameter ?? []) {
      const found = issueWithoutTxType(p.resource);
      if (found) return found;
    }
  }
  return undefined;
}

export async function healthy(app: FuzzServer): Promise<void> {
  // answering at all is what counts (a stalled server times out); speed is the benchmark's business
  const res = await fetch(`${app.server.origin}/healthz`, { signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
}

/** Runs a property over recipes, sending each built request and checking its answer. */
export async function fuzz<T>(
  app: FuzzServer,
  arb: fc.Arbitrary<T>,
  build: (recipe: T) => Sent,
  numRuns: number,
): Promise<void> {
  let sent = 0;
  await fc.assert(
    fc.asyncProperty(arb, async (recipe) => {
      const req = build(recipe);
      checkAnswer(req, await send(app, req));
      if (++sent % 100 === 0) await healthy(app);
    }),
    { ...propertyRuns(numRuns), endOnFailure: true },
  );
  await healthy(app);
}
