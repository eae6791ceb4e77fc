// Reading test-cases.json, choosing the tests to run, and building each test's HTTP request
// (README "Layout of test-cases.json" and "Sending a test").

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { clone, isArray, isObject, type Json, type JsonObject, readJsonFile, str } from './json.ts';
import { requestR5ToR4 } from './r5-to-r4.ts';

export interface TestHeader {
  name: string;
  value: string;
  mode?: string;
}

export interface TestCase {
  suite: string;
  name: string;
  operation: string;
  /** Request Parameters file (absent for metadata / term-caps), after `request:<mode>`. */
  request?: string;
  /** Expected response file, after `response:<mode>`. */
  response?: string;
  /** Expected HTTP status class: `2xx` (default) or e.g. `4xx`. */
  httpCode: string;
  /** Profile Parameters file appended to the request (default `parameters-default.json`). */
  profile: string;
  acceptLanguage?: string;
  header?: TestHeader;
  /** The suite's setup files, each sent as a `tx-resource`. */
  setup: string[];
}

export interface SkippedTest {
  suite: string;
  name: string;
  reason: string;
}

export interface Selection {
  run: TestCase[];
  skipped: SkippedTest[];
  /** Tests left out by --suite / --test (neither run nor counted as skipped). */
  filteredOut: number;
}

export interface SelectOptions {
  /** Enabled modes; `general` is always on (the README's folder is the general-mode suites). */
  modes: ReadonlySet<string>;
  fhirVersion: string;
  suites?: readonly string[];
  testFilter?: string;
}

export const TEST_CASES_FILE = 'test-cases.json';
export const DEFAULT_PROFILE = 'parameters-default.json';

export function testsPresent(dir: string): boolean {
  return existsSync(join(dir, TEST_CASES_FILE));
}

export function loadTestCases(dir: string): JsonObject {
  const doc = readJsonFile(join(dir, TEST_CASES_FILE));
  if (!isObject(doc) || !isArray(doc.suites)) throw new Error(`${join(dir, TEST_CASES_FILE)} has no suites[]`);
  return doc;
}

/**
 * `version` of a suite or test: "4.0" runs against 4.0 and 4.0.x; "!4.0" against anything else
 * (README: `version` — run only against that FHIR version: skip `5.0` for an R4 server).
 */
export function versionMatches(spec: string, fhirVersion: string): boolean {
  if (spec.startsWith('!')) return !versionMatches(spec.slice(1), fhirVersion);
  return fhirVersion === spec || fhirVersion.startsWith(`${spec}.`);
}

/** Why an item (suite or test) does not run, or undefined when it does. */
function gate(item: JsonObject, opts: SelectOptions): string | undefined {
  if (item.disabled === true) return 'disabled';
  const mode = str(item, 'mode');
  const modes = isArray(item.modes) ? item.modes.filter((m): m is string => typeof m === 'string') : [];
  if (mode !== undefined || modes.length > 0) {
    const wanted = mode !== undefined ? [mode, ...modes] : modes;
    if (!wanted.some((m) => opts.modes.has(m))) return `mode ${wanted.join('|')} not enabled`;
  }
  const version = str(item, 'version');
  if (version !== undefined && !versionMatches(version, opts.fhirVersion)) {
    return `FHIR version ${version} (server is ${opts.fhirVersion})`;
  }
  return undefined;
}

/** `response:<mode>` / `request:<mode>` when that mode is on, else the plain property. */
function chooseFile(test: JsonObject, key: string, modes: ReadonlySet<string>): string | undefined {
  for (const mode of modes) {
    const alt = str(test, `${key}:${mode}`);
    if (alt !== undefined) return alt;
  }
  return str(test, key);
}

function toTestCase(suite: JsonObject, test: JsonObject, modes: ReadonlySet<string>): TestCase {
  const setup = isArray(suite.setup) ? suite.setup.filter((s): s is string => typeof s === 'string') : [];
  let header: TestHeader | undefined;
  if (isObject(test.header)) {
    const name = str(test.header, 'name');
    const value = str(test.header, 'value');
    if (name !== undefined && value !== undefined) header = { name, value, mode: str(test.header, 'mode') };
  }
  return {
    suite: str(suite, 'name') ?? '?',
    name: str(test, 'name') ?? '?',
    operation: str(test, 'operation') ?? '?',
    request: chooseFile(test, 'request', modes),
    response: chooseFile(test, 'response', modes),
    httpCode: str(test, 'http-code') ?? '2xx',
    profile: str(test, 'profile') ?? DEFAULT_PROFILE,
    acceptLanguage: str(test, 'Accept-Language'),
    header,
    setup,
  };
}

