import type { ConceptMap, OperationOutcome, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { fetchFhir, postJson, startTestServer, type TestServer } from '../support/fhir.ts';
import {
  asR4,
  chainMap,
  fullConceptMap,
  MAP_URL,
  mapTerminology,
  OTHER_CS,
  otherConceptMap,
  PROP,
  SIMPLE_URL,
  SOURCE_CS,
  SOURCE_VS,
  TARGET_CS,
  TARGET_VS,
} from '../terminology/lookup-translate-fixtures.ts';

let server: TestServer;

beforeAll(async () => {
  const store = new TerminologyStore();
  for (const r of [...mapTerminology(), { ...asR4(fullConceptMap()), id: 'full-r4' }]) store.add(r);
  server = await startTestServer({ store });
});

afterAll(async () => {
  await server.close();
});

const ORIGIN = `${MAP_URL}|0.1.0`;
const CHAIN = 'http://example.org/fhir/ConceptMap/';

/** The answer for source code-1 (every fetchFhir body is checked against FHIR R4). */
const CODE1: Parameters = {
  resourceType: 'Parameters',
  parameter: [
    { name: 'result', valueBoolean: true },
    {
      name: 'match',
      part: [
        { name: 'concept', valueCoding: { system: TARGET_CS, code: 'code1' } },
        { name: 'equivalence', valueCode: 'equivalent' },
        { name: 'originMap', valueCanonical: ORIGIN },
      ],
    },
  ],
};

/** The answer for target code1 translated in reverse (tx-ecosystem translate-reverse shape). */
const REVERSE: Parameters = {
  resourceType: 'Parameters',
  parameter: [
    { name: 'result', valueBoolean: true },
    {
      name: 'match',
      part: [
        { name: 'concept', valueCoding: { system: TARGET_CS, code: 'code1' } },
        { name: 'equivalence', valueCode: 'equivalent' },
        { name: 'originMap', valueCanonical: ORIGIN },
        { name: 'source', valueCoding: { system: SOURCE_CS, code: 'code-1' } },
      ],
    },
  ],
};

const q = (o: Record<string, string | undefined>) =>
  new URLSearchParams(Object.entries(o).filter((e): e is [string, string] => e[1] !== undefined)).toString();
const post = (parameter: ParametersParameter[]) => postJson({ resourceType: 'Parameters', parameter });
const txResources = (...maps: ConceptMap[]): ParametersParameter[] =>
  maps.map((resource) => ({ name: 'tx-resource', resource }));

async function translateGet(query: Record<string, string | undefined>, path = 'ConceptMap/$translate') {
  return fetchFhir<Parameters>(`${server.baseUrl}/${path}?${q(query)}`);
}

async function translatePost(parameter: ParametersParameter[], path = 'ConceptMap/$translate') {
  return fetchFhir<Parameters>(`${server.baseUrl}/${path}`, post(parameter));
}

const coding = (system: string, code: string) => ({ system, code });

describe('ConceptMap/$translate: naming the source concept', () => {
  test.each([
    { names: 'R4 code + system + targetsystem', query: { system: SOURCE_CS, code: 'code-1', targetsystem: TARGET_CS } },
    {
      names: 'R5 sourceCode + sourceSystem + targetSystem',
      query: { sourceSystem: SOURCE_CS, sourceCode: 'code-1', targetSystem: TARGET_CS },
    },
    { names: 'R5 sourceCode + system', query: { system: SOURCE_CS, sourceCode: 'code-1' } },
    { names: 'url', query: { url: MAP_URL, system: SOURCE_CS, code: 'code-1' } },
    { names: 'url|version', query: { url: ORIGIN, system: SOURCE_CS, code: 'code-1' } },
    { names: 'coding token + R4 source', query: { coding: `${SOURCE_CS}|code-1`, source: SOURCE_VS } },
    {
      names: 'R5 scopes',
      query: { sourceCode: 'code-1', system: SOURCE_CS, sourceScope: SOURCE_VS, targetScope: TARGET_VS },
    },
    { names: 'R4 scopes', query: { code: 'code-1', system: SOURCE_CS, source: SOURCE_VS, target: TARGET_VS } },
  ])('GET type level: $names', async ({ query }) => {
    const res = await translateGet(query);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(CODE1);
  });

  test.each([
    { name: 'sourceCoding', valueCoding: coding(SOURCE_CS, 'code-1') },
    { name: 'coding', valueCoding: coding(SOURCE_CS, 'code-1') },
    { name: 'sourceCodeableConcept', valueCodeableConcept: { coding: [coding(SOURCE_CS, 'code-1')] } },
    // the first coding is the one translated
    {
      name: 'codeableConcept',
      valueCodeableConcept: { coding: [coding(SOURCE_CS, 'code-1'), coding(SOURCE_CS, 'code-2')] },
    },
  ])('POST type level: $name', async (input) => {
    const res = await translatePost([input, { name: 'targetSystem', valueUri: TARGET_CS }]);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(CODE1);
  });

  test('POST with R5 tx-resources, as the tx-ecosystem translate-1 test', async () => {
    const res = await translatePost([
      { name: 'sourceSystem', valueUri: SOURCE_CS },
      { name: 'sourceCode', valueCode: 'code-1' },
      { name: 'targetSystem', valueUri: TARGET_CS },
      ...txResources(fullConceptMap(), otherConceptMap()),
    ]);
    expect(res.body).toEqual(CODE1);
  });

  test('dependency and parameters the operation does not define are accepted and ignored', async () => {
    const res = await translatePost([
      { name: 'sourceCoding', valueCoding: coding(SOURCE_CS, 'code-1') },
      { name: 'targetSystem', valueUri: TARGET_CS },
      {
        name: 'dependency',
        part: [
          { name: 'element', valueUri: PROP },
          { name: 'concept', valueCoding: coding(TARGET_CS, 'code3') },
        ],
      },
      { name: 'uuid', valueString: '5f3c1a52-0d3e-4a52-9c2b-6a1d1f0e0a11' },
    ]);
    expect(res.body).toEqual(CODE1);
  });

  test('the conceptMap parameter', async () => {
    const res = await translatePost([
      { name: 'coding', valueCoding: coding(OTHER_CS, 'code-1') },
      { name: 'conceptMap', resource: asR4(otherConceptMap()) },
    ]);
    expect(res.body.parameter?.[1]?.part?.[0]).toEqual({ name: 'concept', valueCoding: coding(SIMPLE_URL, 'code1') });
  });

  test.each([
    { method: 'GET', run: () => translateGet({ system: SOURCE_CS, code: 'code-1' }, 'ConceptMap/full-r4/$translate') },
    {
      method: 'POST',
      run: () =>
        translatePost(
          [{ name: 'sourceCoding', valueCoding: coding(SOURCE_CS, 'code-1') }],
          'ConceptMap/full-r4/$translate',
        ),
    },
  ])('$method instance level', async ({ run }) => {
    const res = await run();
    expect(res.status).toBe(200);
    expect(res.body).toEqual(CODE1);
  });
});

describe('ConceptMap/$translate: reverse', () => {
  test.each([
    { names: 'R4 reverse', query: { system: TARGET_CS, code: 'code1', reverse: 'true', targetsystem: SOURCE_CS } },
    {
      names: 'R4 reverse with target scope',
      query: { system: TARGET_CS, code: 'code1', reverse: 'true', target: TARGET_VS },
    },
    {
      names: 'R5 targetCode + sourceSystem',
      query: { sourceSystem: SOURCE_CS, targetCode: 'code1', targetSystem: TARGET_CS },
    },
    { names: 'R5 targetCode + system', query: { system: SOURCE_CS, targetCode: 'code1', targetSystem: TARGET_CS } },
    { names: 'targetcode + targetsystem', query: { targetcode: 'code1', targetsystem: TARGET_CS } },
  ])('GET: $names', async ({ query }) => {
    const res = await translateGet(query);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(REVERSE);
  });

  test.each([
    { name: 'targetCoding', valueCoding: coding(TARGET_CS, 'code1') },
    { name: 'targetCodeableConcept', valueCodeableConcept: { coding: [coding(TARGET_CS, 'code1')] } },
  ])('POST $name, type and instance level', async (input) => {
    for (const path of ['ConceptMap/$translate', 'ConceptMap/full-r4/$translate']) {
      const res = await translatePost([input], path);
      expect(res.body).toEqual(REVERSE);
    }
  });
});

describe('ConceptMap/$translate: what a map says', () => {
  const translateFull = async (code: string, map: ConceptMap = fullConceptMap()) =>
    (
      await translatePost([
        { name: 'sourceCode', valueCode: code },
        { name: 'sourceSystem', valueUri: SOURCE_CS },
        { name: 'targetSystem', valueUri: TARGET_CS },
        ...txResources(map),
      ])
    ).body.parameter;

  test.each([
    { code: 'code-2', equivalence: 'narrower', concept: 'code2' },
    { code: 'code-3', equivalence: 'wider', concept: 'code3' },
  ])('relationships in R4 form: $code is $equivalence', async ({ code, equivalence, concept }) => {
    const parameter = await translateFull(code);
    expect(parameter?.[1]?.part?.slice(0, 2)).toEqual([
      { name: 'concept', valueCoding: coding(TARGET_CS, concept) },
      { name: 'equivalence', valueCode: equivalence },
    ]);
  });

  test('comments and product', async () => {
    expect((await translateFull('code-2'))?.[1]?.part).toEqual([
      { name: 'concept', valueCoding: coding(TARGET_CS, 'code2') },
      { name: 'equivalence', valueCode: 'narrower' },
      { name: 'targetComment', valueString: 'only the acute cases' },
      {
        name: 'product',
        part: [
          { name: 'element', valueString: PROP },
          { name: 'concept', valueCoding: coding(TARGET_CS, 'code3') },
        ],
      },
      { name: 'originMap', valueCanonical: ORIGIN },
    ]);
    expect((await translateFull('code-3'))?.[1]?.part).toContainEqual({
      name: 'sourceComment',
      valueString: 'a source concept remark',
    });
  });

  test.each([
    // the runner writes not-related-to as disjoint in an R4 map; an R5 map's not-related-to is
    // `unmatched` in R4 output, as tx.fhir.org converts it
    { form: 'R5', map: fullConceptMap(), equivalence: 'unmatched' },
    { form: 'R4', map: asR4(fullConceptMap()), equivalence: 'disjoint' },
  ])('not-related-to and noMap are returned, the result is false ($form map)', async ({ map, equivalence }) => {
    const negative = await translateFull('code-7', map);
    expect(negative).toEqual([
      { name: 'result', valueBoolean: false },
      {
        name: 'match',
        part: [
          { name: 'concept', valueCoding: coding(TARGET_CS, 'code7') },
          { name: 'equivalence', valueCode: equivalence },
          { name: 'originMap', valueCanonical: ORIGIN },
        ],
      },
    ]);
    expect(await translateFull('code-6', map)).toEqual([
      { name: 'result', valueBoolean: false },
      {
        name: 'match',
        part: [
          { name: 'noMap', valueBoolean: true },
          { name: 'sourceComment', valueString: 'deliberately unmapped' },
          { name: 'originMap', valueCanonical: ORIGIN },
          { name: 'sourceConcept', valueCoding: coding(SOURCE_CS, 'code-6') },
        ],
      },
    ]);
  });

  test('unmapped fixed', async () => {
    expect((await translateFull('code-5'))?.[1]).toEqual({
      name: 'match',
      part: [
        { name: 'concept', valueCoding: coding(TARGET_CS, 'temp') },
        { name: 'equivalence', valueCode: 'relatedto' },
        { name: 'originMap', valueCanonical: ORIGIN },
      ],
    });
  });

  test('a code outside the map source scope', async () => {
    expect(await translateFull('code-8')).toEqual([
      { name: 'result', valueBoolean: false },
      {
        name: 'message',
        valueString: `No ConceptMap that translates from '${SOURCE_CS}' to '${TARGET_CS}' has '${SOURCE_CS}#code-8' in scope`,
      },
    ]);
  });

  test('an other-map chain: originMap is the first map, used-conceptmap the others', async () => {
    const a = chainMap('a', [{ code: 'code-1', noMap: true }], { mode: 'other-map', otherMap: `${CHAIN}b` });
    const b = chainMap('b', [{ code: 'code-5', target: [{ code: 'code5', relationship: 'equivalent' }] }]);
    const res = await translatePost([
      { name: 'url', valueUri: `${CHAIN}a` },
      { name: 'system', valueUri: SOURCE_CS },
      { name: 'code', valueCode: 'code-5' },
      ...txResources(asR4(a), asR4(b)),
    ]);
    expect(res.body.parameter).toEqual([
      { name: 'result', valueBoolean: true },
      {
        name: 'match',
        part: [
          { name: 'concept', valueCoding: coding(TARGET_CS, 'code5') },
          { name: 'equivalence', valueCode: 'equivalent' },
          { name: 'originMap', valueCanonical: `${CHAIN}a|1.0.0` },
        ],
      },
      { name: 'used-conceptmap', valueUri: `${CHAIN}b|1.0.0` },
    ]);
  });

  test('no map: result false with a message', async () => {
    const res = await translateGet({ system: 'http://example.org/x', code: 'a', targetsystem: TARGET_CS });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      resourceType: 'Parameters',
      parameter: [
        { name: 'result', valueBoolean: false },
        {
          name: 'message',
          valueString: `No ConceptMap is available to translate from 'http://example.org/x' to '${TARGET_CS}'`,
        },
      ],
    });
  });
});

