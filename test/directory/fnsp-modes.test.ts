import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { MockAgent } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createDirectory } from '../../src/directory/directory.ts';
import { parseDirectoryConfig } from '../../src/directory/directory-config.ts';
import type { DirectoryService } from '../../src/directory/directory-service.ts';
import { loadSyntheticFnspDataset } from '../../src/directory/fnsp-synthetic.ts';
import { expectValidFhir } from '../support/fhir.ts';
import {
  allPages,
  type DirectoryTestApp,
  expectNoBasisHealthcareService,
  expectNoBasisLocation,
  expectNoBasisOrganization,
  matches,
  startDirectoryApp,
} from './fnsp-test-app.ts';

// FNSP without configuration (503 naming the missing settings) and in demo mode (synthetic data,
// tagged synthetic, no network). The dispatcher refuses every connection, to prove no upstream call.

const agent = new MockAgent();
agent.disableNetConnect();
afterAll(async () => {
  await agent.close();
});

describe('without configuration', () => {
  let directory: DirectoryService;
  let app: DirectoryTestApp;
  beforeAll(async () => {
    directory = createDirectory(parseDirectoryConfig({ BANDAGISTS_ENABLED: 'false' }), { dispatcher: agent });
    app = await startDirectoryApp(directory);
  });
  afterAll(async () => {
    await app.close();
  });

  const TEXT =
    'FNSP is not configured on this server: set FNSP_BASE_URL, FNSP_API_KEY, FNSP_API_KEY_HEADER (or FNSP_DEMO=true for synthetic data)';

  test.each([
    '/HealthcareService',
    '/HealthcareService?service-type=73761001&_include=HealthcareService:organization',
    '/HealthcareService/fnsp-koloskopi-999100001',
    '/Location?address-city=oslo',
    '/Location/fnsp-loc-1',
    '/Organization?identifier=urn:oid:2.16.578.1.12.4.1.4.101|999100001',
    '/Organization/fnsp-999100001',
  ])('503 naming the missing settings: %s', async (path) => {
    const res = await app.get<OperationOutcome>(path);
    expect(res.status).toBe(503);
    expect(res.body.issue).toEqual([
      {
        severity: 'error',
        code: 'not-supported',
        details: {
          coding: [{ system: 'http://hl7.org/fhir/tools/CodeSystem/tx-issue-type', code: 'not-supported' }],
          text: TEXT,
        },
      },
    ]);
  });

  test('a bad parameter is still a 400', async () => {
    expect((await app.get('/HealthcareService?nope=1')).status).toBe(400);
  });

  test('only the missing setting is named', async () => {
    const d = createDirectory(
      parseDirectoryConfig({ FNSP_BASE_URL: 'https://fnsp.example', FNSP_API_KEY: 'x', BANDAGISTS_ENABLED: 'false' }),
      {
        dispatcher: agent,
      },
    );
    await expect(d.search('Location', {}, { baseUrl: 'http://x' })).rejects.toThrow(
      'FNSP is not configured on this server: set FNSP_API_KEY_HEADER (or FNSP_DEMO=true for synthetic data)',
    );
    expect(d.status()).toEqual({ fnsp: { state: 'unconfigured', missing: ['FNSP_API_KEY_HEADER'] } });
  });
});

describe('demo mode', () => {
  let directory: DirectoryService;
  let app: DirectoryTestApp;
  beforeAll(async () => {
    directory = createDirectory(parseDirectoryConfig({ FNSP_DEMO: 'true', BANDAGISTS_ENABLED: 'false' }), {
      dispatcher: agent,
    });
    app = await startDirectoryApp(directory);
  });
  afterAll(async () => {
    await app.close();
  });

  const isSynthetic = (r: Resource) => {
    expect(r.meta?.source).toBe('https://no-fhir-facade.example/fhir/synthetic/fnsp');
    expect(r.meta?.tag).toEqual([
      { system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HTEST', display: 'test health data' },
      {
        system: 'https://no-fhir-facade.example/fhir/CodeSystem/datakilde',
        code: 'synthetic',
        display: 'Syntetiske testdata: oppdiktet, ikke hentet fra FNSP eller noen annen kilde',
      },
    ]);
  };

  test.each([
    ['HealthcareService', 4, expectNoBasisHealthcareService],
    ['Organization', 3, expectNoBasisOrganization],
    ['Location', 3, expectNoBasisLocation],
  ] as const)('every %s is synthetic, tagged so, valid R4 and no-basis', async (type, count, check) => {
    const all = await allPages(app, `/${type}`);
    expect(all).toHaveLength(count);
    for (const r of all) {
      expectValidFhir(r);
      (check as (x: typeof r) => void)(r);
      isSynthetic(r);
    }
  });

  test('the searches work on it', async () => {
    const b = (
      await app.get<Bundle>(
        '/HealthcareService?service-type=http://snomed.info/sct|73761001&_include=HealthcareService:organization',
      )
    ).body;
    expect(
      matches(b)
        .map((r) => r.id)
        .sort(),
    ).toEqual(['fnsp-koloskopi-999000029', 'fnsp-koloskopi-999000037']);
    expect((b.entry ?? []).filter((e) => e.search?.mode === 'include')).toHaveLength(2);
    for (const e of b.entry ?? []) isSynthetic(e.resource as Resource);
  });

  test('the synthetic module parses without a warning', () => {
    expect(loadSyntheticFnspDataset().warnings).toEqual([]);
    expect(directory.status().fnsp).toMatchObject({ state: 'ready', mode: 'demo', synthetic: true, warnings: 0 });
  });
});