/** Apply --suite / --test filters, then the mode / version / disabled gates, in file order. */
export function selectTests(doc: JsonObject, opts: SelectOptions): Selection {
  const run: TestCase[] = [];
  const skipped: SkippedTest[] = [];
  let filteredOut = 0;
  const suites = isArray(doc.suites) ? doc.suites : [];
  for (const suite of suites) {
    if (!isObject(suite)) continue;
    const suiteName = str(suite, 'name') ?? '?';
    const tests = isArray(suite.tests) ? suite.tests.filter(isObject) : [];
    const suiteWanted = !opts.suites || opts.suites.length === 0 || opts.suites.includes(suiteName);
    const suiteGate = gate(suite, opts);
    for (const test of tests) {
      const name = str(test, 'name') ?? '?';
      if (!suiteWanted || (opts.testFilter !== undefined && !name.includes(opts.testFilter))) {
        filteredOut++;
        continue;
      }
      const reason = suiteGate ?? gate(test, opts);
      if (reason !== undefined) skipped.push({ suite: suiteName, name, reason });
      else run.push(toTestCase(suite, test, opts.modes));
    }
  }
  return { run, skipped, filteredOut };
}

// ---------------------------------------------------------------------------------------------
// requests

export interface BuiltRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  /** The (R4) Parameters sent as the POST body. */
  body?: Json;
}

/** Operation -> endpoint (README "Sending a test", step 3). */
export const ENDPOINTS: Readonly<Record<string, string>> = {
  expand: 'ValueSet/$expand',
  lookup: 'CodeSystem/$lookup',
  translate: 'ConceptMap/$translate',
  'validate-code': 'ValueSet/$validate-code',
  'cs-validate-code': 'CodeSystem/$validate-code',
  'batch-validate': 'ValueSet/$batch-validate-code',
};

/** expand, lookup and translate are always POSTed; the others only when they must be. */
const ALWAYS_POST = new Set(['expand', 'lookup', 'translate']);

/** Reads a test file (relative to the tests folder), parsed; cached, so callers must clone. */
export type FileLoader = (relativePath: string) => Json;

export function fileLoader(dir: string): FileLoader {
  const cache = new Map<string, Json>();
  return (rel) => {
    let v = cache.get(rel);
    if (v === undefined) {
      try {
        v = readJsonFile(join(dir, rel));
      } catch (e) {
        throw new Error(`cannot read test file ${rel}: ${e instanceof Error ? e.message : String(e)}`);
      }
      cache.set(rel, v);
    }
    return v;
  };
}

function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path}`;
}

/** A parameter is primitive when it has a primitive value[x] and no resource / parts. */
function isPrimitiveParameter(p: Json): boolean {
  if (!isObject(p) || 'resource' in p || 'part' in p) return false;
  for (const [k, v] of Object.entries(p)) {
    if (k.startsWith('value') && (isObject(v) || isArray(v))) return false;
  }
  return true;
}

function primitiveParameterValue(p: JsonObject): string {
  for (const [k, v] of Object.entries(p)) {
    if (k.startsWith('value') && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) {
      return String(v);
    }
  }
  return '';
}

/** The Parameters of a test (README step 2): request, one tx-resource per setup file, profile. */
export function buildParameters(test: TestCase, load: FileLoader): JsonObject {
  if (test.request === undefined) throw new Error(`test has no request file`);
  const request = clone(load(test.request));
  if (!isObject(request) || request.resourceType !== 'Parameters') {
    throw new Error(`request ${test.request} is not a Parameters resource`);
  }
  const params: Json[] = isArray(request.parameter) ? request.parameter : [];
  for (const file of test.setup) params.push({ name: 'tx-resource', resource: clone(load(file)) });
  const profile = load(test.profile);
  if (isObject(profile) && isArray(profile.parameter)) for (const p of profile.parameter) params.push(clone(p));
  request.parameter = params;
  return request;
}

export function buildRequest(test: TestCase, base: string, load: FileLoader, modes: ReadonlySet<string>): BuiltRequest {
  const headers: Record<string, string> = {
    Accept: 'application/fhir+json',
    'X-Request-Id': `txTests:${test.suite}/${test.name}`,
  };
  if (test.acceptLanguage !== undefined) headers['Accept-Language'] = test.acceptLanguage;
  // A header with a `mode` is only sent when that mode is on (IG: "optionally mode").
  if (test.header && (test.header.mode === undefined || modes.has(test.header.mode))) {
    headers[test.header.name] = test.header.value;
  }
  if (test.operation === 'metadata') return { method: 'GET', url: joinUrl(base, 'metadata'), headers };
  if (test.operation === 'term-caps')
    return { method: 'GET', url: joinUrl(base, 'metadata?mode=terminology'), headers };

  const endpoint = ENDPOINTS[test.operation];
  if (endpoint === undefined) throw new Error(`unknown operation ${test.operation}`);
  const params = buildParameters(test, load);
  // README step 4: the files are R5, the server is R4.
  requestR5ToR4(params);
  const list = isArray(params.parameter) ? params.parameter : [];
  if (ALWAYS_POST.has(test.operation) || !list.every(isPrimitiveParameter)) {
    headers['Content-Type'] = 'application/fhir+json; fhirVersion=4.0';
    return { method: 'POST', url: joinUrl(base, endpoint), headers, body: params };
  }
  const query = new URLSearchParams();
  for (const p of list) if (isObject(p)) query.append(str(p, 'name') ?? '', primitiveParameterValue(p));
  const qs = query.toString();
  return { method: 'GET', url: joinUrl(base, qs ? `${endpoint}?${qs}` : endpoint), headers };
}
