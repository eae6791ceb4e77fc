import type { OperationOutcome, Parameters } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { fetchFhir, postJson, startTestServer, type TestServer } from '../support/fhir.ts';
import {
  FLAT_URL,
  flatCodeSystem,
  SIMPLE_URL,
  SUPPLEMENT_URL,
  simpleCodeSystem,
  supplementCodeSystem,
} from '../terminology/lookup-translate-fixtures.ts';
import { MULTI_URL, multiParentCodeSystem } from '../terminology/related-fixtures.ts';

let server: TestServer;

beforeAll(async () => {
  const store = new TerminologyStore();
  store.add(simpleCodeSystem());
  store.add(flatCodeSystem());
  server = await startTestServer({ store });
});

afterAll(async () => {
  await server.close();
});

const PREFERRED = {
  system: 'http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra',
  code: 'preferredForLanguage',
  display: 'Preferred For Language',
};

/** The answer for code2a of the simple code system, in output order. */
const CODE2A: Parameters = {
  resourceType: 'Parameters',
  parameter: [
    { name: 'name', valueString: 'SimpleTestCodeSystem' },
    { name: 'code', valueCode: 'code2a' },
    { name: 'system', valueUri: SIMPLE_URL },
    { name: 'version', valueString: '0.1.0' },
    { name: 'display', valueString: 'Display 2a' },
    { name: 'definition', valueString: 'My first second level code' },
    { name: 'abstract', valueBoolean: false },
    {
      name: 'designation',
      part: [
        { name: 'language', valueCode: 'en' },
        { name: 'use', valueCoding: PREFERRED },
        { name: 'value', valueString: 'Display 2a' },
      ],
    },
    {
      name: 'property',
      part: [
        { name: 'code', valueCode: 'parent' },
        { name: 'description', valueString: 'Display 2' },
        { name: 'value', valueCode: 'code2' },
      ],
    },
    {
      name: 'property',
      part: [
        { name: 'code', valueCode: 'child' },
        { name: 'description', valueString: 'Display 2aI' },
        { name: 'value', valueCode: 'code2aI' },
      ],
    },
    {
      name: 'property',
      part: [
        { name: 'code', valueCode: 'child' },
        { name: 'description', valueString: 'Display 2aII' },
        { name: 'value', valueCode: 'code2aII' },
      ],
    },
    {
      name: 'property',
      part: [
        { name: 'code', valueCode: 'inactive' },
        { name: 'value', valueBoolean: false },
      ],
    },
  ],
};

const lookupUrl = (query: string) => `${server.baseUrl}/CodeSystem/$lookup?${query}`;

