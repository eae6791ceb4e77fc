import type { Bundle, CapabilityStatement, OperationOutcome, Organization } from '@medplum/fhirtypes';
import { MockAgent } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createDirectory } from '../../src/directory/directory.ts';
import { parseDirectoryConfig } from '../../src/directory/directory-config.ts';
import { directoryCapabilityResource, fnspDirectoryEndpoints } from '../../src/directory/directory-routes.ts';
import { fetchFhir, startTestServer, type TestServer } from '../support/fhir.ts';

// The directory mounted in the real app (createApp's endpoint list), with the synthetic FNSP data:
// routes under /fhir, the CapabilityStatement entries, the app's error handling. No network.

const agent = new MockAgent();
agent.disableNetConnect();
let server: TestServer;

beforeAll(async () => {
  const directory = createDirectory(parseDirectoryConfig({ FNSP_DEMO: 'true', BANDAGISTS_ENABLED: 'false' }), {
    dispatcher: agent,
  });
  server = await startTestServer({
    directory: (config) => fnspDirectoryEndpoints({ directory, baseUrl: config.publicBaseUrl }),
  });
});
afterAll(async () => {
  await server.close();
  await agent.close();
});

const get = <T extends Bundle | Organization | OperationOutcome | CapabilityStatement>(path: string) =>
  fetchFhir<T>(`${server.baseUrl}${path}`);

describe('in the app', () => {
  test('search, read and vread under /fhir', async () => {
    const b = await get<Bundle>(
      '/HealthcareService?service-type=http://snomed.info/sct|73761001&_include=HealthcareService:organization',
    );
    expect(b.status).toBe(200);
    expect(b.body.total).toBe(2);
    expect(b.body.link?.[0].url).toMatch(new RegExp(`^${server.baseUrl}/HealthcareService\\?`));
    const org = await get<Organization>('/Organization/fnsp-999000029');
    expect(org.status).toBe(200);
    expect((await get(`/Organization/fnsp-999000029/_history/${org.body.meta?.versionId}`)).status).toBe(200);
    expect(org.headers.get('x-request-id')).toBeTruthy();
  });

  test('the CapabilityStatement lists the three types as the registry describes them', async () => {
    const cs = await get<CapabilityStatement>('/metadata');
    const resources = cs.body.rest?.[0].resource ?? [];
    for (const type of ['HealthcareService', 'Organization', 'Location'] as const) {
      expect(resources.find((r) => r.type === type)).toEqual(directoryCapabilityResource(type));
    }
  });

  test('errors are the app’s OperationOutcomes', async () => {
    const bad = await get<OperationOutcome>('/Location?foo=1');
    expect(bad.status).toBe(400);
    const post = await fetch(`${server.baseUrl}/Organization`, { method: 'POST' });
    expect(post.status).toBe(405);
    const unknown = await get<OperationOutcome>('/Endpoint');
    expect(unknown.status).toBe(404);
    expect(unknown.body.issue[0].details?.text).toContain('HealthcareService');
  });
});

/** The org.nr check digit (Brønnøysundregistrene: mod 11, weights 3 2 7 6 5 4 3 2; a remainder of 1 has no valid digit). */
function orgnrValid(value: string): boolean {
  if (!/^\d{9}$/.test(value)) return false;
  const weights = [3, 2, 7, 6, 5, 4, 3, 2];
  const sum = weights.reduce((acc, w, i) => acc + w * Number(value[i]), 0);
  const check = (11 - (sum % 11)) % 11;
  return check !== 10 && check === Number(value[8]);
}

describe('the demo data keep the no-basis rules we can check', () => {
  test('the check digit: right for real numbers, wrong for a changed one', () => {
    expect(orgnrValid('974760673')).toBe(true); // Brønnøysundregistrene's own org.nr
    expect(orgnrValid('974760672')).toBe(false);
  });

  test('every Organization org.nr has a valid check digit; every Location lies in a real-format municipality', async () => {
    const orgs = await get<Bundle>('/Organization?_count=100');
    const orgnr = (orgs.body.entry ?? []).flatMap((e) =>
      ((e.resource as Organization).identifier ?? [])
        .filter((i) => i.system === 'urn:oid:2.16.578.1.12.4.1.4.101')
        .map((i) => i.value ?? ''),
    );
    expect(orgnr.length).toBeGreaterThan(0);
    for (const n of orgnr) expect(orgnrValid(n), n).toBe(true);

    const locations = await fetchFhir<Bundle>(`${server.baseUrl}/Location?_count=100`);
    const municipalities = (locations.body.entry ?? []).flatMap((e) =>
      (
        (
          e.resource as {
            address?: { _district?: { extension?: { valueCoding?: { system?: string; code?: string } }[] } };
          }
        ).address?._district?.extension ?? []
      )
        .map((x) => x.valueCoding)
        .filter((c) => c?.system === 'urn:oid:2.16.578.1.12.4.1.1.3402'),
    );
    expect(municipalities.length).toBeGreaterThan(0);
    // Kartverket's kommunenummer: two digits of county (fylke), two of municipality; 99xx is not one
    for (const c of municipalities) expect(c?.code ?? '').toMatch(/^(0[1-9]|[1-5]\d)\d{2}$/);
  });
});
