import { readFileSync } from 'node:fs';
import type { CapabilityStatement, Parameters, TerminologyCapabilities } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { operations } from '../../src/operations/registry.ts';
import type { OperationDef } from '../../src/operations/types.ts';
import { answersByGrammar } from '../../src/terminology/codesystem-index.ts';
import { fetchFhir, postJson, startTestServer, type TestServer, testStore } from '../support/fhir.ts';
import { matchPattern } from '../support/pattern.ts';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8'));

const FEATURE = 'http://hl7.org/fhir/uv/application-feature/StructureDefinition/feature';

function featureValue(cs: CapabilityStatement, definition: string) {
  const ext = cs.extension?.find(
    (e) => e.url === FEATURE && e.extension?.some((x) => x.url === 'definition' && x.valueCanonical === definition),
  );
  return ext?.extension?.find((x) => x.url === 'value');
}

/** A stand-in $expand with an extra parameter, to show term-caps follows the registry. */
const fakeExpand: OperationDef = {
  code: 'expand',
  definition: 'http://hl7.org/fhir/OperationDefinition/ValueSet-expand',
  resourceTypes: ['ValueSet'],
  type: true,
  instance: true,
  get: true,
  parameters: [
    { name: 'url', type: 'uri' },
    { name: 'excludeNotForUI', type: 'boolean' },
  ],
  handler: () => ({ resource: { resourceType: 'ValueSet', status: 'active' } }),
};

let server: TestServer;
let custom: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  custom = await startTestServer({ operations: [...operations.filter((o) => o.code !== 'expand'), fakeExpand] });
});
afterAll(async () => {
  await server.close();
  await custom.close();
});

