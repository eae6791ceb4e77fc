import type { Bundle, OperationOutcome, Organization } from '@medplum/fhirtypes';
import { Agent } from 'undici';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { createDirectory } from '../../src/directory/directory.ts';
import { parseDirectoryConfig } from '../../src/directory/directory-config.ts';
import type { DirectoryService } from '../../src/directory/directory-service.ts';
import { type FakeHelserefusjon, fixtureData, startFakeHelserefusjon } from '../fakes/helserefusjon-server.ts';
import { expectValidFhir } from '../support/fhir.ts';
import {
  allPages,
  type DirectoryTestApp,
  ENH,
  expectNoBasisOrganization,
  expectSourceAndLicence,
  ids,
  matches,
  outcomes,
  startDirectoryApp,
} from './fnsp-test-app.ts';

// Helfo's bandagists (Helserefusjon /v1/bandasjister) as Organizations, through the fake
// Helserefusjon server: identifier search by org.nr, inactive when deleted or expired, refresh and
// outage, and together with FNSP in one Organization endpoint.

const T0 = Date.parse('2026-03-10T08:00:00Z');
const HOUR = 3600_000;
const SAR = 'https://no-fhir-facade.example/fhir/NamingSystem/helfo-sar-id';
const BANDAGIST_TYPE = 'https://no-fhir-facade.example/fhir/CodeSystem/directory-organization-type|bandasjist';
const dispatcher = new Agent();

/** The fixture rows plus two: one whose agreement ends on 2026-03-15, one with a hovedenhet and an underenhet. */
function rows(): Record<string, unknown>[] {
  return [
    ...fixtureData().bandasjister,
    {
      sar_id: '200001',
      sar_navn: 'Kortvarig Bandasjist AS',
      sar_orgnr: '977000001',
      hovedenhet_orgnr: '977000001',
      gyldig_fra: '2025-01-01',
      gyldig_til: '2026-03-15',
    },
    {
      sar_id: '200002',
      sar_navn: 'Filial Bandasje, avd. Nord',
      sar_orgnr: '977000019',
      hovedenhet_orgnr: '977000000',
      underenhet_orgnr: '977000019',
      gyldig_fra: '2024-05-01',
    },
  ];
}

interface Setup {
  fake: FakeHelserefusjon;
  directory: DirectoryService;
  app: DirectoryTestApp;
  advance(ms: number): void;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
afterAll(async () => {
  await dispatcher.close();
});

async function setup(env: Record<string, string> = {}): Promise<Setup> {
  const fake = await startFakeHelserefusjon({ data: { bandasjister: rows() } });
  let t = T0;
  const directory = createDirectory(parseDirectoryConfig({ HELSEREFUSJON_BASE_URL: fake.url, ...env }), {
    dispatcher,
    now: () => t,
    http: { retries: 0 },
  });
  const app = await startDirectoryApp(directory);
  cleanups.push(async () => {
    directory.stop();
    await directory.settled();
    await app.close();
    await fake.close();
  });
  return {
    fake,
    directory,
    app,
    advance: (ms) => {
      t += ms;
    },
  };
}

const FNSP_MISSING =
  'The results leave out FNSP data: FNSP is not configured on this server: set FNSP_BASE_URL, FNSP_API_KEY, FNSP_API_KEY_HEADER (or FNSP_DEMO=true for synthetic data)';

describe('bandagists without FNSP', () => {
  test('found by identifier=ENH|org.nr, with a warning that FNSP is missing', async () => {
    const { app, fake } = await setup();
    const res = await app.get<Bundle>(`/Organization?identifier=${ENH}|999999999`);
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(1);
    const [org] = matches<Organization>(res.body);
    expect(org.id).toBe('bandagist-123456');
    expect(org.name).toBe('Eksempel Bandasjist AS');
    expect(org.active).toBe(true);
    expectNoBasisOrganization(org);
    expectSourceAndLicence(org, 'https://opne-data-api.helserefusjon.no/v1/bandasjister', 'helserefusjon');
    // the public address, never the configured upstream
    expect(JSON.stringify(org)).not.toContain(fake.url);
    expect(outcomes(res.body)).toEqual([
      {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'warning', code: 'incomplete', details: { text: FNSP_MISSING } }],
      },
    ]);
  });

  test('a deleted bandagist is found and inactive', async () => {
    const { app } = await setup();
    const [org] = matches<Organization>((await app.get<Bundle>(`/Organization?identifier=${ENH}|888888888`)).body);
    expect(org).toMatchObject({ id: 'bandagist-123457', name: 'Eksempel Ortopedi AS', active: false });
    const inactive = await app.get<Bundle>('/Organization?active=false');
    expect(ids(matches(inactive.body))).toEqual(['bandagist-123457']);
  });

