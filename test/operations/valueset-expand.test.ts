import type { OperationOutcome, ValueSet, ValueSetExpansionContains } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createValueSetExpandOperation } from '../../src/operations/valueset-expand.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { fetchFhir, postJson, startTestServer, type TestServer } from '../support/fhir.ts';
import {
  bigCodeSystem,
  LANG,
  langCodeSystem,
  TREE,
  treeCodeSystem,
  VS,
  valueSet,
} from '../terminology/expand-fixtures.ts';

let server: TestServer;

const ALL = valueSet('tree-all', { include: [{ system: TREE }] });
const BIG = valueSet('big', { include: [{ system: 'http://example.org/big' }] });

beforeAll(async () => {
  const store = new TerminologyStore();
  for (const r of [treeCodeSystem(), langCodeSystem(), bigCodeSystem('http://example.org/big', 40), ALL, BIG]) {
    store.add(r);
  }
  server = await startTestServer({ store, operations: [createValueSetExpandOperation({ maxExpansionSize: 30 })] });
});

afterAll(async () => {
  await server.close();
});

function codes(list: ValueSetExpansionContains[] | undefined): string[] {
  return (list ?? []).flatMap((c) => [c.code ?? '', ...codes(c.contains)]);
}

function parameters(body: ValueSet): string[] {
  return (body.expansion?.parameter ?? [])
    .map((p) => `${p.name}=${p.valueUri ?? p.valueBoolean ?? p.valueString ?? p.valueInteger ?? p.valueCode}`)
    .sort();
}

const q = encodeURIComponent;

describe('ValueSet/$expand routes', () => {
  test('GET type level with url', async () => {
    const res = await fetchFhir<ValueSet>(
      `${server.baseUrl}/ValueSet/$expand?url=${q(ALL.url ?? '')}&excludeNested=true`,
    );
    expect(res.status).toBe(200);
    expect(res.body.url).toBe(ALL.url);
    expect(res.body.expansion?.total).toBe(7);
    expect(codes(res.body.expansion?.contains)).toEqual([
      'root1',
      'root2',
      'child2a',
      'leaf2aI',
      'leaf2aII',
      'child2b',
      'root3',
    ]);
    expect(parameters(res.body)).toEqual(['excludeNested=true', `used-codesystem=${TREE}|1.0.0`]);
  });

  test('GET instance level', async () => {
    const res = await fetchFhir<ValueSet>(`${server.baseUrl}/ValueSet/tree-all/$expand?count=2`);
    expect(res.status).toBe(200);
    expect(codes(res.body.expansion?.contains)).toEqual(['root1', 'root2']);
    expect(parameters(res.body)).toContain('count=2');
  });

  test('POST instance level', async () => {
    const res = await fetchFhir<ValueSet>(
      `${server.baseUrl}/ValueSet/tree-all/$expand`,
      postJson({ resourceType: 'Parameters', parameter: [{ name: 'filter', valueString: 'kidney' }] }),
    );
    expect(res.status).toBe(200);
    expect(codes(res.body.expansion?.contains)).toEqual(['root3']);
  });

  test('POST type level with a valueSet resource and a tx-resource code system', async () => {
    const extra = {
      resourceType: 'CodeSystem',
      url: 'http://example.org/extra',
      status: 'active',
      content: 'complete',
      concept: [{ code: 'e1', display: 'Extra one' }],
    };
    const res = await fetchFhir<ValueSet>(
      `${server.baseUrl}/ValueSet/$expand`,
      postJson({
        resourceType: 'Parameters',
        parameter: [
          {
            name: 'valueSet',
            resource: {
              resourceType: 'ValueSet',
              status: 'active',
              compose: {
                include: [{ system: 'http://example.org/extra' }, { system: LANG, concept: [{ code: 'a' }] }],
              },
            },
          },
          { name: 'displayLanguage', valueCode: 'de' },
          { name: 'tx-resource', resource: extra },
        ],
      }),
    );
    expect(res.status).toBe(200);
    expect(res.body.expansion?.contains?.map((c) => c.display)).toEqual(['Extra one', 'Apfel']);
    expect(parameters(res.body)).toEqual([
      'displayLanguage=de',
      'used-codesystem=http://example.org/extra',
      `used-codesystem=${LANG}`,
    ]);
  });

  test('Accept-Language picks the display when no displayLanguage is given', async () => {
    const res = await fetchFhir<ValueSet>(`${server.baseUrl}/ValueSet/$expand`, {
      ...postJson({
        resourceType: 'Parameters',
        parameter: [{ name: 'valueSet', resource: valueSet('lang', { include: [{ system: LANG }] }) }],
      }),
      headers: { 'Content-Type': 'application/fhir+json', 'Accept-Language': 'es' },
    });
    expect(res.body.expansion?.contains?.map((c) => c.display)).toEqual(['Apple', 'Pera', 'Ciruela']);
  });

  test('properties travel as R4 extensions and the result is valid R4', async () => {
    const res = await fetchFhir<ValueSet>(`${server.baseUrl}/ValueSet/$expand?url=${q(ALL.url ?? '')}&property=colour`);
    expect(res.status).toBe(200);
    const root1 = res.body.expansion?.contains?.[0];
    expect(root1?.extension).toContainEqual({
      url: 'http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.contains.property',
      extension: [
        { url: 'code', valueCode: 'colour' },
        { url: 'value', valueCode: 'red' },
      ],
    });
  });
});

describe('ValueSet/$expand errors', () => {
  test.each<[string, string, number, string]>([
    ['unknown url', `url=${q(`${VS}nope`)}`, 404, `A definition for the value Set '${VS}nope' could not be found`],
    [
      'no value set',
      'filter=x',
      400,
      '$expand needs a value set: give url, valueSet or call it on a ValueSet instance',
    ],
    ['negative count', `url=${q(ALL.url ?? '')}&count=-1`, 400, "Parameter 'count' must not be negative, found -1"],
    [
      'too costly (limit 30)',
      `url=${q(BIG.url ?? '')}`,
      422,
      `The value set '${VS}big|1.0.0' expansion has too many codes to produce (>30)`,
    ],
  ])('%s', async (_name, query, status, text) => {
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}/ValueSet/$expand?${query}`);
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue?.[0]?.details?.text).toBe(text);
  });

  test('a large value set is served in pages', async () => {
    const res = await fetchFhir<ValueSet>(`${server.baseUrl}/ValueSet/big/$expand?offset=35&count=10`);
    expect(res.status).toBe(200);
    expect(res.body.expansion?.total).toBe(40);
    expect(res.body.expansion?.offset).toBe(35);
    expect(codes(res.body.expansion?.contains)).toEqual(['c36', 'c37', 'c38', 'c39', 'c40']);
  });
});
