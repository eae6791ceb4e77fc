import type { Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ParamType } from '../../src/http/params.ts';
import { operations } from '../../src/operations/registry.ts';
import { fetchFhir, fetchFhirXml, postJson, startTestServer, type TestServer } from '../support/fhir.ts';
import { propertyRuns } from '../support/property.ts';

/**
 * An operation asked with GET (query string) and with POST (a Parameters resource) is the same
 * request (FHIR R4 operations: "the parameters are the same"): for generated parameter sets of
 * $validate-code, $lookup, $expand and $subsumes, both give the same status and the same body,
 * apart from what is new in every answer (an expansion's identifier and timestamp). Likewise a
 * $batch-validate-code answers each of its validations as $validate-code answers it alone, and an
 * answer in FHIR XML reads back as the same answer in FHIR JSON.
 */

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

const NLK = 'urn:oid:2.16.578.1.12.4.1.1.7280';
const GENDER = 'http://hl7.org/fhir/administrative-gender';
const GENDER_VS = 'http://hl7.org/fhir/ValueSet/administrative-gender';
const NLK_VS = 'https://no-fhir-facade.example/fhir/ValueSet/nlk-7280';

/** The value[x] name FHIR gives each primitive parameter type. */
const VALUE_KEY: Partial<Record<ParamType, string>> = {
  string: 'valueString',
  code: 'valueCode',
  uri: 'valueUri',
  canonical: 'valueCanonical',
  boolean: 'valueBoolean',
  integer: 'valueInteger',
  dateTime: 'valueDateTime',
  date: 'valueDate',
};

interface Call {
  path: string;
  params: [string, string][];
}

const system = fc.constantFrom(GENDER, NLK, 'http://example.org/unknown', 'urn:oid:2.16.578.1.12.4.1.1.9060');
const codeValue = fc.constantFrom('male', 'female', 'unknown', 'NPU01370', 'NOR05206', 'LE', 'nope', 'MALE');
const optional = <T>(name: string, arb: fc.Arbitrary<T>): fc.Arbitrary<[string, string][]> =>
  fc.option(arb, { nil: undefined }).map((v) => (v === undefined ? [] : [[name, String(v)]]));

const callArb: fc.Arbitrary<Call> = fc.oneof(
  fc
    .tuple(
      system,
      codeValue,
      optional('display', fc.constantFrom('Male', 'male', 'Mann')),
      optional('displayLanguage', fc.constantFrom('nb', 'en', 'de')),
    )
    .map(([s, c, display, lang]) => ({
      path: '/CodeSystem/$validate-code',
      params: [['url', s], ['code', c], ...display, ...lang] as [string, string][],
    })),
  fc
    .tuple(system, codeValue, optional('property', fc.constantFrom('display', 'designation', 'parent', '*')))
    .map(([s, c, property]) => ({
      path: '/CodeSystem/$lookup',
      params: [['system', s], ['code', c], ...property] as [string, string][],
    })),
  fc
    .tuple(
      fc.constantFrom(GENDER_VS, NLK_VS, 'http://example.org/unknown-vs'),
      system,
      codeValue,
      optional('abstract', fc.boolean()),
      optional('lenient-display-validation', fc.boolean()),
    )
    .map(([url, s, c, abstract, lenient]) => ({
      path: '/ValueSet/$validate-code',
      params: [['url', url], ['system', s], ['code', c], ...abstract, ...lenient] as [string, string][],
    })),
  fc
    .tuple(
      fc.constantFrom(GENDER_VS, NLK_VS),
      optional('filter', fc.constantFrom('kal', 'ma', 'sp kal', 'x')),
      optional('count', fc.integer({ min: 0, max: 5 })),
      optional('offset', fc.integer({ min: 0, max: 3 })),
      optional('activeOnly', fc.boolean()),
      optional('displayLanguage', fc.constantFrom('nb', 'en')),
      optional('includeDesignations', fc.boolean()),
      optional('property', fc.constantFrom('status', 'definition', '*')),
      optional('date', fc.constantFrom('2019-06-01', '2024-01-15')),
    )
    .map(([url, filter, count, offset, active, lang, designations, property, date]) => ({
      path: '/ValueSet/$expand',
      params: [
        ['url', url],
        ['count', '3'],
        ...filter,
        ...count,
        ...offset,
        ...active,
        ...lang,
        ...designations,
        ...property,
        ...date,
      ].filter(
        // one count: the drawn one, else 3
        (p, i, all) => p[0] !== 'count' || all.findLastIndex((q) => q[0] === 'count') === i,
      ) as [string, string][],
    })),
  fc.tuple(fc.constantFrom(GENDER, NLK), codeValue, codeValue).map(([s, a, b]) => ({
    path: '/CodeSystem/$subsumes',
    params: [
      ['system', s],
      ['codeA', a],
      ['codeB', b],
    ] as [string, string][],
  })),
);