  test.each([
    ['SAR id', `/Organization?identifier=${SAR}|200002`, ['bandagist-200002']],
    ['hovedenhet', `/Organization?identifier=${ENH}|977000000`, ['bandagist-200002']],
    ['underenhet', `/Organization?identifier=${ENH}|977000019`, ['bandagist-200002']],
    ['name', '/Organization?name=eksempel', ['bandagist-123456', 'bandagist-123457']],
    [
      'type',
      `/Organization?type=${BANDAGIST_TYPE}`,
      ['bandagist-123456', 'bandagist-123457', 'bandagist-200001', 'bandagist-200002'],
    ],
    ['active', '/Organization?active=true', ['bandagist-123456', 'bandagist-200001', 'bandagist-200002']],
  ])('search by %s', async (_name, path, expected) => {
    const { app } = await setup();
    const res = await app.get<Bundle>(path);
    expect(ids(matches(res.body))).toEqual(expected);
  });

  test('every bandagist Organization is valid R4 and no-basis', async () => {
    const { app: a, fake } = await setup();
    const all = await allPages<Organization>(a, '/Organization?_count=2');
    expect(all).toHaveLength(4);
    for (const o of all) {
      expectValidFhir(o);
      expectNoBasisOrganization(o);
      expectSourceAndLicence(o, 'https://opne-data-api.helserefusjon.no/v1/bandasjister', 'helserefusjon');
      expect(JSON.stringify(o)).not.toContain(fake.url);
    }
    expect(fake.calls('/v1/bandasjister')).toBe(1);
  });

  test('read; 404; FNSP-backed reads and types are 503', async () => {
    const { app: a } = await setup();
    expect((await a.get<Organization>('/Organization/bandagist-200002')).body.identifier).toHaveLength(3);
    expect((await a.get('/Organization/bandagist-999')).status).toBe(404);
    expect((await a.get('/Organization/fnsp-999100001')).status).toBe(503);
    expect((await a.get('/HealthcareService')).status).toBe(503);
  });
});

describe('refresh and outage', () => {
  test('an agreement that ends becomes inactive at the next daily refresh', async () => {
    const { app: a, directory, fake, advance } = await setup();
    const before = (await a.get<Organization>('/Organization/bandagist-200001')).body;
    expect(before.active).toBe(true);
    advance(6 * 24 * HOUR); // 2026-03-16: past gyldig_til and past the 24h window
    await a.get('/Organization?_count=0'); // starts the refresh; answered from memory
    await directory.settled();
    expect(fake.calls('/v1/bandasjister')).toBe(2);
    expect((await a.get<Organization>('/Organization/bandagist-200001')).body.active).toBe(false);
  });

  test('Helserefusjon down at start and FNSP unconfigured: 503 naming both', async () => {
    const { app: a, fake } = await setup();
    fake.fail({ status: 503 }, { path: '/v1/bandasjister' });
    const res = await a.get<OperationOutcome>(`/Organization?identifier=${ENH}|999999999`);
    expect(res.status).toBe(503);
    expect(res.body.issue.map((i) => i.details?.text)).toEqual([
      'FNSP is not configured on this server: set FNSP_BASE_URL, FNSP_API_KEY, FNSP_API_KEY_HEADER (or FNSP_DEMO=true for synthetic data)',
      'Helfo bandagists (Helserefusjon) data is not available: Upstream helserefusjon is unavailable (HTTP 503)',
    ]);
  });

  test('a failed refresh serves the old list, with a warning', async () => {
    const { app: a, directory, fake, advance } = await setup();
    expect((await a.get<Bundle>('/Organization')).body.total).toBe(4);
    fake.fail({ status: 500 }, { path: '/v1/bandasjister' });
    advance(24 * HOUR);
    await a.get('/Organization?_count=0');
    await directory.settled();
    const res = await a.get<Bundle>(`/Organization?identifier=${ENH}|999999999`);
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(1);
    expect(outcomes(res.body)[0].issue.map((i) => i.details?.text)).toEqual([
      FNSP_MISSING,
      'Helfo bandagists (Helserefusjon) data from 2026-03-10T08:00:00.000Z is served; the last refresh failed: Upstream helserefusjon is unavailable (HTTP 500)',
    ]);
  });
});

describe('with FNSP (demo) in the same Organization endpoint', () => {
  test('trusts and bandagists side by side; each found by its own identifiers and types', async () => {
    const { app: a } = await setup({ FNSP_DEMO: 'true' });
    const all = await a.get<Bundle>('/Organization');
    expect(all.body.total).toBe(7);
    expect(outcomes(all.body)).toEqual([]);
    const names = matches<Organization>(all.body).map((o) => o.name ?? '');
    expect(names).toEqual([...names].sort((x, y) => x.localeCompare(y, 'nb', { sensitivity: 'base' })));
    expect(ids(matches((await a.get<Bundle>('/Organization?type=urn:oid:2.16.578.1.12.4.1.1.8628|2')).body))).toEqual([
      'fnsp-999000029',
      'fnsp-999000037',
    ]);
    expect(
      ids(matches((await a.get<Bundle>(`/Organization?identifier=${ENH}|999000029,${ENH}|999999999`)).body)),
    ).toEqual(['bandagist-123456', 'fnsp-999000029']);
    const inc = await a.get<Bundle>('/Organization?name=syntetisk sykehus&_include=Organization:partof');
    expect((inc.body.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => e.resource?.id)).toEqual([
      'fnsp-999000010',
    ]);
  });
});
