import type { Bundle, CodeSystem, OperationOutcome, ValueSet } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fetchFhir, postJson, startTestServer, type TestServer, testStore } from '../support/fhir.ts';

const MARITAL_CS = 'no-basis-marital-status.codesystem';
const MARITAL_VS = 'no-basis-marital-status.valueset';
const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

const get = <T extends Bundle | CodeSystem | ValueSet | OperationOutcome>(path: string, init?: RequestInit) =>
  fetchFhir<T>(`${server.baseUrl}${path}`, init);

function links(bundle: Bundle): Record<string, string> {
  return Object.fromEntries((bundle.link ?? []).map((l) => [l.relation, l.url]));
}

describe('read', () => {
  test.each([
    ['CodeSystem', MARITAL_CS],
    ['ValueSet', MARITAL_VS],
    ['CodeSystem', 'v3-MaritalStatus'],
    ['ConceptMap', testStore().all('ConceptMap')[0].id!],
  ])('GET %s/%s returns the stored resource', async (type, id) => {
    const res = await get<CodeSystem>(`/${type}/${id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(testStore().get(type as 'CodeSystem', id));
  });

  test('404 names the unknown id', async () => {
    const res = await get<OperationOutcome>('/CodeSystem/does-not-exist');
    expect(res.status).toBe(404);
    expect(res.body.issue[0].code).toBe('not-found');
    expect(res.body.issue[0].details?.text).toContain('CodeSystem/does-not-exist');
  });

  test('_summary=true on a CodeSystem leaves out concept and tags SUBSETTED', async () => {
    const res = await get<CodeSystem>(`/CodeSystem/${MARITAL_CS}?_summary=true`);
    expect(res.status).toBe(200);
    expect(res.body.concept).toBeUndefined();
    expect(res.body.text).toBeUndefined();
    expect(res.body.url).toBe('http://hl7.no/fhir/CodeSystem/no-basis-marital-status');
    expect(res.body.meta?.tag).toContainEqual(expect.objectContaining(SUBSETTED));
  });

  test('_summary=true on a ValueSet leaves out compose', async () => {
    const res = await get<ValueSet>(`/ValueSet/${MARITAL_VS}?_summary=true`);
    expect(res.body.compose).toBeUndefined();
    expect(res.body.expansion).toBeUndefined();
    expect(res.body.status).toBe('active');
  });

  test.each([
    ['text', ['resourceType', 'id', 'meta', 'text', 'status', 'content']],
    ['data', ['concept', 'url', 'status']],
  ])('_summary=%s keeps the right elements', async (mode, keys) => {
    // 9060 carries a narrative (text); the no-basis files do not
    const res = await get<CodeSystem>(`/CodeSystem/no-kodeverk-9060.codesystem?_summary=${mode}`);
    for (const k of keys) expect(Object.keys(res.body)).toContain(k);
    if (mode === 'text') expect(res.body.concept).toBeUndefined();
    if (mode === 'data') expect(res.body.text).toBeUndefined();
    expect(res.body.meta?.tag).toContainEqual(expect.objectContaining(SUBSETTED));
  });

  test('_summary=false returns everything untagged', async () => {
    const res = await get<CodeSystem>(`/CodeSystem/${MARITAL_CS}?_summary=false`);
    expect(res.body).toEqual(testStore().get('CodeSystem', MARITAL_CS));
  });

  test('_elements keeps id, meta, the named and the mandatory elements', async () => {
    const res = await get<CodeSystem>(`/CodeSystem/${MARITAL_CS}?_elements=url,version`);
    expect(Object.keys(res.body).sort()).toEqual(['content', 'id', 'meta', 'resourceType', 'status', 'url', 'version']);
    expect(res.body.meta?.tag).toContainEqual(expect.objectContaining(SUBSETTED));
  });

  test.each([
    ['_summary=maybe', '_summary'],
    ['_summary=count', '_summary'],
    ['_summary=true&_elements=url', '_elements'],
    ['foo=bar', 'foo'],
  ])('400 for %s', async (query, named) => {
    const res = await get<OperationOutcome>(`/CodeSystem/${MARITAL_CS}?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.issue[0].details?.text).toContain(named);
  });
});

