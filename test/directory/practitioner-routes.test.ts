import type { Bundle, CapabilityStatement, OperationOutcome, Practitioner } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { practitionerCapability } from '../../src/directory/practitioner-routes.ts';
import { bulkPerson, SYNTHETIC_PERSONS } from '../fakes/hpr-persons.ts';
import { expectValidFhir, fetchFhir, fetchFhirXml } from '../support/fhir.ts';
import { type Harness, startHarness } from './harness.ts';

const HPR = 'urn:oid:2.16.578.1.12.4.1.4.4';
const q = encodeURIComponent;
const issueText = (oo: OperationOutcome) => oo.issue?.[0]?.details?.text;

/** Every HPR-derived test person's fødselsnummer, which must never appear in any response. */
const NINS = [...SYNTHETIC_PERSONS, ...Array.from({ length: 320 }, (_, i) => bulkPerson(i))].map(
  (p) => (p.person as { nin: string }).nin,
);

function expectNoNin(body: unknown): void {
  const text = JSON.stringify(body);
  for (const nin of NINS) expect(text).not.toContain(nin);
}

describe('Practitioner endpoints', () => {
  let h: Harness;
  beforeAll(async () => {
    // the extended scope returns fødselsnummer from HPR: the responses must still not carry it
    h = await startHarness({
      http: true,
      env: { HPR_SCOPE: 'nhn:hpr/basic nhn:hpr/extended' },
      persons: [...SYNTHETIC_PERSONS, ...Array.from({ length: 320 }, (_, i) => bulkPerson(i))],
    });
  });
  afterAll(async () => {
    await h.close();
  });

  async function get<T extends OperationOutcome | Bundle | Practitioner>(path: string, init?: RequestInit) {
    const res = await fetchFhir<T>(`${h.baseUrl}${path}`, init);
    expectNoNin(res.body);
    return res;
  }

  test('GET /Practitioner/{hprNummer}', async () => {
    const res = await get<Practitioner>('/Practitioner/900000001');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    expect(res.headers.get('age')).toBe('0');
    expect(res.body.id).toBe('900000001');
    expect(res.body.identifier).toEqual([{ use: 'official', system: HPR, value: '900000001' }]);
    expect(res.body.meta?.profile).toEqual(['http://hl7.no/fhir/StructureDefinition/no-basis-Practitioner']);
    expect(res.body.active).toBe(true);
  });

  test('_pretty=true', async () => {
    const res = await fetch(`${h.baseUrl}/Practitioner/900000001?_pretty=true`);
    expect(await res.text()).toContain('\n  "resourceType": "Practitioner"');
  });

  test.each([
    [`identifier=${q(`${HPR}|900000002`)}`],
    [`identifier=${q('http://hl7.no/fhir/NamingSystem/HPR|900000002')}`],
    ['identifier=900000002'],
    ['_id=900000002'],
    [`_id=900000002&identifier=${q(`${HPR}|900000002`)}`],
  ])('GET /Practitioner?%s', async (query) => {
    const res = await get<Bundle<Practitioner>>(`/Practitioner?${query}`);
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('searchset');
    expect(res.body.total).toBe(1);
    expect(res.body.entry?.[0]?.fullUrl).toBe(`${h.baseUrl}/Practitioner/900000002`);
    expect(res.body.entry?.[0]?.search?.mode).toBe('match');
    expect(res.body.link?.[0]).toEqual({
      relation: 'self',
      url: expect.stringMatching(new RegExp(`^${h.baseUrl}/Practitioner\\?`)),
    });
  });

  test.each([
    ['an unknown HPR number', `identifier=${q(`${HPR}|123456789`)}`],
    ['identifiers without a system', `identifier=${q('|900000002')}`],
    ['a value that is not an HPR number', 'identifier=abc'],
    ['_id and identifier naming different persons', `_id=900000001&identifier=${q(`${HPR}|900000002`)}`],
  ])('search: %s is an empty Bundle', async (_name, query) => {
    const res = await get<Bundle>(`/Practitioner?${query}`);
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(0);
    expect(res.body.entry).toBeUndefined();
  });

  test('GET /Practitioner?family=…&birthdate=…', async () => {
    const res = await get<Bundle<Practitioner>>('/Practitioner?family=navnesen&birthdate=1985-06-06');
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(2);
    expect(res.body.entry?.map((e) => e.resource?.id)).toEqual(['900000006', '900000007']);
    const paged = await get<Bundle<Practitioner>>('/Practitioner?family=Navnesen&birthdate=eq1985-06-06&_count=1');
    expect(paged.body.total).toBe(2);
    expect(paged.body.entry).toHaveLength(1);
    expect(paged.body.link?.map((l) => l.relation)).toEqual(['self', 'first', 'next', 'last']);
  });

  test('an unknown HPR number is a 404 OperationOutcome', async () => {
    const res = await get<OperationOutcome>('/Practitioner/123456789');
    expect(res.status).toBe(404);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(issueText(res.body)).toBe(
      'Practitioner/123456789 is not known: HPR has no person with HPR number 123456789',
    );
  });

  test('an id that is not an HPR number is a 404 without asking HPR', async () => {
    const before = h.fake.stats.hprRequests;
    const res = await get<OperationOutcome>('/Practitioner/abc');
    expect(res.status).toBe(404);
    expect(issueText(res.body)).toBe(
      'Practitioner/abc is not known: Practitioner ids on this server are HPR numbers (digits)',
    );
    expect(h.fake.stats.hprRequests).toBe(before);
  });

  test.each([
    [
      'an unsupported parameter',
      '/Practitioner?name=Legesen',
      "Unsupported parameter 'name' on Practitioner search (supported: _id, identifier, family, birthdate)",
    ],
    [
      'a modifier',
      '/Practitioner?family:exact=Navnesen&birthdate=1985-06-06',
      "Unsupported modifier ':exact' on search parameter 'family'",
    ],
    [
      'family alone',
      '/Practitioner?family=Navnesen',
      'HPR searches by surname and birth date together: give both family and birthdate',
    ],
    [
      'birthdate alone',
      '/Practitioner?birthdate=1985-06-06',
      'HPR searches by surname and birth date together: give both family and birthdate',
    ],
    [
      'a birthdate prefix',
      '/Practitioner?family=Navnesen&birthdate=gt1985-06-06',
      "The prefix 'gt' is not supported on birthdate: HPR searches by the exact date",
    ],
    [
      'a partial birthdate',
      '/Practitioner?family=Navnesen&birthdate=1985',
      "birthdate must be a full date (yyyy-MM-dd), got '1985'",
    ],
    [
      'an impossible birthdate',
      '/Practitioner?family=Navnesen&birthdate=1985-02-30',
      "birthdate '1985-02-30' is not a valid date",
    ],
    [
      'no parameter',
      '/Practitioner',
      'A Practitioner search needs identifier (or _id), or family and birthdate: HPR cannot list all persons',
    ],
    [
      'both kinds',
      '/Practitioner?_id=900000001&family=Legesen&birthdate=1970-01-01',
      'Search either by HPR number (identifier or _id) or by family and birthdate, not both',
    ],
    [
      'another identifier system',
      `/Practitioner?identifier=${q('urn:oid:2.16.578.1.12.4.1.4.1|12345678901')}`,
      "Practitioners can be searched by HPR number only (identifier system urn:oid:2.16.578.1.12.4.1.4.4), not by 'urn:oid:2.16.578.1.12.4.1.4.1'",
    ],
    [
      'two values',
      '/Practitioner?_id=900000001,900000002',
      "Parameter '_id' takes one value here (no comma-separated alternatives)",
    ],
    ['a repeated parameter', '/Practitioner?_id=900000001&_id=900000002', "Parameter '_id' may occur only once"],
    [
      'a bad _count',
      '/Practitioner?_id=900000001&_count=-1',
      "Parameter '_count' must be a non-negative integer, found '-1'",
    ],
    [
      'a parameter on read',
      '/Practitioner/900000001?_summary=true',
      "Unsupported parameter '_summary' on Practitioner read",
    ],
  ])('400: %s', async (_name, path, text) => {
    const res = await get<OperationOutcome>(path);
    expect(res.status).toBe(400);
    expect(issueText(res.body)).toBe(text);
  });

  test('Prefer: handling=lenient ignores unknown parameters', async () => {
    const res = await get<Bundle>('/Practitioner?_id=900000001&name=x&family:exact=y', {
      headers: { prefer: 'handling=lenient' },
    });
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(1);
    expect(res.body.link?.[0]?.url).not.toContain('name=');
  });

  test.each([
    ['POST', '/Practitioner', 'GET, HEAD'],
    ['PUT', '/Practitioner/900000001', 'GET, HEAD'],
    ['DELETE', '/Practitioner/900000001', 'GET, HEAD'],
  ])('%s %s is 405', async (method, path, allow) => {
    const res = await get<OperationOutcome>(path, { method });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
  });

  test.each([
    ['/Practitioner/$everything', 'Operation $everything is not supported on Practitioner'],
    ['/Practitioner/900000001/_history', 'Unknown path GET /fhir/Practitioner/900000001/_history'],
  ])('%s is a 404', async (path, text) => {
    const res = await get<OperationOutcome>(path);
    expect(res.status).toBe(404);
    expect(issueText(res.body)).toBe(text);
  });

  test('FHIR XML on request: the same Practitioner, search Bundle and error', async () => {
    for (const path of ['/Practitioner/900000001', '/Practitioner?_count=2', '/Practitioner/1']) {
      const json = await fetchFhir(`${h.baseUrl}${path}`);
      const xml = await fetchFhirXml(`${h.baseUrl}${path}`, { headers: { accept: 'application/fhir+xml' } });
      expect(xml.status).toBe(json.status);
      expect(xml.body).toEqual(json.body);
    }
  });

  test('every Practitioner of the synthetic set is served valid', async () => {
    for (const p of SYNTHETIC_PERSONS) {
      const res = await get<Practitioner>(`/Practitioner/${p.hprNummer}`);
      expect(res.status).toBe(200);
    }
  });
});