describe('ConceptMap/$translate: errors', () => {
  const circular = [
    chainMap('d', [{ code: 'code-1', noMap: true }], { mode: 'other-map', otherMap: `${CHAIN}e` }),
    chainMap('e', [{ code: 'code-1', noMap: true }], { mode: 'other-map', otherMap: `${CHAIN}d` }),
  ].map(asR4);

  test.each([
    {
      name: '404 for an unknown url',
      run: () => translateGet({ url: 'http://example.org/none', system: SOURCE_CS, code: 'code-1' }),
      status: 404,
      text: 'ConceptMap not found: http://example.org/none',
    },
    {
      name: '404 for an unknown url and version',
      run: () => translateGet({ url: MAP_URL, conceptMapVersion: '9', system: SOURCE_CS, code: 'code-1' }),
      status: 404,
      text: `ConceptMap not found: ${MAP_URL} version 9`,
    },
    {
      name: '404 for an unknown instance',
      run: () => translateGet({ system: SOURCE_CS, code: 'code-1' }, 'ConceptMap/none/$translate'),
      status: 404,
      text: 'ConceptMap/none is not known on this server',
    },
    {
      name: '404 for an unknown scope value set',
      run: () => translateGet({ system: SOURCE_CS, code: 'code-1', source: 'http://example.org/vs/none' }),
      status: 404,
      text:
        "The value set 'http://example.org/vs/none', which is the sourceScope parameter, could not be found, " +
        'so the scope of the translation cannot be determined',
    },
    {
      name: '400 without a concept',
      run: () => translateGet({ system: SOURCE_CS }),
      status: 400,
      text:
        'Must provide sourceCode+(source)system, sourceCoding, or sourceCodeableConcept, or targetCode+targetSystem), ' +
        'targetCoding, or targetCodeableConcept',
    },
    {
      name: '400 for a code without a system',
      run: () => translateGet({ code: 'code-1' }),
      status: 400,
      text: 'system parameter is required when using code/sourceCode',
    },
    {
      name: '400 for a target code without a target system',
      run: () => translateGet({ targetCode: 'code1', sourceSystem: SOURCE_CS }),
      status: 400,
      text: 'targetSystem parameter is required when using targetCode',
    },
    {
      name: '400 for an empty CodeableConcept',
      run: () => translatePost([{ name: 'sourceCodeableConcept', valueCodeableConcept: { text: 'x' } }]),
      status: 400,
      text: 'sourceCodeableConcept must contain at least one coding',
    },
    {
      name: '400 for reverse with a target concept',
      run: () => translateGet({ targetCode: 'code1', targetSystem: TARGET_CS, reverse: 'true' }),
      status: 400,
      text: "The 'reverse' parameter cannot be combined with targetCode, targetCoding or targetCodeableConcept",
    },
    {
      name: '422 for a circular other-map chain',
      run: () =>
        translatePost([
          { name: 'url', valueUri: `${CHAIN}d` },
          { name: 'sourceCoding', valueCoding: coding(SOURCE_CS, 'code-2') },
          ...txResources(...circular),
        ]),
      status: 422,
      text: `ConceptMap ${CHAIN}e|1.0.0 has a circular group.unmapped.otherMap reference to ${CHAIN}d|1.0.0 (referenced as ${CHAIN}d)`,
    },
  ])('$name', async ({ run, status, text }) => {
    const res = (await run()) as unknown as { status: number; body: OperationOutcome };
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue?.[0]?.details?.text).toBe(text);
  });
});
