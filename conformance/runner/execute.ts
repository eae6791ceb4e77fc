// Running one test end to end (README "Sending a test" and "Comparing a response"): build and
// send the request, turn the R4 answer into the scrubbed, sorted R5 form the templates describe,
// check the HTTP status class, and compare with the expected template.

import { type CompareOptions, compare, type Difference } from './compare.ts';
import { isObject, type Json, parseJson, preview } from './json.ts';
import { type BuiltRequest, buildRequest, type FileLoader, type TestCase } from './load.ts';
import { responseR4ToR5 } from './r5-to-r4.ts';
import { scrub, sortResource } from './scrub.ts';
import { type HttpResult, send } from './send.ts';
import { r4Problems } from './validate-r4.ts';

export interface RunContext {
  base: string;
  load: FileLoader;
  modes: ReadonlySet<string>;
  fhirVersion: string;
  timeoutMs: number;
  /** also check every response against FHIR R4 (a failure when it is not valid) */
  validateR4?: boolean;
}

export interface TestResult {
  suite: string;
  name: string;
  operation: string;
  passed: boolean;
  /** One-line reason for a failure. */
  reason?: string;
  differences: Difference[];
  warnings: string[];
  httpStatus?: number;
  durationMs: number;
  request?: BuiltRequest;
  /** The raw response body as received. */
  responseText?: string;
  /** The response as compared (R5, scrubbed, sorted). */
  actual?: Json;
  expected?: Json;
  expectedFile?: string;
}

/** Only the class of the status is checked (README: `http-code` `4xx`; default `2xx`). */
export function statusClassMatches(expected: string, status: number): boolean {
  const m = /^([1-5])xx$/i.exec(expected);
  if (m) return Math.floor(status / 100) === Number(m[1]);
  const n = Number(expected);
  return Number.isInteger(n) ? Math.floor(n / 100) === Math.floor(status / 100) : false;
}

function isMetadata(test: TestCase): boolean {
  return test.operation === 'metadata' || test.operation === 'term-caps';
}

/** Turn the raw answer into what is compared: R4 -> R5, then scrub and sort (not for metadata). */
export function prepareActual(test: TestCase, body: Json): Json {
  if (isMetadata(test)) return body;
  responseR4ToR5(body);
  scrub(body);
  sortResource(body);
  return body;
}

export async function runTest(test: TestCase, ctx: RunContext): Promise<TestResult> {
  const started = performance.now();
  const result: TestResult = {
    suite: test.suite,
    name: test.name,
    operation: test.operation,
    passed: false,
    differences: [],
    warnings: [],
    durationMs: 0,
    expectedFile: test.response,
  };
  const done = (reason?: string): TestResult => {
    result.durationMs = Math.round(performance.now() - started);
    if (reason !== undefined) {
      result.passed = false;
      result.reason = reason;
    }
    return result;
  };

  let expected: Json;
  let http: HttpResult;
  try {
    if (test.response === undefined) return done('test has no response file');
    expected = ctx.load(test.response);
    result.expected = expected;
    result.request = buildRequest(test, ctx.base, ctx.load, ctx.modes);
    http = await send(result.request, ctx.timeoutMs);
  } catch (e) {
    return done(e instanceof Error ? e.message : String(e));
  }
  result.httpStatus = http.status;
  result.responseText = http.text;

  const problems: string[] = [];
  if (!statusClassMatches(test.httpCode, http.status)) {
    problems.push(`HTTP ${http.status}, expected ${test.httpCode}`);
  }
  let body: Json;
  try {
    body = parseJson(http.text);
  } catch {
    problems.push(`response is not JSON (${http.contentType || 'no content-type'}): ${preview(http.text, 100)}`);
    return done(problems.join('; '));
  }
  // README "Comparing a response", step 4: an error response must carry an OperationOutcome.
  if (http.status >= 400 && !(isObject(body) && body.resourceType === 'OperationOutcome')) {
    problems.push(`error response is not an OperationOutcome`);
  }

  if (ctx.validateR4) {
    // validated as received (R4), before the R5 conversion and scrub used for the comparison
    const invalid = r4Problems(body);
    if (invalid.length > 0) problems.push(`invalid FHIR R4: ${invalid.slice(0, 3).join('; ')}`);
  }
  const actual = prepareActual(test, body);
  result.actual = actual;
  const options: CompareOptions = { modes: ctx.modes, fhirVersion: ctx.fhirVersion, pattern: isMetadata(test) };
  const cmp = compare(expected, actual, options);
  result.differences = cmp.differences;
  result.warnings = cmp.warnings;
  for (const d of cmp.differences.slice(0, 3)) problems.push(`${d.path}: ${d.message}`);
  if (!cmp.ok && cmp.differences.length === 0) problems.push('response does not match');
  if (problems.length > 0) return done(problems.join('; '));
  result.passed = true;
  return done();
}

/**
 * Run `items` through `worker` with at most `limit` in flight, calling `onResult` in input order
 * as soon as every earlier item has finished (so output stays in test order).
 */
export async function runPool<T, R>(
  items: readonly T[],
  limit: number,
  worker: (item: T, index: number) => Promise<R>,
  onResult: (result: R, index: number) => void,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  const finished: boolean[] = new Array<boolean>(items.length).fill(false);
  let next = 0;
  let printed = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await worker(items[i], i);
      finished[i] = true;
      while (printed < items.length && finished[printed]) {
        onResult(results[printed], printed);
        printed++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return results;
}
