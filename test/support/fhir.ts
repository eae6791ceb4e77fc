import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Resource } from '@medplum/fhirtypes';
import type { Express } from 'express';
import { r4Problems } from '../../conformance/runner/validate-r4.ts';
import { type AppDeps, createApp } from '../../src/app.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { createLogger, type Logger } from '../../src/http/log.ts';
import { parseFhirXml } from '../../src/http/xml-read.ts';
import { toFhirXml } from '../../src/http/xml-write.ts';
import type { TerminologyStore } from '../../src/terminology/store.ts';
import { loadServedTerminology, type TerminologySource } from '../../src/terminology-sources.ts';

/**
 * Test helpers for driving the real Express app over loopback HTTP and checking that every
 * resource it returns is valid FHIR R4 (STYLE.md example 8).
 */

let sharedStore: TerminologyStore | undefined;

/**
 * The store loaded from data/terminology plus the R4 core terminology, once per test process
 * (vitest runs each test file in its own process, so each file pays for one load).
 */
export function testStore(): TerminologyStore {
  sharedStore ??= loadServedTerminology(loadConfig({})).store;
  return sharedStore;
}

export interface TestServerOptions {
  /** what is still loading, for /readyz (AppDeps.readiness) */
  readiness?: AppDeps['readiness'];
  /** configuration overrides; PORT/HOST/PUBLIC_BASE_URL are set from the real listening address */
  config?: Partial<Config>;
  /** defaults to testStore() */
  store?: TerminologyStore;
  /** a source whose data can be swapped (live Helserefusjon data); replaces `store` */
  terminology?: TerminologySource;
  /** defaults to the registry */
  operations?: AppDeps['operations'];
  /** defaults to a silent logger */
  logger?: Logger;
  /** directory endpoints to mount (Practitioner, ...); built once the base URL is known */
  directory?: (config: Config) => AppDeps['directory'];
  /** worker threads for heavy operations (none by default: all runs on the event loop) */
  offload?: AppDeps['offload'];
  /** the metrics to serve at /metrics (default: the app's own) */
  metrics?: AppDeps['metrics'];
  /** the directory sources' state, for /readyz and the data-source metrics */
  directoryStatus?: AppDeps['directoryStatus'];
  /** false: every request goes through Express (AppDeps.fastLane) */
  fastLane?: boolean;
}

export interface TestServer {
  /** the FHIR base, e.g. http://127.0.0.1:41234/fhir */
  baseUrl: string;
  /** the server root, e.g. http://127.0.0.1:41234 */
  origin: string;
  config: Config;
  /** the app served (its locals: the fast lane's counts, fast-lane.ts) */
  app: Express;
  close(): Promise<void>;
}

/**
 * Starts the app on 127.0.0.1 on a free port. The app is built after the port is known, so that
 * PUBLIC_BASE_URL (paging links, CapabilityStatement.url) is the address the test talks to.
 */
export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  const config: Config = {
    ...loadConfig({}),
    logLevel: 'silent',
    // a test that blocks its own event loop (validating a large answer) must not be shed; the
    // load-shedding tests turn it on
    loadShedLagMs: 0,
    ...opts.config,
    port,
    host: '127.0.0.1',
    publicBaseUrl: `${origin}/fhir`,
  };
  const app = createApp(config, {
    ...(opts.terminology ? { terminology: opts.terminology } : { store: opts.store ?? testStore() }),
    operations: opts.operations,
    logger: opts.logger ?? createLogger('silent'),
    directory: opts.directory?.(config),
    ...(opts.offload ? { offload: opts.offload } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.directoryStatus ? { directoryStatus: opts.directoryStatus } : {}),
    ...(opts.readiness ? { readiness: opts.readiness } : {}),
    ...(opts.fastLane !== undefined ? { fastLane: opts.fastLane } : {}),
  });
  server.on('request', app);
  return {
    baseUrl: config.publicBaseUrl,
    origin,
    config,
    app,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/**
 * Throws (failing the test) unless `resource` is valid FHIR R4 by @medplum/core's validator against
 * the R4 StructureDefinitions (the same check the conformance run makes). Returns the resource,
 * typed, for chaining.
 */
export function expectValidFhir<T extends Resource = Resource>(resource: unknown): T {
  const problems = r4Problems(resource);
  if (problems.length > 0) {
    const type = (resource as Partial<Resource> | null)?.resourceType ?? 'resource';
    throw new Error(`Invalid ${type}:\n  ${problems.join('\n  ')}`);
  }
  return resource as T;
}

export interface FhirResponse<T extends Resource = Resource> {
  status: number;
  headers: Headers;
  /** the parsed body, already checked with expectValidFhir */
  body: T;
}

/** fetch + JSON parse + expectValidFhir: every FHIR body a test receives goes through the validator. */
export async function fetchFhir<T extends Resource = Resource>(
  url: string,
  init?: RequestInit,
): Promise<FhirResponse<T>> {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${init?.method ?? 'GET'} ${url} -> ${res.status}: body is not JSON: ${text.slice(0, 200)}`);
  }
  return { status: res.status, headers: res.headers, body: expectValidFhir<T>(json) };
}

/** A POST of a JSON body with the FHIR media type the tx tests use. */
export function postJson(
  body: unknown,
  contentType = 'application/fhir+json; fhirVersion=4.0',
): RequestInit & { headers: Record<string, string> } {
  return { method: 'POST', headers: { 'Content-Type': contentType }, body: JSON.stringify(body) };
}

/** FHIR XML answers are served with this Content-Type. */
export const FHIR_XML_CONTENT_TYPE = 'application/fhir+xml; charset=utf-8';

/** A FHIR XML body read back into FHIR JSON (the server's own reader, xml-read.ts), then expectValidFhir. */
export function readFhirXml<T extends Resource = Resource>(text: string): T {
  let json: Resource;
  try {
    json = parseFhirXml(text);
  } catch (err) {
    throw new Error(`body is not FHIR XML: ${(err as Error).message}: ${text.slice(0, 200)}`);
  }
  return expectValidFhir<T>(json);
}

export interface FhirXmlResponse<T extends Resource = Resource> extends FhirResponse<T> {
  /** the XML as received */
  text: string;
}

/**
 * fetch asking for FHIR XML (`Accept: application/fhir+xml` unless `init` names another Accept) +
 * a check that the answer is FHIR XML + readFhirXml: every XML body a test receives goes through
 * the validator too.
 */
export async function fetchFhirXml<T extends Resource = Resource>(
  url: string,
  init: RequestInit & { headers?: Record<string, string> } = {},
): Promise<FhirXmlResponse<T>> {
  const res = await fetch(url, { ...init, headers: { Accept: 'application/fhir+xml', ...init.headers } });
  const text = await res.text();
  const type = res.headers.get('content-type');
  if (type !== FHIR_XML_CONTENT_TYPE) {
    throw new Error(`${init.method ?? 'GET'} ${url} -> ${res.status}: Content-Type ${type}: ${text.slice(0, 200)}`);
  }
  return { status: res.status, headers: res.headers, body: readFhirXml<T>(text), text };
}

/** A POST of a resource as FHIR XML (written by the server's own writer, xml-write.ts). */
export function postXml(
  body: Resource,
  contentType = 'application/fhir+xml; fhirVersion=4.0',
): RequestInit & { headers: Record<string, string> } {
  return { method: 'POST', headers: { 'Content-Type': contentType }, body: toFhirXml(body) };
}
