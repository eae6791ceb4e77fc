import type {
  Bundle,
  CapabilityStatement,
  HealthcareService,
  Location,
  OperationOutcome,
  Organization,
} from '@medplum/fhirtypes';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createDirectory } from '../../src/directory/directory.ts';
import { parseDirectoryConfig } from '../../src/directory/directory-config.ts';
import { directoryCapabilityResources } from '../../src/directory/directory-routes.ts';
import { MAX_COUNT, SEARCH_PARAMS } from '../../src/directory/directory-search.ts';
import type { DirectoryService } from '../../src/directory/directory-service.ts';
import { FAKE_FNSP_KEY, FAKE_FNSP_KEY_HEADER, type FakeFnspServer, startFakeFnsp } from '../fakes/fnsp-server.ts';
import { expectValidFhir, fetchFhirXml } from '../support/fhir.ts';
import {
  allPages,
  type DirectoryTestApp,
  ENH,
  expectNoBasisHealthcareService,
  expectNoBasisLocation,
  expectNoBasisOrganization,
  expectSourceAndLicence,
  ids,
  included,
  links,
  matches,
  outcomes,
  RESH,
  startDirectoryApp,
} from './fnsp-test-app.ts';

// HealthcareService, Organization and Location from FNSP over HTTP: every search parameter,
// _include, paging, reads and errors, with live FNSP data from the fake server (fixtures in
// test/fixtures/fnsp). The clock stands still, so the dataset is downloaded exactly once.

const NOW = Date.parse('2026-03-02T09:00:00Z');
const SNOMED = 'http://snomed.info/sct';
const L8628 = 'urn:oid:2.16.578.1.12.4.1.1.8628';

let fake: FakeFnspServer;
let directory: DirectoryService;
let app: DirectoryTestApp;
const dispatcher = new Agent();
let nordRhf: string;
let bodoPlace: string;

beforeAll(async () => {
  fake = await startFakeFnsp();
  const config = parseDirectoryConfig({
    FNSP_BASE_URL: fake.baseUrl,
    FNSP_API_KEY: FAKE_FNSP_KEY,
    FNSP_API_KEY_HEADER: FAKE_FNSP_KEY_HEADER,
    BANDAGISTS_ENABLED: 'false',
  });
  directory = createDirectory(config, { dispatcher, now: () => NOW, http: { retries: 0 } });
  app = await startDirectoryApp(directory);
  const rhfs = matches<Organization>((await app.get<Bundle>(`/Organization?type=${L8628}|1`)).body);
  nordRhf = rhfs.find((o) => o.name === 'Eksempel Helse Nord RHF')?.id as string;
  const places = matches<Location>((await app.get<Bundle>('/Location?organization=fnsp-999200001')).body);
  bodoPlace = places[0].id as string;
});

afterAll(async () => {
  directory.stop();
  await app.close();
  await fake.close();
  await dispatcher.close();
});

const search = async (path: string) => {
  const res = await app.get<Bundle>(path);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
};