describe('search', () => {
  test('no parameters: a searchset of all, 20 per page, with paging links', async () => {
    const res = await get<Bundle>('/ValueSet');
    const total = testStore().all('ValueSet').length;
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('searchset');
    expect(res.body.total).toBe(total);
    expect(res.body.entry).toHaveLength(20);
    const l = links(res.body);
    expect(l.self).toBe(`${server.baseUrl}/ValueSet?_count=20&_offset=0`);
    expect(l.first).toBe(`${server.baseUrl}/ValueSet?_count=20&_offset=0`);
    expect(l.next).toBe(`${server.baseUrl}/ValueSet?_count=20&_offset=20`);
    expect(l.last).toBe(`${server.baseUrl}/ValueSet?_count=20&_offset=${Math.floor((total - 1) / 20) * 20}`);
    expect(l.previous).toBeUndefined();
    for (const e of res.body.entry ?? []) {
      expect(e.search?.mode).toBe('match');
      expect(e.fullUrl).toBe(`${server.baseUrl}/ValueSet/${e.resource?.id}`);
    }
  });

  test('following next and previous links walks the pages without gaps', async () => {
    const first = await get<Bundle>('/CodeSystem?status=active&_count=7&_elements=url');
    const next = await fetchFhir<Bundle>(links(first.body).next);
    const back = await fetchFhir<Bundle>(links(next.body).previous);
    expect(links(next.body).self).toContain('_offset=7');
    expect(links(next.body).self).toContain('status=active');
    expect(back.body.entry?.map((e) => e.fullUrl)).toEqual(first.body.entry?.map((e) => e.fullUrl));
    const ids = new Set([...(first.body.entry ?? []), ...(next.body.entry ?? [])].map((e) => e.resource?.id));
    expect(ids.size).toBe(14);
  });

  test('the last page has no next link', async () => {
    const first = await get<Bundle>('/CodeSystem?_count=50&_summary=true');
    const last = await fetchFhir<Bundle>(links(first.body).last);
    expect(links(last.body).next).toBeUndefined();
    expect(last.body.entry?.length).toBeGreaterThan(0);
    expect((last.body.entry?.length ?? 0) + Number(links(first.body).last.match(/_offset=(\d+)/)?.[1])).toBe(
      first.body.total,
    );
  });

  test.each([
    ['url', 'url=http://hl7.no/fhir/CodeSystem/no-basis-marital-status', [MARITAL_CS]],
    ['url, one of several', `url=http://x.invalid,http://hl7.no/fhir/CodeSystem/no-basis-marital-status`, [MARITAL_CS]],
    ['_id', `_id=${MARITAL_CS}`, [MARITAL_CS]],
    ['version', 'url=http://hl7.no/fhir/CodeSystem/no-basis-marital-status&version=2.0.8', [MARITAL_CS]],
    ['version, no match', 'url=http://hl7.no/fhir/CodeSystem/no-basis-marital-status&version=9', []],
    ['name contains, any case', 'name=nobasismarital', [MARITAL_CS]],
    ['name:exact', 'name:exact=NoBasisMaritalStatus', [MARITAL_CS]],
    ['name:exact, wrong case', 'name:exact=nobasismaritalstatus', []],
    ['title contains, any case', 'title=Kategori%20HELSE', ['no-kodeverk-9060.codesystem']],
    ['status', 'status=retired&title=organisatorisk', ['no-kodeverk-8628.codesystem']],
  ])('CodeSystem by %s', async (_name, query, ids) => {
    const res = await get<Bundle>(`/CodeSystem?${query}`);
    expect(res.status).toBe(200);
    expect(res.body.entry?.map((e) => e.resource?.id) ?? []).toEqual(ids);
    expect(res.body.total).toBe(ids.length);
  });

  test('_summary=count returns only the total', async () => {
    const res = await get<Bundle>('/ConceptMap?_summary=count');
    expect(res.body.total).toBe(testStore().all('ConceptMap').length);
    expect(res.body.entry).toBeUndefined();
  });

  test('_summary=true applies to every entry', async () => {
    const res = await get<Bundle>(
      '/CodeSystem?url=http://hl7.no/fhir/CodeSystem/no-basis-marital-status&_summary=true',
    );
    const cs = res.body.entry?.[0]?.resource as CodeSystem;
    expect(cs.concept).toBeUndefined();
    expect(cs.meta?.tag).toContainEqual(expect.objectContaining(SUBSETTED));
  });

  test('_count above 1000 is capped at 1000', async () => {
    const res = await get<Bundle>('/ValueSet?_count=5000&_elements=url');
    expect(links(res.body).self).toContain('_count=1000');
    expect(res.body.entry).toHaveLength(Math.min(1000, res.body.total ?? 0));
  });

  test('_offset past the end gives an empty page', async () => {
    const res = await get<Bundle>('/CodeSystem?_offset=100000');
    expect(res.body.entry).toBeUndefined();
    expect(res.body.total).toBe(testStore().all('CodeSystem').length);
  });

  test.each([
    ['an unknown parameter', 'publisher=HL7', 'publisher'],
    ['an unsupported modifier', 'url:below=http://hl7.no', ':below'],
    ['a negative _count', '_count=-1', '_count'],
    ['a non-numeric _offset', '_offset=abc', '_offset'],
    ['_sort by a parameter without an order', '_sort=publisher', '_sort'],
    ['an unknown _total', '_total=some', '_total'],
  ])('400 for %s', async (_name, query, named) => {
    const res = await get<OperationOutcome>(`/CodeSystem?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.issue[0].details?.text).toContain(named);
  });

  test('Prefer: handling=lenient ignores an unknown parameter', async () => {
    const res = await get<Bundle>(`/CodeSystem?publisher=HL7&_id=${MARITAL_CS}`, {
      headers: { Prefer: 'handling=lenient' },
    });
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(1);
  });
});

describe('read-only', () => {
  test.each([
    ['PUT', `/CodeSystem/${MARITAL_CS}`],
    ['DELETE', `/CodeSystem/${MARITAL_CS}`],
    ['PATCH', `/ValueSet/${MARITAL_VS}`],
    ['POST', `/ValueSet/${MARITAL_VS}`],
    ['POST', '/CodeSystem'],
    ['PUT', '/ConceptMap'],
    ['DELETE', '/ValueSet'],
  ])('405 for %s %s, with Allow: GET, HEAD', async (method, path) => {
    const res = await get<OperationOutcome>(path, { ...postJson({ resourceType: 'CodeSystem' }), method });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect(res.body.issue[0].code).toBe('not-supported');
  });
});