describe('CodeSystem/$lookup', () => {
  test('GET type level', async () => {
    const res = await fetchFhir<Parameters>(
      lookupUrl(`system=${encodeURIComponent(SIMPLE_URL)}&code=code2a&property=*`),
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual(CODE2A);
  });

  test('POST type level', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/$lookup`,
      postJson({
        resourceType: 'Parameters',
        parameter: [
          { name: 'system', valueUri: SIMPLE_URL },
          { name: 'code', valueCode: 'code2a' },
          { name: 'property', valueCode: '*' },
          { name: 'uuid', valueString: 'ignored' },
        ],
      }),
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual(CODE2A);
  });

  test('GET instance level', async () => {
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/CodeSystem/simple/$lookup?code=code2a`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(CODE2A);
  });

  test('POST instance level', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/simple/$lookup`,
      postJson({ resourceType: 'Parameters', parameter: [{ name: 'coding', valueCoding: { code: 'code2a' } }] }),
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual(CODE2A);
  });

  test('POST coding with system beside it (HL7 validator shape)', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/$lookup`,
      postJson({
        resourceType: 'Parameters',
        parameter: [
          { name: 'coding', valueCoding: { system: SIMPLE_URL, code: 'code2a' } },
          { name: 'system', valueUri: SIMPLE_URL },
        ],
      }),
    );
    expect(res.body).toEqual(CODE2A);
  });

  test('GET coding as a token', async () => {
    const res = await fetchFhir<Parameters>(lookupUrl(`coding=${encodeURIComponent(`${SIMPLE_URL}|code2a`)}`));
    expect(res.body).toEqual(CODE2A);
  });

  test('tx-resource code system and supplement', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/$lookup`,
      postJson({
        resourceType: 'Parameters',
        parameter: [
          { name: 'system', valueUri: SIMPLE_URL },
          { name: 'version', valueString: '3.0.0' },
          { name: 'code', valueCode: 'code1' },
          { name: 'property', valueCode: 'designation' },
          { name: 'useSupplement', valueCanonical: SUPPLEMENT_URL },
          { name: 'tx-resource', resource: simpleCodeSystem('3.0.0') },
          { name: 'tx-resource', resource: supplementCodeSystem() },
        ],
      }),
    );
    expect(res.status).toBe(200);
    const names = res.body.parameter!.map((p) => p.name);
    expect(names).toEqual([
      'name',
      'code',
      'system',
      'version',
      'display',
      'designation',
      'designation',
      'designation',
      'designation',
      'used-supplement',
    ]);
    expect(res.body.parameter).toContainEqual({
      name: 'designation',
      part: [
        { name: 'language', valueCode: 'nl' },
        { name: 'source', valueCanonical: `${SUPPLEMENT_URL}|0.1.1` },
        { name: 'value', valueString: 'ectenoot' },
      ],
    });
    expect(res.body.parameter).toContainEqual({ name: 'version', valueString: '3.0.0' });
    expect(res.body.parameter).toContainEqual({ name: 'used-supplement', valueCanonical: `${SUPPLEMENT_URL}|0.1.1` });
  });

  test.each([
    { header: 'de', display: 'Mein erster Code' },
    { header: 'fr, en;q=0.5', display: 'Display 1' },
  ])('Accept-Language $header', async ({ header, display }) => {
    const res = await fetchFhir<Parameters>(lookupUrl(`system=${encodeURIComponent(SIMPLE_URL)}&code=code1`), {
      headers: { 'Accept-Language': header },
    });
    expect(res.body.parameter).toContainEqual({ name: 'display', valueString: display });
  });

  test('displayLanguage wins over Accept-Language', async () => {
    const res = await fetchFhir<Parameters>(
      lookupUrl(`system=${encodeURIComponent(SIMPLE_URL)}&code=code1&displayLanguage=de`),
      { headers: { 'Accept-Language': 'en' } },
    );
    expect(res.body.parameter).toContainEqual({ name: 'display', valueString: 'Mein erster Code' });
  });

  test.each([
    {
      name: '404 for unknown code',
      url: () => lookupUrl(`system=${encodeURIComponent(SIMPLE_URL)}&code=nope`),
      status: 404,
      text: `Unknown code 'nope' in the CodeSystem '${SIMPLE_URL}' version '0.1.0'`,
    },
    {
      name: '404 for unknown code at instance level',
      url: () => `${server.baseUrl}/CodeSystem/flat/$lookup?code=nope`,
      status: 404,
      text: `Unknown code 'nope' in the CodeSystem '${FLAT_URL}' version '1.0.0'`,
    },
    {
      name: '404 for unknown system',
      url: () => lookupUrl('system=http://example.org/none&code=a'),
      status: 404,
      text: "A definition for CodeSystem 'http://example.org/none' could not be found",
    },
    {
      name: '404 for unknown version',
      url: () => lookupUrl(`system=${encodeURIComponent(SIMPLE_URL)}&version=9&code=code1`),
      status: 404,
      text: `A definition for CodeSystem '${SIMPLE_URL}' version '9' could not be found. Valid versions: 0.1.0`,
    },
    {
      name: '400 for unknown supplement',
      url: () =>
        lookupUrl(
          `system=${encodeURIComponent(SIMPLE_URL)}&code=code1&useSupplement=${encodeURIComponent(SUPPLEMENT_URL)}`,
        ),
      status: 400,
      text: `Required supplement not found: ${SUPPLEMENT_URL}`,
    },
    {
      name: '400 without code',
      url: () => lookupUrl(`system=${encodeURIComponent(SIMPLE_URL)}`),
      status: 400,
      text: 'Must provide either coding parameter, or system and code parameters',
    },
    {
      name: '400 without system',
      url: () => lookupUrl('code=code1'),
      status: 400,
      text: 'Must provide either coding parameter, or system and code parameters',
    },
    {
      name: '400 for a coding without a system',
      url: () => lookupUrl('coding=code1'),
      status: 400,
      text: 'Coding parameter must include a system',
    },
    {
      name: '400 at instance level without code',
      url: () => `${server.baseUrl}/CodeSystem/simple/$lookup`,
      status: 400,
      text: 'Must provide code parameter or coding parameter with code',
    },
    {
      name: '400 when the system does not fit the instance',
      url: () => `${server.baseUrl}/CodeSystem/simple/$lookup?code=code1&system=${encodeURIComponent(FLAT_URL)}`,
      status: 400,
      text: `The system '${FLAT_URL}' in parameter 'system' does not match the system '${SIMPLE_URL}'`,
    },
    {
      name: '404 for unknown instance',
      url: () => `${server.baseUrl}/CodeSystem/none/$lookup?code=code1`,
      status: 404,
      text: 'CodeSystem/none is not known on this server',
    },
  ])('$name', async ({ url, status, text }) => {
    const res = await fetchFhir<OperationOutcome>(url());
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue?.[0]?.details?.text).toBe(text);
  });
});

test('POST: 400 for a coding without a code', async () => {
  const res = await fetchFhir<OperationOutcome>(
    `${server.baseUrl}/CodeSystem/$lookup`,
    postJson({ resourceType: 'Parameters', parameter: [{ name: 'coding', valueCoding: { system: SIMPLE_URL } }] }),
  );
  expect(res.status).toBe(400);
  expect(res.body.issue?.[0]?.details?.text).toBe('Coding parameter must include a code');
});

describe('CodeSystem/$lookup: issue types and property selection', () => {
  const TX = 'http://hl7.org/fhir/tools/CodeSystem/tx-issue-type';
  const S = encodeURIComponent(SIMPLE_URL);

  test.each([
    { name: 'unknown code', query: `system=${S}&code=nope`, status: 404, code: 'not-found', tx: 'invalid-code' },
    {
      name: 'unknown system',
      query: 'system=http://example.org/none&code=a',
      status: 404,
      code: 'not-found',
      tx: 'not-found',
    },
    { name: 'no system', query: 'code=code1', status: 400, code: 'invalid', tx: 'invalid-data' },
    { name: 'coding without system', query: 'coding=code1', status: 400, code: 'invalid', tx: 'invalid-data' },
    {
      name: 'unknown supplement',
      query: `system=${S}&code=code1&useSupplement=${encodeURIComponent(SUPPLEMENT_URL)}`,
      status: 400,
      code: 'not-found',
      tx: 'not-found',
    },
  ])('$name: $status $code / $tx', async ({ query, status, code, tx }) => {
    const res = await fetchFhir<OperationOutcome>(lookupUrl(query));
    expect(res.status).toBe(status);
    expect(res.body.issue?.[0]?.code).toBe(code);
    expect(res.body.issue?.[0]?.details?.coding).toEqual([{ system: TX, code: tx }]);
  });

  const names = (p: Parameters) =>
    (p.parameter ?? []).map((x) => (x.name === 'property' ? `property:${x.part?.[0]?.valueCode}` : x.name));
  const BASE = ['name', 'code', 'system', 'version', 'display'];

  test.each([
    { property: ['prop'], expected: [...BASE, 'property:prop'] },
    { property: ['PROP'], expected: [...BASE, 'property:prop'] },
    { property: ['abstract'], expected: [...BASE, 'abstract'] },
    { property: ['property'], expected: [...BASE, 'property:prop', 'property:notSelectable', 'property:status'] },
    { property: ['parent', 'child'], expected: [...BASE, 'property:child', 'property:child'] },
    { property: ['status', 'definition'], expected: [...BASE, 'definition', 'property:status'] },
    { property: ['lang.en'], expected: [...BASE, 'designation'] },
  ])('property=$property', async ({ property, expected }) => {
    const query = `system=${S}&code=code2&${property.map((p) => `property=${encodeURIComponent(p)}`).join('&')}`;
    const res = await fetchFhir<Parameters>(lookupUrl(query));
    expect(res.status).toBe(200);
    expect(names(res.body)).toEqual(expected);
  });
});

describe('CodeSystem/$lookup: hierarchy stated by properties (THO subsumedBy)', () => {
  test('a code with two parents: its own subsumedBy properties and both parents', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/$lookup`,
      postJson({
        resourceType: 'Parameters',
        parameter: [
          { name: 'system', valueUri: MULTI_URL },
          { name: 'code', valueCode: 'both' },
          { name: 'property', valueCode: '*' },
          { name: 'tx-resource', resource: multiParentCodeSystem() },
        ],
      }),
    );
    expect(res.status).toBe(200);
    const props = (res.body.parameter ?? [])
      .filter((p) => p.name === 'property')
      .map(
        (p) =>
          `${p.part?.[0]?.valueCode}=${p.part?.find((x) => x.name === 'value')?.valueCode ?? p.part?.find((x) => x.name === 'value')?.valueBoolean}`,
      );
    expect(props).toEqual(['subsumedBy=left', 'subsumedBy=right', 'parent=left', 'parent=right', 'inactive=false']);
  });

  test('a parent lists its children', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/$lookup`,
      postJson({
        resourceType: 'Parameters',
        parameter: [
          { name: 'system', valueUri: MULTI_URL },
          { name: 'code', valueCode: 'left' },
          { name: 'property', valueCode: 'child' },
          { name: 'tx-resource', resource: multiParentCodeSystem() },
        ],
      }),
    );
    const children = (res.body.parameter ?? [])
      .filter((p) => p.name === 'property')
      .map((p) => p.part?.find((x) => x.name === 'value')?.valueCode);
    expect(children).toEqual(['both', 'leftOnly']);
  });
});