describe('the dataset', () => {
  test('becomes 6 HealthcareServices, 5 Organizations (3 trusts, 2 RHFs) and 5 Locations', async () => {
    const all = await search('/HealthcareService?_count=0');
    expect(all.total).toBe(6);
    expect(outcomes(all)).toEqual([]); // fresh data from a healthy source: no warning
    expect((await search('/Organization?_count=0')).total).toBe(5);
    expect((await search('/Location?_count=0')).total).toBe(5);
    expect(nordRhf).toMatch(/^fnsp-region-eksempel-helse-nord-rhf-[0-9a-f]{10}$/);
  });

  test.each([
    ['HealthcareService', expectNoBasisHealthcareService],
    ['Organization', expectNoBasisOrganization],
    ['Location', expectNoBasisLocation],
  ] as const)(
    'every %s is valid R4, meets no-basis, names FNSP and NLOD as source and licence',
    async (type, check) => {
      const all = await allPages(app, `/${type}?_count=2`);
      expect(all.length).toBeGreaterThan(0);
      for (const r of all) {
        expectValidFhir(r);
        (check as (x: typeof r) => void)(r);
        expectSourceAndLicence(r, 'https://fnsp.no/apne-data', 'fnsp');
        expect(JSON.stringify(r)).not.toContain(fake.baseUrl);
      }
    },
  );

  test('a trust: ENH and RESH, HF, its RHF, its sites as url telecoms', async () => {
    const res = await app.get<Organization>('/Organization/fnsp-999100001');
    expect(res.status).toBe(200);
    expect(res.body.identifier).toEqual([
      { use: 'official', system: ENH, value: '999100001' },
      { system: RESH, value: '4001' },
    ]);
    expect(res.body.partOf).toEqual({
      reference: 'Organization/fnsp-999100000',
      identifier: { system: ENH, value: '999100000' },
      display: 'Eksempel Helse Sør RHF',
    });
    expect(res.body.telecom?.map((t) => t.value)).toEqual([
      'https://eksempel-universitetssykehus.example/',
      'https://eksempel-universitetssykehus.example/en/',
    ]);
  });

  test('a trust named by RESH-id alone on one row is the same trust; its site is found by name', async () => {
    const org = (await app.get<Organization>('/Organization/fnsp-999100002')).body;
    expect(org.identifier?.map((i) => i.value)).toEqual(['999100002', '4002']);
    expect(org.telecom?.map((t) => t.value)).toEqual(['https://vestby.example/']);
    const mr = (await app.get<HealthcareService>('/HealthcareService/fnsp-mr-hode-999100002')).body;
    expect(mr.providedBy?.reference).toBe('Organization/fnsp-999100002');
  });

  test('a HealthcareService carries the trust’s texts unaltered and its page', async () => {
    const hs = (await app.get<HealthcareService>('/HealthcareService/fnsp-koloskopi-999100002')).body;
    expect(hs.name).toBe('Koloskopi');
    expect(hs.comment).toBe('Kikkertundersøkelse av tykktarmen.');
    expect(hs.extraDetails).toBe(
      '## Før\n\nFølg tømmingsanvisningen i innkallingen.\n\n## Etter\n\nDu får svar av legen samme dag.',
    );
    expect(hs.telecom).toEqual([{ system: 'url', value: 'https://vestby.example/koloskopi', use: 'work' }]);
    expect(hs.type).toEqual([
      { coding: [{ system: SNOMED, code: '73761001', display: 'Colonoscopy' }], text: 'Koloskopi' },
    ]);
  });

  test('one meeting place shared by two procedures is one Location', async () => {
    const b = await search(`/HealthcareService?location=${bodoPlace}`);
    expect(ids(matches(b))).toEqual(['fnsp-hofteprotese-999200001', 'fnsp-koloskopi-999200001']);
  });
});

