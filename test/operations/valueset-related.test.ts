import type { CapabilityStatement, OperationOutcome, Parameters } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { fetchFhir, postJson, startTestServer, type TestServer } from '../support/fhir.ts';
import { TREE_URL, treeCodeSystem, valueSet, vsUrl } from '../terminology/related-fixtures.ts';

let server: TestServer;

const wholeTree = valueSet('whole', { include: [{ system: TREE_URL }] });
const someTree = valueSet('some', { include: [{ system: TREE_URL, concept: [{ code: 'a' }, { code: 'b' }] }] }, '1.2');
const filtered = valueSet('filtered', {
  include: [{ system: TREE_URL, filter: [{ property: 'concept', op: 'is-a', value: 'a1' }] }],
});

beforeAll(async () => {
  const store = new TerminologyStore();
  store.add(treeCodeSystem());
  store.add(wholeTree);
  store.add(someTree);
  store.add(filtered);
  server = await startTestServer({ store });
});

afterAll(async () => {
  await server.close();
});

const q = encodeURIComponent;
const WHOLE = vsUrl('whole');
const SOME = vsUrl('some');

function param(p: Parameters, name: string): unknown {
  const found = p.parameter?.find((x) => x.name === name);
  if (!found) return undefined;
  const key = Object.keys(found).find((k) => k.startsWith('value'));
  return key ? (found as unknown as Record<string, unknown>)[key] : undefined;
}

describe.each(['compare', 'related'])('ValueSet/$%s', (op) => {
  test('GET type level by url', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/ValueSet/$${op}?thisUrl=${q(WHOLE)}&otherUrl=${q(SOME)}`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      resourceType: 'Parameters',
      parameter: [
        { name: 'result', valueCode: 'superset' },
        { name: 'message', valueString: `The valueSet ${WHOLE} is a super-set of the valueSet ${SOME}|1.2` },
      ],
    });
  });

  test('POST type level with inline value sets and a tx-resource code system', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/ValueSet/$${op}`,
      postJson({
        resourceType: 'Parameters',
        parameter: [
          {
            name: 'thisValueSet',
            resource: valueSet('x', { include: [{ system: 'http://example.org/other', concept: [{ code: 'p' }] }] }),
          },
          { name: 'otherValueSet', resource: valueSet('y', { include: [{ system: 'http://example.org/other' }] }) },
          {
            name: 'tx-resource',
            resource: {
              resourceType: 'CodeSystem',
              url: 'http://example.org/other',
              status: 'active',
              content: 'complete',
              concept: [{ code: 'p' }, { code: 'q' }],
            },
          },
        ],
      }),
    );
    expect(res.status).toBe(200);
    expect(param(res.body, 'result')).toBe('subset');
  });

  test('GET instance level: the instance is this', async () => {
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/ValueSet/some/$${op}?otherUrl=${q(WHOLE)}`);
    expect(res.status).toBe(200);
    expect(param(res.body, 'result')).toBe('subset');
  });

  test('POST instance level', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/ValueSet/whole/$${op}`,
      postJson({ resourceType: 'Parameters', parameter: [{ name: 'otherValueSet', resource: wholeTree }] }),
    );
    expect(param(res.body, 'result')).toBe('same');
  });
});

