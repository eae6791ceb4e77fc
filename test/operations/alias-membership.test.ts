import type { Coding, Parameters, ValueSet, ValueSetExpansionContains } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fetchFhir, postJson, startTestServer, type TestServer } from '../support/fhir.ts';

/**
 * A value set that names a code system by another of its identifiers (an OID, an old URL) contains
 * the codes it expands to: $validate-code accepts each of them, under every name of the system,
 * through the real app with the embedded data (the two cases users reported, issue 8).
 */

const VOLVEN_9060_OID = 'urn:oid:2.16.578.1.12.4.1.1.9060';
const NLK = 'urn:oid:2.16.578.1.12.4.1.1.7280';
const NLK_HELSEDIR = 'http://helsedir.no/fhir/CodeSystem/no-kodeverk-7280-nlk';
const NLK_EHELSE = 'http://ehelse.no/fhir/CodeSystem/no-kodeverk-7280-nlk';

function flatten(list: ValueSetExpansionContains[] | undefined): ValueSetExpansionContains[] {
  return (list ?? []).flatMap((c) => [c, ...flatten(c.contains)]);
}

function valueSet(url: string, include: NonNullable<ValueSet['compose']>['include']): ValueSet {
  return { resourceType: 'ValueSet', url, version: '1', status: 'active', compose: { include } };
}

describe('value sets naming a code system by an alias', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  async function expand(vs: ValueSet): Promise<ValueSetExpansionContains[]> {
    const res = await fetchFhir<ValueSet>(
      `${server.baseUrl}/ValueSet/$expand`,
      postJson({ resourceType: 'Parameters', parameter: [{ name: 'valueSet', resource: vs }] }),
    );
    expect(res.status).toBe(200);
    expect(res.body.expansion?.total).toBe(flatten(res.body.expansion?.contains).length);
    return flatten(res.body.expansion?.contains);
  }

  async function validate(vs: ValueSet, coding: Coding): Promise<Parameters> {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/ValueSet/$validate-code`,
      postJson({
        resourceType: 'Parameters',
        parameter: [
          { name: 'valueSet', resource: vs },
          { name: 'coding', valueCoding: coding },
        ],
      }),
    );
    expect(res.status).toBe(200);
    return res.body;
  }

  const result = (p: Parameters) => p.parameter?.find((x) => x.name === 'result')?.valueBoolean;

  test('a value set including Volven 9060 by its OID: all 36 codes, and each one validates', async () => {
    const vs = valueSet('http://example.org/fhir/ValueSet/9060-by-oid', [{ system: VOLVEN_9060_OID }]);
    const contains = await expand(vs);
    expect(contains).toHaveLength(36);
    const canonical = contains[0].system ?? '';
    expect(contains.map((c) => c.code)).toContain('LE');
    for (const c of contains) {
      // the coding as the expansion gives it, and under the OID the value set used
      expect(result(await validate(vs, { system: c.system, code: c.code })), c.code).toBe(true);
      expect(result(await validate(vs, { system: VOLVEN_9060_OID, code: c.code })), c.code).toBe(true);
    }
    expect(result(await validate(vs, { system: canonical, code: 'NOT-A-CODE' }))).toBe(false);
  });

  test('a value set naming NLK by its helsedir.no URL: its codes validate under the OID and both old URLs', async () => {
    const listed = ['NPU03230', 'NPU02593', 'NPU01370'];
    const vs = valueSet('http://example.org/fhir/ValueSet/nlk-by-helsedir', [
      { system: NLK_HELSEDIR, concept: listed.map((code) => ({ code })) },
    ]);
    const contains = await expand(vs);
    expect(contains.map((c) => c.code).sort()).toEqual([...listed].sort());
    for (const c of contains) expect(c.system).toBe(NLK);
    for (const system of [NLK, NLK_HELSEDIR, NLK_EHELSE]) {
      for (const code of listed) expect(result(await validate(vs, { system, code })), `${system}#${code}`).toBe(true);
      // a real NLK code that the value set does not list
      expect(result(await validate(vs, { system, code: 'NPU01685' }))).toBe(false);
    }
  });

  test('a whole-system include by an old NLK URL expands to the code system and validates its codes', async () => {
    const vs = valueSet('http://example.org/fhir/ValueSet/nlk-all-by-ehelse', [{ system: NLK_EHELSE }]);
    const res = await fetchFhir<ValueSet>(
      `${server.baseUrl}/ValueSet/$expand`,
      postJson({
        resourceType: 'Parameters',
        parameter: [
          { name: 'valueSet', resource: vs },
          { name: 'filter', valueString: 'kalium' },
          { name: 'count', valueInteger: 50 },
        ],
      }),
    );
    expect(res.status).toBe(200);
    const found = flatten(res.body.expansion?.contains);
    expect(found.length).toBeGreaterThan(0);
    for (const c of found.slice(0, 10)) {
      expect(result(await validate(vs, { system: NLK_HELSEDIR, code: c.code })), c.code).toBe(true);
    }
  });
});