describe('GET /metadata', () => {
  test('returns a valid CapabilityStatement matching the tx-ecosystem pattern', async () => {
    const res = await fetchFhir<CapabilityStatement>(`${server.baseUrl}/metadata`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    // the runner only checks operations that are registered; compare the parts that do not depend on them
    const pattern = fixture('capstmt.json') as CapabilityStatement;
    const registered = new Set(operations.flatMap((o) => o.resourceTypes.map((t) => `${t}|${o.code}`)));
    for (const r of pattern.rest?.[0]?.resource ?? []) {
      r.operation = r.operation?.filter((o) => registered.has(`${r.type}|${o.name}`));
      if (r.operation?.length === 0) delete r.operation;
    }
    expect(matchPattern(pattern, res.body)).toEqual([]);
  });

  test('declares the tx test version and CodeSystemAsParameter features', async () => {
    const { body } = await fetchFhir<CapabilityStatement>(`${server.baseUrl}/metadata`);
    expect(featureValue(body, 'http://hl7.org/fhir/uv/tx-tests/FeatureDefinition/test-version')?.valueCode).toBe(
      '1.9.3',
    );
    expect(
      featureValue(body, 'http://hl7.org/fhir/uv/tx-ecosystem/FeatureDefinition/CodeSystemAsParameter')?.valueBoolean,
    ).toBe(true);
    expect(body.instantiates).toEqual(['http://hl7.org/fhir/CapabilityStatement/terminology-server']);
    // every format it answers in: FHIR JSON, and FHIR XML when asked for
    expect(body.format).toEqual(['application/fhir+json', 'json', 'application/fhir+xml', 'xml']);
    const xml = await fetch(`${server.baseUrl}/metadata`, { headers: { accept: 'application/fhir+xml' } });
    expect(xml.headers.get('content-type')).toBe('application/fhir+xml; charset=utf-8');
    expect(await xml.text()).toContain('<CapabilityStatement xmlns="http://hl7.org/fhir">');
    // the IG's metadata requirements: fhirVersion and rest[mode=server].security.service populated
    expect(body.fhirVersion).toBe('4.0.1');
    const rest = body.rest?.find((r) => r.mode === 'server');
    expect(rest?.security?.service?.[0]?.text).toBe('None: open data, no authentication');
    expect(body.url).toBe(`${server.baseUrl}/metadata`);
    expect(body.implementation?.url).toBe(server.baseUrl);
    expect(body.software?.version).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
  });

  test('lists read, search and every registered operation per resource type', async () => {
    const { body } = await fetchFhir<CapabilityStatement>(`${server.baseUrl}/metadata`);
    const rest = body.rest?.[0];
    expect(rest?.resource?.map((r) => r.type)).toEqual(['CodeSystem', 'ValueSet', 'ConceptMap']);
    for (const r of rest?.resource ?? []) {
      expect(r.interaction?.map((i) => i.code)).toEqual(['read', 'search-type']);
      expect(r.searchParam?.map((p) => p.name)).toEqual(['_id', 'url', 'version', 'name', 'title', 'status']);
      const expected = operations
        .filter((o) => (o.type || o.instance) && o.resourceTypes.includes(r.type as never))
        .map((o) => ({ name: o.code, definition: o.definition }))
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      expect(r.operation ?? []).toEqual(expected);
    }
    expect(rest?.operation).toContainEqual({
      name: 'versions',
      definition: 'http://hl7.org/fhir/OperationDefinition/CapabilityStatement-versions',
    });
  });

  test('follows the registry: an added operation appears', async () => {
    const { body } = await fetchFhir<CapabilityStatement>(`${custom.baseUrl}/metadata`);
    const vs = body.rest?.[0]?.resource?.find((r) => r.type === 'ValueSet');
    expect(vs?.operation).toContainEqual({ name: 'expand', definition: fakeExpand.definition });
  });

  test.each(['full', 'normative'])('mode=%s returns the CapabilityStatement', async (mode) => {
    const res = await fetchFhir(`${server.baseUrl}/metadata?mode=${mode}`);
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('CapabilityStatement');
  });

  test('400 for an unknown mode', async () => {
    const res = await fetchFhir(`${server.baseUrl}/metadata?mode=everything`);
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  test('405 for POST', async () => {
    const res = await fetchFhir(`${server.baseUrl}/metadata`, postJson({ resourceType: 'Parameters' }));
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('GET /metadata?mode=terminology', () => {
  test('returns a valid TerminologyCapabilities matching the tx-ecosystem pattern', async () => {
    const res = await fetchFhir<TerminologyCapabilities>(`${server.baseUrl}/metadata?mode=terminology`);
    expect(res.status).toBe(200);
    expect(matchPattern(fixture('capterms.json'), res.body)).toEqual([]);
    expect(res.body.validateCode).toEqual({ translations: false });
    expect(res.body.closure).toEqual({ translation: false });
  });

  test('lists every code system with every version, the newest as default', async () => {
    const { body } = await fetchFhir<TerminologyCapabilities>(`${server.baseUrl}/metadata?mode=terminology`);
    const byUri = new Map(body.codeSystem?.map((c) => [c.uri, c]));
    expect(byUri.get('http://helsenorge.no/fhir/CodeSystem/no-kodeverk-9060.codesystem')?.version).toEqual([
      { code: '1.3.1', isDefault: true },
    ]);
    expect(byUri.get('http://hl7.no/fhir/CodeSystem/no-basis-marital-status')?.version?.[0]).toEqual({
      code: '2.0.8',
      isDefault: true,
    });
    const store = testStore();
    const complete = new Set(
      store
        .all('CodeSystem')
        .filter(
          (c) => c.content === 'complete' || c.content === 'fragment' || c.content === undefined || answersByGrammar(c),
        )
        .map((c) => c.url),
    );
    expect(new Set(body.codeSystem?.map((c) => c.uri))).toEqual(complete);
    // language tags list no codes (content not-present) but are answered by their grammar
    expect(byUri.get('urn:ietf:bcp:47')?.version?.[0]?.isDefault).toBe(true);
  });

  test('leaves out code systems whose content is not present', async () => {
    const { body } = await fetchFhir<TerminologyCapabilities>(`${server.baseUrl}/metadata?mode=terminology`);
    expect(body.codeSystem?.some((c) => c.uri === 'http://snomed.info/sct')).toBe(false);
  });

  test('expansion parameters follow the registered $expand', async () => {
    const { body } = await fetchFhir<TerminologyCapabilities>(`${custom.baseUrl}/metadata?mode=terminology`);
    const names = body.expansion?.parameter?.map((p) => p.name) ?? [];
    expect(names).toContain('excludeNotForUI');
    expect(names).not.toContain('url');
    expect(names).toEqual([...names].sort());
  });
});

describe('$versions', () => {
  const expected: Parameters = {
    resourceType: 'Parameters',
    parameter: [
      { name: 'version', valueCode: '4.0' },
      { name: 'default', valueCode: '4.0' },
    ],
  };

  test.each([
    ['GET', undefined],
    ['POST', postJson({ resourceType: 'Parameters' })],
    ['POST without a body', { method: 'POST' }],
  ])('%s returns version and default 4.0', async (_name, init) => {
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/$versions`, init);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(expected);
  });

  test('405 for DELETE, with Allow', async () => {
    const res = await fetchFhir(`${server.baseUrl}/$versions`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, POST');
  });
});