describe('search', () => {
  const cases: [string, () => string, string[]][] = [
    // HealthcareService
    [
      'service-type system|code',
      () => `/HealthcareService?service-type=${SNOMED}|73761001`,
      ['fnsp-koloskopi-999100001', 'fnsp-koloskopi-999100002', 'fnsp-koloskopi-999200001'],
    ],
    [
      'service-type code only',
      () => '/HealthcareService?service-type=52734007',
      ['fnsp-hofteprotese-999100001', 'fnsp-hofteprotese-999200001'],
    ],
    [
      'service-type system|',
      () => `/HealthcareService?service-type=${SNOMED}|&_count=10`,
      [
        'fnsp-hofteprotese-999100001',
        'fnsp-hofteprotese-999200001',
        'fnsp-koloskopi-999100001',
        'fnsp-koloskopi-999100002',
        'fnsp-koloskopi-999200001',
        'fnsp-mr-hode-999100002',
      ],
    ],
    ['service-type |code (no system)', () => '/HealthcareService?service-type=|73761001', []],
    [
      'service-type, comma = OR',
      () => `/HealthcareService?service-type=${SNOMED}|52734007,${SNOMED}|241601008`,
      ['fnsp-hofteprotese-999100001', 'fnsp-hofteprotese-999200001', 'fnsp-mr-hode-999100002'],
    ],
    [
      'organization Type/id',
      () => '/HealthcareService?organization=Organization/fnsp-999100001',
      ['fnsp-hofteprotese-999100001', 'fnsp-koloskopi-999100001'],
    ],
    [
      'organization id',
      () => '/HealthcareService?organization=fnsp-999100002',
      ['fnsp-koloskopi-999100002', 'fnsp-mr-hode-999100002'],
    ],
    [
      'organization absolute URL',
      () => `/HealthcareService?organization=${app.baseUrl}/Organization/fnsp-999200001`,
      ['fnsp-hofteprotese-999200001', 'fnsp-koloskopi-999200001'],
    ],
    [
      'organization:identifier ENH',
      () => `/HealthcareService?organization:identifier=${ENH}|999100002`,
      ['fnsp-koloskopi-999100002', 'fnsp-mr-hode-999100002'],
    ],
    [
      'location',
      () => '/HealthcareService?location=Location/fnsp-loc-999100001-sted-1001',
      ['fnsp-koloskopi-999100001'],
    ],
    [
      'name starts with, any case',
      () => '/HealthcareService?name=KOLO',
      ['fnsp-koloskopi-999100001', 'fnsp-koloskopi-999100002', 'fnsp-koloskopi-999200001'],
    ],
    ['name does not match inside', () => '/HealthcareService?name=tykktarm', []],
    [
      'name:contains',
      () => '/HealthcareService?name:contains=tykktarm',
      ['fnsp-koloskopi-999100001', 'fnsp-koloskopi-999200001'],
    ],
    ['name:exact', () => '/HealthcareService?name:exact=Koloskopi', ['fnsp-koloskopi-999100002']],
    ['name with ø', () => '/HealthcareService?name=MR-UNDERSØKELSE', ['fnsp-mr-hode-999100002']],
    [
      'two parameters AND',
      () => '/HealthcareService?service-type=73761001&organization=fnsp-999100001',
      ['fnsp-koloskopi-999100001'],
    ],
    ['_id', () => '/HealthcareService?_id=fnsp-mr-hode-999100002', ['fnsp-mr-hode-999100002']],
    // Organization
    ['identifier ENH', () => `/Organization?identifier=${ENH}|999100001`, ['fnsp-999100001']],
    ['identifier RESH', () => `/Organization?identifier=${RESH}|5001`, ['fnsp-999200001']],
    ['identifier value only', () => '/Organization?identifier=999100000', ['fnsp-999100000']],
    [
      'identifier system| (every org with an org.nr)',
      () => `/Organization?identifier=${ENH}|`,
      ['fnsp-999100000', 'fnsp-999100001', 'fnsp-999100002', 'fnsp-999200001'],
    ],
    ['name', () => '/Organization?name=eksempel helse', ['fnsp-999100000', '$NORD']],
    ['type RHF', () => `/Organization?type=${L8628}|1`, ['fnsp-999100000', '$NORD']],
    ['type HF', () => `/Organization?type=${L8628}|2`, ['fnsp-999100001', 'fnsp-999100002', 'fnsp-999200001']],
    ['partof', () => '/Organization?partof=Organization/fnsp-999100000', ['fnsp-999100001', 'fnsp-999100002']],
    ['partof a region known by name', () => `/Organization?partof=${nordRhf}`, ['fnsp-999200001']],
    // Location
    [
      'organization (a version-specific reference)',
      () => '/Location?organization=fnsp-999100001',
      ['fnsp-loc-999100001-sted-1001', 'fnsp-loc-999100001-sted-1002'],
    ],
    [
      'address-city, any case',
      () => '/Location?address-city=oslo',
      ['fnsp-loc-999100001-sted-1001', 'fnsp-loc-999100001-sted-1002'],
    ],
    [
      'address-city, upper and lower case data',
      () => '/Location?address-city=DRAMMEN',
      ['fnsp-loc-999100002-rad-1', expect.stringMatching(/^fnsp-loc-999100002-[0-9a-f]{10}$/) as unknown as string],
    ],
    [
      'address-city starts with, OR',
      () => '/Location?address-city=bod,osl',
      ['$BODO', 'fnsp-loc-999100001-sted-1001', 'fnsp-loc-999100001-sted-1002'],
    ],
  ];

  // `$NORD` and `$BODO` stand for ids with a hash in them, known once the data is loaded
  const resolve = (id: string) => (id === '$NORD' ? nordRhf : id === '$BODO' ? bodoPlace : id);

  test.each(cases)('%s', async (_name, path, expected) => {
    const b = await search(path());
    expect(ids(matches(b))).toEqual(expected.map((e) => (typeof e === 'string' ? resolve(e) : e)).sort());
    expect(b.total).toBe(expected.length);
  });
});

