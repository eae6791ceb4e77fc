import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPool, statusClassMatches } from '../../conformance/runner/execute.ts';
import type { Json, JsonObject } from '../../conformance/runner/json.ts';
import {
  buildRequest,
  fileLoader,
  loadTestCases,
  selectTests,
  type TestCase,
  testsPresent,
  versionMatches,
} from '../../conformance/runner/load.ts';
import { XVER } from '../../conformance/runner/r5-to-r4.ts';

let dir: string;
const general = new Set(['general']);

const testCases: Json = {
  suites: [
    { name: 'metadata', setup: [], tests: [{ name: 'metadata', operation: 'metadata', response: 'cap.json' }] },
    {
      name: 'simple',
      mode: 'general',
      setup: ['cs.json'],
      tests: [
        {
          name: 'expand-a',
          operation: 'expand',
          request: 'req.json',
          response: 'resp.json',
          'response:flat': 'flat.json',
        },
        { name: 'internal', operation: 'expand', request: 'req.json', response: 'resp.json', mode: 'tx.fhir.org' },
        { name: 'r5-only', operation: 'expand', request: 'req.json', response: 'resp.json', version: '5.0' },
        { name: 'off', operation: 'expand', request: 'req.json', response: 'resp.json', disabled: true },
        {
          name: 'validate-a',
          operation: 'validate-code',
          request: 'req.json',
          response: 'resp.json',
          'http-code': '4xx',
          profile: 'profile.json',
          'Accept-Language': 'de',
          header: { name: 'X-TOO-COSTLY-THRESHOLD', value: '1000' },
        },
      ],
    },
    {
      name: 'snomed',
      mode: 'snomed',
      setup: [],
      tests: [{ name: 'sct', operation: 'lookup', request: 'req.json', response: 'resp.json' }],
    },
    {
      name: 'plain',
      setup: [],
      tests: [{ name: 'get-me', operation: 'cs-validate-code', request: 'prim.json', response: 'resp.json' }],
    },
  ],
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'txtests-'));
  const files: Record<string, Json> = {
    'test-cases.json': testCases,
    'cs.json': { resourceType: 'CodeSystem', url: 'http://cs', versionAlgorithmString: 'semver' },
    'req.json': { resourceType: 'Parameters', parameter: [{ name: 'url', valueUri: 'http://vs' }] },
    'prim.json': {
      resourceType: 'Parameters',
      parameter: [
        { name: 'url', valueUri: 'http://cs' },
        { name: 'code', valueCode: 'a b' },
      ],
    },
    'parameters-default.json': { resourceType: 'Parameters', parameter: [{ name: 'uuid', valueUuid: 'urn:uuid:1' }] },
    'profile.json': {
      resourceType: 'Parameters',
      parameter: [{ name: 'check-system-version', valueCanonical: 'http://cs|1.x' }],
    },
  };
  for (const [name, content] of Object.entries(files)) {
    // with a BOM, as several tx-ecosystem files have
    writeFileSync(join(dir, name), `\ufeff${JSON.stringify(content)}`);
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function select(extra: { modes?: Set<string>; suites?: string[]; testFilter?: string } = {}) {
  return selectTests(loadTestCases(dir), { modes: extra.modes ?? general, fhirVersion: '4.0.1', ...extra });
}

function find(name: string, modes = general): TestCase {
  const t = select({ modes }).run.find((x) => x.name === name);
  if (!t) throw new Error(`no test ${name}`);
  return t;
}

describe('selection', () => {
  it('finds the folder', () => {
    expect(testsPresent(dir)).toBe(true);
    expect(testsPresent(join(dir, 'nope'))).toBe(false);
  });

  it('runs general and mode-less suites; skips other modes, other FHIR versions and disabled tests', () => {
    const s = select();
    expect(s.run.map((t) => `${t.suite}/${t.name}`)).toEqual([
      'metadata/metadata',
      'simple/expand-a',
      'simple/validate-a',
      'plain/get-me',
    ]);
    expect(s.skipped).toEqual([
      { suite: 'simple', name: 'internal', reason: 'mode tx.fhir.org not enabled' },
      { suite: 'simple', name: 'r5-only', reason: 'FHIR version 5.0 (server is 4.0.1)' },
      { suite: 'simple', name: 'off', reason: 'disabled' },
      { suite: 'snomed', name: 'sct', reason: 'mode snomed not enabled' },
    ]);
    expect(s.filteredOut).toBe(0);
  });

  it('--mode enables mode-gated tests and response:<mode>', () => {
    const modes = new Set(['general', 'tx.fhir.org', 'flat']);
    const s = select({ modes });
    expect(s.run.map((t) => t.name)).toContain('internal');
    expect(find('expand-a', modes).response).toBe('flat.json');
    expect(find('expand-a').response).toBe('resp.json');
  });

  it('--suite and --test filter before gating', () => {
    const s = select({ suites: ['simple', 'snomed'], testFilter: 'a' });
    expect(s.run.map((t) => t.name)).toEqual(['expand-a', 'validate-a']);
    expect(s.skipped.map((t) => t.name)).toEqual(['internal']);
    // metadata, plain: suite not chosen; r5-only, off, sct: name without "a"
    expect(s.filteredOut).toBe(5);
  });

  it.each([
    ['4.0', '4.0.1', true],
    ['4.0', '4.01', false],
    ['5.0', '4.0.1', false],
    ['!4.0', '4.0.1', false],
    ['!5.0', '4.0.1', true],
    ['4.0.1', '4.0.1', true],
  ])('version %s vs %s -> %s', (spec, v, ok) => expect(versionMatches(spec, v)).toBe(ok));
});

describe('buildRequest', () => {
  const base = 'http://localhost:8080/fhir/';

  it('metadata and term-caps are GETs', () => {
    const r = buildRequest(find('metadata'), base, fileLoader(dir), general);
    expect(r).toEqual({
      method: 'GET',
      url: 'http://localhost:8080/fhir/metadata',
      headers: { Accept: 'application/fhir+json', 'X-Request-Id': 'txTests:metadata/metadata' },
    });
    const tc = buildRequest({ ...find('metadata'), operation: 'term-caps' }, base, fileLoader(dir), general);
    expect(tc.url).toBe('http://localhost:8080/fhir/metadata?mode=terminology');
  });

  it('expand: POST request + tx-resources + default profile, converted to R4', () => {
    const r = buildRequest(find('expand-a'), base, fileLoader(dir), general);
    expect(r.method).toBe('POST');
    expect(r.url).toBe('http://localhost:8080/fhir/ValueSet/$expand');
    expect(r.headers).toEqual({
      Accept: 'application/fhir+json',
      'Content-Type': 'application/fhir+json; fhirVersion=4.0',
      'X-Request-Id': 'txTests:simple/expand-a',
    });
    expect(r.body).toEqual({
      resourceType: 'Parameters',
      parameter: [
        { name: 'url', valueUri: 'http://vs' },
        {
          name: 'tx-resource',
          resource: {
            resourceType: 'CodeSystem',
            url: 'http://cs',
            extension: [{ url: `${XVER}CodeSystem.versionAlgorithm`, valueString: 'semver' }],
          },
        },
        { name: 'uuid', valueUuid: 'urn:uuid:1' },
      ],
    });
  });

  it('does not mutate the cached test files', () => {
    const load = fileLoader(dir);
    buildRequest(find('expand-a'), base, load, general);
    expect(load('cs.json')).toEqual({ resourceType: 'CodeSystem', url: 'http://cs', versionAlgorithmString: 'semver' });
    expect((load('req.json') as JsonObject).parameter).toHaveLength(1);
  });

  it('validate-code with a tx-resource: POST, profile, Accept-Language and the test header', () => {
    const r = buildRequest(find('validate-a'), base, fileLoader(dir), general);
    expect(r.method).toBe('POST');
    expect(r.url).toBe('http://localhost:8080/fhir/ValueSet/$validate-code');
    expect(r.headers['Accept-Language']).toBe('de');
    expect(r.headers['X-TOO-COSTLY-THRESHOLD']).toBe('1000');
    const names = ((r.body as JsonObject).parameter as JsonObject[]).map((p) => p.name);
    expect(names).toEqual(['url', 'tx-resource', 'check-system-version']);
  });

  it('a header gated on a mode is only sent in that mode', () => {
    const t = { ...find('validate-a'), header: { name: 'X-Mode-Only', value: '1', mode: 'tx.fhir.org' } };
    expect(buildRequest(t, base, fileLoader(dir), general).headers['X-Mode-Only']).toBeUndefined();
    expect(buildRequest(t, base, fileLoader(dir), new Set(['general', 'tx.fhir.org'])).headers['X-Mode-Only']).toBe(
      '1',
    );
  });

  it('all-primitive parameters without setup: GET with a query string', () => {
    const r = buildRequest(find('get-me'), base, fileLoader(dir), general);
    expect(r).toEqual({
      method: 'GET',
      url: 'http://localhost:8080/fhir/CodeSystem/$validate-code?url=http%3A%2F%2Fcs&code=a+b&uuid=urn%3Auuid%3A1',
      headers: { Accept: 'application/fhir+json', 'X-Request-Id': 'txTests:plain/get-me' },
    });
  });

  it('a missing file names the file', () => {
    const t = { ...find('expand-a'), request: 'missing.json' };
    expect(() => buildRequest(t, base, fileLoader(dir), general)).toThrow(/cannot read test file missing\.json/);
  });
});

describe('statusClassMatches', () => {
  it.each([
    ['2xx', 200, true],
    ['2xx', 204, true],
    ['2xx', 400, false],
    ['4xx', 422, true],
    ['4xx', 500, false],
    ['422', 404, true],
  ])('%s vs %d -> %s', (expected, status, ok) => expect(statusClassMatches(expected, status)).toBe(ok));
});

describe('runPool', () => {
  it('limits concurrency and reports in input order', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const order: number[] = [];
    const delays = [30, 5, 20, 1, 10, 1];
    const results = await runPool(
      delays,
      3,
      async (ms, i) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, ms));
        inFlight--;
        return i * 10;
      },
      (_r, i) => order.push(i),
    );
    expect(results).toEqual([0, 10, 20, 30, 40, 50]);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(maxInFlight).toBe(3);
  });
});
