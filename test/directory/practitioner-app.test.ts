import type { Bundle, CapabilityStatement, OperationOutcome, Parameters, Practitioner } from '@medplum/fhirtypes';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseHprConfig } from '../../src/directory/hpr-config.ts';
import { practitionerEndpoint } from '../../src/directory/practitioner-endpoint.ts';
import { SYNTHETIC_PERSONS } from '../fakes/hpr-persons.ts';
import { type FakeHprServer, fakeHprEnv, startFakeHpr, testClientKey } from '../fakes/hpr-server.ts';
import { fetchFhir, startTestServer, type TestServer } from '../support/fhir.ts';

// Practitioner as the service mounts it (main.ts: practitionerEndpoint in createApp), through the
// real app, against the fake Maskinporten + HPR.
const HPR = 'urn:oid:2.16.578.1.12.4.1.4.4';

describe('Practitioner in the app', () => {
  let fake: FakeHprServer;
  let server: TestServer;
  let unconfigured: TestServer;
  const agent = new Agent();

  beforeAll(async () => {
    const key = testClientKey();
    fake = await startFakeHpr({ clients: [key.client], persons: SYNTHETIC_PERSONS, tokenLifetimeS: 120 });
    const hpr = parseHprConfig(fakeHprEnv(fake, key));
    server = await startTestServer({
      config: { hpr },
      directory: (config) => [practitionerEndpoint(config, { dispatcher: agent }).endpoint],
    });
    unconfigured = await startTestServer({
      config: { hpr: parseHprConfig({}) },
      directory: (config) => [practitionerEndpoint(config, { dispatcher: agent }).endpoint],
    });
  });
  afterAll(async () => {
    await server.close();
    await unconfigured.close();
    await fake.close();
    await agent.close();
  });

  test('read by HPR number', async () => {
    const res = await fetchFhir<Practitioner>(`${server.baseUrl}/Practitioner/900000001`);
    expect(res.status).toBe(200);
    expect(res.body.identifier).toContainEqual(expect.objectContaining({ system: HPR, value: '900000001' }));
  });

  test('search by identifier gives a searchset', async () => {
    const res = await fetchFhir<Bundle>(
      `${server.baseUrl}/Practitioner?identifier=${encodeURIComponent(`${HPR}|900000001`)}`,
    );
    expect(res.body.type).toBe('searchset');
    expect(res.body.entry?.[0]?.resource?.id).toBe('900000001');
  });

  test('an unsupported search parameter is a 400', async () => {
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}/Practitioner?gender=male`);
    expect(res.status).toBe(400);
  });

  test('the 9060 code a Practitioner carries validates with the terminology engine', async () => {
    const p = (await fetchFhir<Practitioner>(`${server.baseUrl}/Practitioner/900000001`)).body;
    const coding = p.qualification
      ?.flatMap((q) => q.code.coding ?? [])
      .find((c) => c.system === 'urn:oid:2.16.578.1.12.4.1.1.9060');
    expect(coding?.code).toBe('LE');
    const q = new URLSearchParams({ url: coding?.system ?? '', code: coding?.code ?? '' });
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/CodeSystem/$validate-code?${q}`);
    expect(res.body.parameter?.find((x) => x.name === 'result')?.valueBoolean).toBe(true);
  });

  test('the CapabilityStatement lists Practitioner as configured', async () => {
    const res = await fetchFhir<CapabilityStatement>(`${server.baseUrl}/metadata`);
    const entry = res.body.rest?.[0]?.resource?.find((r) => r.type === 'Practitioner');
    expect(entry?.documentation).toMatch(/Configured/);
  });

  test('without credentials: 503 naming the missing settings, and the CapabilityStatement says so', async () => {
    const res = await fetchFhir<OperationOutcome>(`${unconfigured.baseUrl}/Practitioner/900000001`);
    expect(res.status).toBe(503);
    expect(res.body.issue?.[0]?.details?.text).toMatch(/MASKINPORTEN_CLIENT_ID/);
    const cap = await fetchFhir<CapabilityStatement>(`${unconfigured.baseUrl}/metadata`);
    const entry = cap.body.rest?.[0]?.resource?.find((r) => r.type === 'Practitioner');
    expect(entry?.documentation).toMatch(/Not configured/);
  });
});