describe('_include', () => {
  test('HealthcareService:organization and :location, each included once and not counted', async () => {
    const b = await search(
      '/HealthcareService?service-type=73761001&_include=HealthcareService:organization&_include=HealthcareService:location',
    );
    expect(b.total).toBe(3);
    expect(matches(b)).toHaveLength(3);
    const inc = included(b);
    expect(
      inc
        .filter((r) => r.resourceType === 'Organization')
        .map((r) => r.id)
        .sort(),
    ).toEqual(['fnsp-999100001', 'fnsp-999100002', 'fnsp-999200001']);
    expect(inc.filter((r) => r.resourceType === 'Location')).toHaveLength(3);
    for (const e of b.entry ?? []) {
      expect(e.fullUrl).toBe(`${app.baseUrl}/${e.resource?.resourceType}/${e.resource?.id}`);
    }
  });

  test('a trust providing two matches is included once', async () => {
    const b = await search('/HealthcareService?organization=fnsp-999100001&_include=HealthcareService:organization');
    expect(ids(included(b))).toEqual(['fnsp-999100001']);
  });

  test('with an explicit target type', async () => {
    const b = await search(
      '/HealthcareService?_id=fnsp-koloskopi-999100001&_include=HealthcareService:location:Location',
    );
    expect(ids(included(b))).toEqual(['fnsp-loc-999100001-sted-1001']);
  });

  test('only for the matches on the page', async () => {
    const b = await search('/HealthcareService?_count=1&_include=HealthcareService:organization');
    expect(included(b)).toHaveLength(1);
    expect(links(b).next).toContain('_include=HealthcareService%3Aorganization');
  });

  test('Location:organization resolves the version-specific reference', async () => {
    const b = await search('/Location?address-city=oslo&_include=Location:organization');
    expect(ids(included(b))).toEqual(['fnsp-999100001']);
  });

  test('Organization:partof', async () => {
    const b = await search(`/Organization?type=${L8628}|2&_include=Organization:partof`);
    expect(ids(included(b))).toEqual(['fnsp-999100000', nordRhf].sort());
  });
});

describe('paging', () => {
  test('_count pages with self/first/next/last links; following next visits every match once', async () => {
    const first = await search('/HealthcareService?service-type=http://snomed.info/sct|&_count=2');
    expect(first.total).toBe(6);
    expect(matches(first)).toHaveLength(2);
    const l = links(first);
    expect(Object.keys(l).sort()).toEqual(['first', 'last', 'next', 'self']);
    expect(l.next).toBe(
      `${app.baseUrl}/HealthcareService?service-type=http%3A%2F%2Fsnomed.info%2Fsct%7C&_count=2&_offset=2`,
    );
    expect(l.last).toContain('_offset=4');
    const all = await allPages(app, '/HealthcareService?_count=2');
    expect(all).toHaveLength(6);
    expect(new Set(all.map((r) => r.id)).size).toBe(6);
  });

  test('the last page has previous and no next', async () => {
    const b = await search('/HealthcareService?_count=2&_offset=4');
    expect(matches(b)).toHaveLength(2);
    expect(links(b).previous).toContain('_offset=2');
    expect(links(b).next).toBeUndefined();
  });

  test('_count=0 gives the total only', async () => {
    const b = await search('/Location?_count=0');
    expect(b.total).toBe(5);
    expect(b.entry).toBeUndefined();
  });

  test('an offset past the end gives no entries', async () => {
    const b = await search('/Organization?_offset=100');
    expect(b.total).toBe(5);
    expect(b.entry).toBeUndefined();
  });

  test(`_count above ${MAX_COUNT} is cut to ${MAX_COUNT}; the default is 20`, async () => {
    expect(links(await search('/Organization?_count=5000')).self).toContain(`_count=${MAX_COUNT}`);
    expect(links(await search('/Organization')).self).toContain('_count=20');
  });

  test('a stable order: by name, then id', async () => {
    const names = matches<Organization>(await search('/Organization')).map((o) => o.name);
    expect(names).toEqual([...names].sort((a, b) => (a ?? '').localeCompare(b ?? '', 'nb')));
  });
});

