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
    const org = await get<Organization>('/Organization/fnsp-999000028');
    expect(org.status).toBe(200);
    expect((await get(`/Organization/fnsp-999000028/_history/${org.body.meta?.versionId}`)).status).toBe(200);
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
