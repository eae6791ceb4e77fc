import type { Bundle, CodeSystem, Parameters, ValueSet, ValueSetExpansionContains } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fetchFhir, startTestServer, type TestServer } from '../support/fhir.ts';

// The embedded Helserefusjon code systems as a client sees them, through the real app.
const NLK = 'urn:oid:2.16.578.1.12.4.1.1.7280';
const NLK_ALIASES = [
  'http://helsedir.no/fhir/CodeSystem/no-kodeverk-7280-nlk',
  'http://ehelse.no/fhir/CodeSystem/no-kodeverk-7280-nlk',
];
const q = encodeURIComponent;

function param(p: Parameters, name: string) {
  return p.parameter?.find((x) => x.name === name);
}

function property(p: Parameters, code: string): unknown {
  const prop = p.parameter?.find(
    (x) => x.name === 'property' && x.part?.some((y) => y.name === 'code' && y.valueCode === code),
  );
  const value = prop?.part?.find((y) => y.name === 'value');
  return value?.valueString ?? value?.valueCode ?? value?.valueDecimal ?? value?.valueDateTime ?? value?.valueBoolean;
}

function codes(vs: ValueSet): string[] {
  const out: string[] = [];
  const walk = (list: ValueSetExpansionContains[] | undefined) => {
    for (const c of list ?? []) {
      if (c.code) out.push(c.code);
      walk(c.contains);
    }
  };
  walk(vs.expansion?.contains);
  return out;
}

describe('Norwegian code systems (embedded data)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  test('GET CodeSystem/takstkoder-le', async () => {
    const res = await fetchFhir<CodeSystem>(
      `${server.baseUrl}/CodeSystem/takstkoder-le?_elements=publisher,copyright,valueSet`,
    );
    expect(res.status).toBe(200);
    expect(res.body.id).toBe('takstkoder-le');
    expect(res.body.copyright).toMatch(/NLOD|åndsverkloven/);
    expect(res.body.publisher).not.toMatch(/^(Helsedirektoratet|Helfo)$/);
  });

  test('search CodeSystem by the NLK OID', async () => {
    const res = await fetchFhir<Bundle>(`${server.baseUrl}/CodeSystem?url=${q(NLK)}&_elements=url,valueSet,copyright`);
    expect(res.body.total).toBe(1);
    const cs = res.body.entry?.[0]?.resource as CodeSystem;
    expect(cs.url).toBe(NLK);
    expect(cs.valueSet).toBeTruthy();
    expect(cs.copyright).toMatch(/NLOD/);
  });

  test('$lookup NPU03230 gives P-Kalium in mmol/L', async () => {
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/CodeSystem/$lookup?system=${q(NLK)}&code=NPU03230`);
    expect(param(res.body, 'display')?.valueString).toBe('P-Kalium');
    expect(property(res.body, 'enhet')).toBe('mmol/L');
  });

  test.each(NLK_ALIASES)('%s validates NPU03230', async (alias) => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/$validate-code?url=${q(alias)}&code=NPU03230`,
    );
    expect(param(res.body, 'result')?.valueBoolean).toBe(true);
    expect(param(res.body, 'display')?.valueString).toBe('P-Kalium');
  });

  test('NOR05001 is retired and still found', async () => {
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/CodeSystem/$lookup?system=${q(NLK)}&code=NOR05001`);
    expect(property(res.body, 'status')).toBe('retired');
    expect(property(res.body, 'tildato')).toBe('2020-02-29');
  });

  test('$translate NOR05001 gives NPU29069', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/ConceptMap/$translate?system=${q(NLK)}&code=NOR05001&targetsystem=${q(NLK)}`,
    );
    expect(param(res.body, 'result')?.valueBoolean).toBe(true);
    const match = res.body.parameter?.find((p) => p.name === 'match');
    expect(match?.part?.find((p) => p.name === 'concept')?.valueCoding?.code).toBe('NPU29069');
  });

  test('$expand of the NLK value set with filter kalium finds NPU03230', async () => {
    const cs = await fetchFhir<Bundle>(`${server.baseUrl}/CodeSystem?url=${q(NLK)}&_elements=valueSet`);
    const vs = (cs.body.entry?.[0]?.resource as CodeSystem | undefined)?.valueSet ?? '';
    const res = await fetchFhir<ValueSet>(`${server.baseUrl}/ValueSet/$expand?url=${q(vs)}&filter=kalium&count=1000`);
    expect(codes(res.body)).toContain('NPU03230');
  });

  test.each([
    ['nlk-7280', 'hemoglobin', 'NOR05172'],
    ['nlk-7280', 'HEMOGLOBIN', 'NOR05172'],
    ['nlk-7280', 'døgn', 'NPU03229'],
    ['nlk-7280', 'DØGN', 'NPU03229'],
    ['takstkoder-le', 'pasientkontakt', '1ad'],
  ])('$expand of %s with filter %s finds %s', async (id, filter, code) => {
    const res = await fetchFhir<ValueSet>(`${server.baseUrl}/ValueSet/${id}/$expand?filter=${q(filter)}&count=1000`);
    expect(codes(res.body)).toContain(code);
  });

  test('the praksistyper of LE hold FALE and LEVA, not FYNO', async () => {
    const res = await fetchFhir<ValueSet>(`${server.baseUrl}/ValueSet/praksistyper-le/$expand`);
    const found = codes(res.body);
    expect(found).toEqual(expect.arrayContaining(['FALE', 'LEVA']));
    expect(found).not.toContain('FYNO');
  });
});