describe('_sort and _total', () => {
  test('by name, ascending and descending; by _id; the default order is by name', async () => {
    const names = async (q: string) =>
      matches<Organization>((await app.get<Bundle>(`/Organization?${q}&_count=100`)).body).map((o) => o.name ?? '');
    const up = await names('_sort=name');
    expect(up.length).toBeGreaterThan(1);
    expect(await names('_sort=-name')).toEqual([...up].reverse());
    const ids = matches<Organization>((await app.get<Bundle>('/Organization?_sort=-_id&_count=100')).body).map(
      (o) => o.id ?? '',
    );
    expect(ids).toEqual([...ids].sort().reverse());
  });

  test('_total=none leaves the total out and is kept in the links', async () => {
    const res = await app.get<Bundle>('/Organization?_total=none&_count=1');
    expect(res.status).toBe(200);
    expect(res.body.total).toBeUndefined();
    expect(res.body.link?.find((l) => l.relation === 'next')?.url).toContain('_total=none');
    expect((await app.get<Bundle>('/Organization?_total=accurate')).body.total).toBeGreaterThan(0);
  });
});

describe('read and vread', () => {
  test.each([
    ['HealthcareService', 'fnsp-koloskopi-999100001'],
    ['Organization', 'fnsp-999100000'],
    ['Location', 'fnsp-loc-999100001-sted-1001'],
  ])('GET %s/%s', async (type, id) => {
    const res = await app.get(`/${type}/${id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    expect(res.body).toMatchObject({ resourceType: type, id });
  });

  test('vread of the current version; an old version is 404', async () => {
    const org = (await app.get<Organization>('/Organization/fnsp-999100001')).body;
    const vid = org.meta?.versionId as string;
    expect(vid).toMatch(/^[0-9a-f]{16}$/);
    expect((await app.get(`/Organization/fnsp-999100001/_history/${vid}`)).body).toEqual(org);
    const old = await app.get<OperationOutcome>('/Organization/fnsp-999100001/_history/0000000000000000');
    expect(old.status).toBe(404);
    expect(old.body.issue[0].details?.text).toBe(
      `Version 0000000000000000 of Organization/fnsp-999100001 is not kept on this server; the current version is ${vid}`,
    );
  });

  test('a Location’s managingOrganization names the current version of its trust', async () => {
    const loc = (await app.get<Location>('/Location/fnsp-loc-999100001-sted-1001')).body;
    const res = await app.get<Organization>(`/${loc.managingOrganization?.reference}`);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe('fnsp-999100001');
  });

  test.each([
    ['/HealthcareService/fnsp-nothing', 'HealthcareService/fnsp-nothing is not known on this server'],
    ['/Organization/someone-else', 'Organization/someone-else is not known on this server'],
    ['/HealthcareService/$validate', 'Operation $validate is not supported on HealthcareService'],
  ])('404: %s', async (path, text) => {
    const res = await app.get<OperationOutcome>(path);
    expect(res.status).toBe(404);
    expect(res.body.issue[0]).toMatchObject({ code: 'not-found', details: { text } });
  });
});

describe('errors', () => {
  test.each([
    [
      '/HealthcareService?foo=bar',
      "Unsupported parameter 'foo' on HealthcareService search (supported: _id, service-type, organization, location, name, _include, _sort, _count, _offset, _total, _format, _pretty)",
    ],
    ['/HealthcareService?name:fuzzy=x', "Unsupported modifier ':fuzzy' on search parameter 'name'"],
    [
      '/HealthcareService?service-type:text=koloskopi',
      "Unsupported modifier ':text' on search parameter 'service-type'",
    ],
    ['/Organization?_count=-1', "Parameter '_count' must be a non-negative integer, found '-1'"],
    ['/Organization?_count=1&_count=2', "Parameter '_count' may occur only once"],
    ['/Organization?_sort=type', "_sort: cannot sort Organization by 'type' (sortable: _id, name)"],
    ['/Organization?_total=maybe', "Parameter '_total' must be none, estimate or accurate, found 'maybe'"],
    [
      '/Organization?_summary=count',
      "Unsupported parameter '_summary' on Organization search (supported: _id, identifier, name, type, partof, active, _include, _sort, _count, _offset, _total, _format, _pretty)",
    ],
    [
      '/Location?_revinclude=HealthcareService:location',
      "Unsupported parameter '_revinclude' on Location search (supported: _id, organization, address-city, name, _include, _sort, _count, _offset, _total, _format, _pretty)",
    ],
    [
      '/HealthcareService?_include=HealthcareService:foo',
      "Unsupported _include 'HealthcareService:foo' on HealthcareService (supported: HealthcareService:organization, HealthcareService:location)",
    ],
    [
      '/HealthcareService?_include=Location:organization',
      "Unsupported _include 'Location:organization' on HealthcareService (supported: HealthcareService:organization, HealthcareService:location)",
    ],
    [
      '/HealthcareService?_include:iterate=HealthcareService:organization',
      "Unsupported parameter '_include:iterate' on HealthcareService search (supported: _id, service-type, organization, location, name, _include, _sort, _count, _offset, _total, _format, _pretty)",
    ],
    [
      '/HealthcareService?_include=HealthcareService:location:Organization',
      "Unsupported _include 'HealthcareService:location:Organization' on HealthcareService: location refers to Location",
    ],
    [
      '/HealthcareService?organization=a%20b/c',
      "Parameter 'organization': 'a b/c' is not a reference ([type]/[id], [id] or a URL)",
    ],
    [
      '/Organization/fnsp-999100001?_summary=true',
      "Unsupported parameter '_summary' on Organization read (supported: _format, _pretty)",
    ],
  ])('400: %s', async (path, text) => {
    const res = await app.get<OperationOutcome>(path);
    expect(res.status).toBe(400);
    expect(res.body.issue[0]).toMatchObject({ severity: 'error', code: 'invalid', details: { text } });
  });

  test('Prefer: handling=lenient ignores an unknown parameter', async () => {
    const res = await app.get<Bundle>('/Organization?foo=bar&type=urn:oid:2.16.578.1.12.4.1.1.8628|1', {
      headers: { Prefer: 'handling=lenient' },
    });
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(2);
  });

  test('405 for POST, with Allow', async () => {
    const res = await app.get<OperationOutcome>('/HealthcareService', { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });

  test('FHIR XML on request: the same search Bundle and read', async () => {
    for (const path of ['/Organization?_count=2', '/Organization/fnsp-999100001', '/Organization/nope']) {
      const json = await app.get(path);
      const xml = await fetchFhirXml(`${app.baseUrl}${path}${path.includes('?') ? '&' : '?'}_format=xml`);
      expect(xml.status).toBe(json.status);
      expect(xml.body).toEqual(json.body);
    }
  });
});

describe('CapabilityStatement entries', () => {
  test('one per type, with the search parameters and includes the search uses; valid R4', () => {
    const rest = directoryCapabilityResources();
    expect(rest.map((r) => r.type)).toEqual(['HealthcareService', 'Organization', 'Location']);
    for (const r of rest) {
      expect(r.searchParam?.map((p) => p.name)).toEqual(Object.keys(SEARCH_PARAMS[r.type as 'Location']));
      expect(r.supportedProfile).toEqual([`http://hl7.no/fhir/StructureDefinition/no-basis-${r.type}`]);
    }
    expect(rest[0].searchInclude).toEqual(['HealthcareService:organization', 'HealthcareService:location']);
    const cs: CapabilityStatement = {
      resourceType: 'CapabilityStatement',
      status: 'active',
      date: '2026-03-02',
      kind: 'instance',
      description: 'test wrapper',
      implementation: { description: 'test', url: 'http://127.0.0.1/fhir' },
      fhirVersion: '4.0.1',
      format: ['json'],
      rest: [{ mode: 'server', resource: rest }],
    };
    expectValidFhir(cs);
  });
});

describe('no upstream call per request', () => {
  test('every request above was answered from one download of the dataset and one of the sites', () => {
    expect(fake.count('/nedlastning')).toBe(1);
    expect(fake.count('/nettsteder')).toBe(1);
    expect(fake.requests.every((r) => r.authorized)).toBe(true);
  });
});