describe('rate limit and outage, over HTTP', () => {
  test('400 look-ups of 20 persons: at most 20 HPR calls; 300 of new persons: 429 + Retry-After for the extra, no HPR 429', async () => {
    const persons = Array.from({ length: 320 }, (_, i) => bulkPerson(i));
    const h = await startHarness({ http: true, persons });
    try {
      const twenty = persons.slice(0, 20).map((p) => String(p.hprNummer));
      const first = await Promise.all(
        Array.from({ length: 400 }, (_, i) => fetchFhir<Practitioner>(`${h.baseUrl}/Practitioner/${twenty[i % 20]}`)),
      );
      expect(first.every((r) => r.status === 200)).toBe(true);
      expect(h.fake.stats.hprServed).toBeLessThanOrEqual(20);
      expect(h.fake.stats.tokenRequests).toBe(1);

      // 180 tokens left in both buckets; 300 look-ups of persons never seen
      const fresh = persons.slice(20, 320).map((p) => String(p.hprNummer));
      const responses = await Promise.all(fresh.map((n) => fetchFhir(`${h.baseUrl}/Practitioner/${n}`)));
      const ok = responses.filter((r) => r.status === 200);
      const limited = responses.filter((r) => r.status === 429);
      expect(ok).toHaveLength(180);
      expect(limited).toHaveLength(120);
      for (const r of limited) {
        expect(r.headers.get('retry-after')).toBe('60');
        const oo = r.body as OperationOutcome;
        expect(oo.resourceType).toBe('OperationOutcome');
        expect(oo.issue?.[0]?.code).toBe('throttled');
        expect(issueText(oo)).toBe(
          'HPR allows this server a limited number of look-ups (a bucket refilled every minute) and they are used up; HPR was not asked. Try again in 60 s.',
        );
      }
      expect(h.fake.stats.hprRequests).toBe(200);
      expect(h.fake.stats.rateLimited).toBe(0);
    } finally {
      await h.close();
    }
  });

  test('an HPR outage still serves cached persons, with their Age', async () => {
    const h = await startHarness({ http: true });
    try {
      expect((await fetchFhir(`${h.baseUrl}/Practitioner/900000001`)).status).toBe(200);
      h.clock.t += 26 * 3_600_000;
      h.fake.setHprOutage(503);
      const cached = await fetchFhir<Practitioner>(`${h.baseUrl}/Practitioner/900000001`);
      expect(cached.status).toBe(200);
      expect(cached.headers.get('age')).toBe(String(26 * 3600));
      expect(cached.body.id).toBe('900000001');
      const uncached = await fetchFhir<OperationOutcome>(`${h.baseUrl}/Practitioner/900000002`);
      expect(uncached.status).toBe(503);
      expect(uncached.headers.get('retry-after')).toBeTruthy();
      expect(uncached.body.issue?.[0]?.code).toBe('transient');
    } finally {
      await h.close();
    }
  });

  test('without credentials: 503 naming the missing settings, for read and search', async () => {
    const h = await startHarness({ http: true, unconfigured: true });
    try {
      for (const path of [
        '/Practitioner/900000001',
        '/Practitioner?_id=900000001',
        '/Practitioner?family=a&birthdate=2000-01-01',
      ]) {
        const res = await fetchFhir<OperationOutcome>(`${h.baseUrl}${path}`);
        expect(res.status).toBe(503);
        expect(issueText(res.body)).toBe(
          'Practitioner look-ups in HPR are not configured on this server. Missing settings: MASKINPORTEN_CLIENT_ID, MASKINPORTEN_KID (or MASKINPORTEN_CERT_CHAIN_FILE), MASKINPORTEN_PRIVATE_KEY (or MASKINPORTEN_PRIVATE_KEY_FILE)',
        );
      }
      // a bad request is still a 400, before any look-up
      expect((await fetchFhir(`${h.baseUrl}/Practitioner?name=x`)).status).toBe(400);
    } finally {
      await h.close();
    }
  });
});