describe('ValueSet/$compare details', () => {
  test('diagnostics: performed-expansion and the code lists', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/ValueSet/$compare?thisUrl=${q(vsUrl('filtered'))}&otherUrl=${q(SOME)}&diagnostics=true`,
    );
    expect(res.body.parameter).toEqual([
      { name: 'result', valueCode: 'disjoint' },
      {
        name: 'message',
        valueString: `No shared codes between the value sets ${vsUrl('filtered')} and ${SOME}|1.2`,
      },
      { name: 'performed-expansion', valueBoolean: true },
      { name: 'missing-codes', valueString: 'a1,a1x,a1y' },
      { name: 'extra-codes', valueString: 'a,b' },
    ]);
  });

  test('diagnostics from the definitions', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/ValueSet/$compare?thisUrl=${q(WHOLE)}&otherUrl=${q(WHOLE)}&diagnostics=true`,
    );
    expect(param(res.body, 'result')).toBe('same');
    expect(param(res.body, 'performed-expansion')).toBe(false);
  });

  test('url|version and valueSetVersion', async () => {
    const a = await fetchFhir<Parameters>(
      `${server.baseUrl}/ValueSet/$compare?thisUrl=${q(`${SOME}|1.2`)}&otherUrl=${q(WHOLE)}`,
    );
    expect(param(a.body, 'result')).toBe('subset');
    const b = await fetchFhir<Parameters>(
      `${server.baseUrl}/ValueSet/$compare?thisUrl=${q(SOME)}&otherUrl=${q(SOME)}&valueSetVersion=1.2`,
    );
    expect(param(b.body, 'result')).toBe('same');
  });

  test.each([
    {
      name: '400 without other',
      query: `thisUrl=${q(WHOLE)}`,
      status: 400,
      code: 'invalid',
      tx: 'invalid-data',
      text: 'Must provide either a otherValueSet resource or a otherUrl parameter',
    },
    {
      name: '400 without this',
      query: `otherUrl=${q(WHOLE)}`,
      status: 400,
      code: 'invalid',
      tx: 'invalid-data',
      text: 'Must provide either a thisValueSet resource or a thisUrl parameter',
    },
    {
      name: '404 for an unknown value set',
      query: `thisUrl=${q(WHOLE)}&otherUrl=${q('http://example.org/none')}`,
      status: 404,
      code: 'not-found',
      tx: 'not-found',
      text: 'ValueSet not found: http://example.org/none',
    },
    {
      name: '404 for an unknown version',
      query: `thisUrl=${q(SOME)}&otherUrl=${q(WHOLE)}&valueSetVersion=9`,
      status: 404,
      code: 'not-found',
      tx: 'not-found',
      text: `ValueSet not found: ${SOME} version 9`,
    },
    {
      name: '400 for an unknown version-policy',
      query: `thisUrl=${q(WHOLE)}&otherUrl=${q(WHOLE)}&version-policy=sometimes`,
      status: 400,
      code: 'invalid',
      tx: 'invalid-data',
      text: "The parameter 'version-policy' must be one of always, as-needed, never, not 'sometimes'",
    },
  ])('$name', async ({ query, status, code, tx, text }) => {
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}/ValueSet/$compare?${query}`);
    expect(res.status).toBe(status);
    expect(res.body.issue?.[0]).toMatchObject({
      severity: 'error',
      code,
      details: { text, coding: [{ system: 'http://hl7.org/fhir/tools/CodeSystem/tx-issue-type', code: tx }] },
    });
  });

  test('422 for a compose with a lockedDate', async () => {
    const res = await fetchFhir<OperationOutcome>(
      `${server.baseUrl}/ValueSet/$compare`,
      postJson({
        resourceType: 'Parameters',
        parameter: [
          {
            name: 'thisValueSet',
            resource: valueSet('l', { lockedDate: '2024-01-01', include: [{ system: TREE_URL }] }),
          },
          { name: 'otherUrl', valueUri: WHOLE },
        ],
      }),
    );
    expect(res.status).toBe(422);
    expect(res.body.issue?.[0]?.code).toBe('business-rule');
  });

  test('400 when thisValueSet is not a ValueSet', async () => {
    const res = await fetchFhir<OperationOutcome>(
      `${server.baseUrl}/ValueSet/$compare`,
      postJson({
        resourceType: 'Parameters',
        parameter: [
          { name: 'thisValueSet', resource: treeCodeSystem() },
          { name: 'otherUrl', valueUri: WHOLE },
        ],
      }),
    );
    expect(res.status).toBe(400);
    expect(res.body.issue?.[0]?.code).toBe('invalid');
  });

  test('404 for an unknown instance', async () => {
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}/ValueSet/nope/$compare?otherUrl=${q(WHOLE)}`);
    expect(res.status).toBe(404);
  });

  test('the CapabilityStatement lists both names', async () => {
    const res = await fetchFhir<CapabilityStatement>(`${server.baseUrl}/metadata`);
    const vs = res.body.rest?.[0]?.resource?.find((r) => r.type === 'ValueSet');
    const names = vs?.operation?.map((o) => o.name) ?? [];
    expect(names).toEqual(expect.arrayContaining(['compare', 'related']));
    expect(vs?.operation?.find((o) => o.name === 'compare')?.definition).toBe(
      'http://hl7.org/fhir/tools/OperationDefinition/ValueSet-compare',
    );
  });
});