/** The parameter types of each operation path. */
function typesOf(path: string): Map<string, ParamType> {
  const [, resourceType, op] = path.split('/');
  const def = operations.find((o) => `$${o.code}` === op && (o.resourceTypes as string[]).includes(resourceType));
  if (!def) throw new Error(`no operation at ${path}`);
  return new Map(def.parameters.map((p) => [p.name, p.type]));
}

function asParameters(call: Call): Parameters {
  const types = typesOf(call.path);
  const parameter = call.params.map(([name, value]): ParametersParameter => {
    const type = types.get(name) ?? 'string';
    const key = VALUE_KEY[type];
    if (!key) throw new Error(`${name} is not primitive`);
    const typed = type === 'boolean' ? value === 'true' : type === 'integer' ? Number(value) : value;
    return { name, [key]: typed } as ParametersParameter;
  });
  return { resourceType: 'Parameters', parameter };
}

/** An answer without what every answer makes anew. */
function stable(body: Resource): unknown {
  if (body.resourceType !== 'ValueSet' || !body.expansion) return body;
  const { identifier: _id, timestamp: _ts, ...expansion } = body.expansion;
  return { ...body, expansion };
}

describe('GET and POST of an operation', () => {
  test('give the same status and answer', async () => {
    await fc.assert(
      fc.asyncProperty(callArb, async (call) => {
        const query = new URLSearchParams(call.params).toString();
        const headers = { 'cache-control': 'no-cache' };
        const viaGet = await fetchFhir(`${server.baseUrl}${call.path}?${query}`, { headers });
        const post = postJson(asParameters(call));
        const viaPost = await fetchFhir(`${server.baseUrl}${call.path}`, {
          ...post,
          headers: { ...post.headers, ...headers },
        });
        expect(viaPost.status, `${call.path}?${query}`).toBe(viaGet.status);
        expect(stable(viaPost.body), `${call.path}?${query}`).toEqual(stable(viaGet.body));
      }),
      propertyRuns(150),
    );
  });

  test('a batch answers each validation as it is answered alone', async () => {
    const codingArb = fc.record({
      system: fc.constantFrom(GENDER, NLK, 'http://example.org/unknown'),
      code: codeValue,
      display: fc.option(fc.constantFrom('Male', 'female', 'Sp-Kalium', 'x'), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(GENDER_VS, NLK_VS),
        fc.array(codingArb, { minLength: 1, maxLength: 4 }),
        async (url, codings) => {
          const coding = (c: (typeof codings)[number]) => ({
            name: 'coding',
            valueCoding: { system: c.system, code: c.code, ...(c.display ? { display: c.display } : {}) },
          });
          const batch = await fetchFhir<Parameters>(
            `${server.baseUrl}/ValueSet/$batch-validate-code`,
            postJson({
              resourceType: 'Parameters',
              parameter: [
                { name: 'url', valueUri: url },
                ...codings.map((c) => ({
                  name: 'validation',
                  resource: { resourceType: 'Parameters', parameter: [coding(c)] },
                })),
              ],
            }),
          );
          expect(batch.status).toBe(200);
          const answers = (batch.body.parameter ?? []).filter((p) => p.name === 'validation').map((p) => p.resource);
          expect(answers).toHaveLength(codings.length);
          for (const [i, c] of codings.entries()) {
            const alone = await fetchFhir(
              `${server.baseUrl}/ValueSet/$validate-code`,
              postJson({ resourceType: 'Parameters', parameter: [{ name: 'url', valueUri: url }, coding(c)] }),
            );
            expect(answers[i], JSON.stringify(c)).toEqual(alone.body);
          }
        },
      ),
      propertyRuns(60),
    );
  });

  test('FHIR XML and FHIR JSON give the same answer', async () => {
    await fc.assert(
      fc.asyncProperty(callArb, async (call) => {
        const query = new URLSearchParams(call.params).toString();
        const headers = { 'cache-control': 'no-cache' };
        const json = await fetchFhir(`${server.baseUrl}${call.path}?${query}`, { headers });
        const xml = await fetchFhirXml(`${server.baseUrl}${call.path}?${query}`, { headers });
        expect(xml.status, `${call.path}?${query}`).toBe(json.status);
        expect(stable(xml.body), `${call.path}?${query}`).toEqual(stable(json.body));
      }),
      propertyRuns(100),
    );
  });
});