describe('practitionerCapability', () => {
  function statement(resource: ReturnType<typeof practitionerCapability>): CapabilityStatement {
    return {
      resourceType: 'CapabilityStatement',
      status: 'active',
      date: '2026-01-15',
      kind: 'instance',
      software: { name: 'test' },
      implementation: { description: 'test', url: 'http://127.0.0.1/fhir' },
      fhirVersion: '4.0.1',
      format: ['json'],
      rest: [{ mode: 'server', resource: [resource] }],
    };
  }

  test('configured', () => {
    const entry = practitionerCapability({ configured: true, extended: false, synthetic: false });
    expectValidFhir(statement(entry));
    expect(entry.type).toBe('Practitioner');
    expect(entry.supportedProfile).toEqual(['http://hl7.no/fhir/StructureDefinition/no-basis-Practitioner']);
    expect(entry.interaction).toEqual([{ code: 'read' }, { code: 'search-type' }]);
    expect(entry.searchParam?.map((p) => `${p.name}:${p.type}`)).toEqual([
      '_id:token',
      'identifier:token',
      'family:string',
      'birthdate:date',
    ]);
    expect(entry.documentation).toContain('Configured: persons are read from HPR (nhn:hpr/basic)');
  });

  test('not configured: says so, naming the settings', () => {
    const entry = practitionerCapability({ configured: false, missing: ['MASKINPORTEN_CLIENT_ID'] });
    expectValidFhir(statement(entry));
    expect(entry.documentation).toContain(
      'Not configured on this server: every Practitioner request answers 503 (missing settings: MASKINPORTEN_CLIENT_ID).',
    );
  });
});
