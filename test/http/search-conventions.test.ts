import type { Bundle, CodeSystem, OperationOutcome } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fetchFhir, startTestServer, type TestServer } from '../support/fhir.ts';

// Search conventions (issue 11, item 8; search.html#total, #sort): `_total`, `_sort`, and a 400 for
// an unknown parameter that lists exactly what a search accepts.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server.close());

const search = (q: string) => fetchFhir<Bundle<CodeSystem>>(`${server.baseUrl}/CodeSystem?${q}`);

describe('_total', () => {
  test('none leaves the total out; estimate and accurate give the exact count', async () => {
    const plain = await search('title=Takstkoder');
    expect(plain.body.total).toBeGreaterThan(1);
    const none = await search('title=Takstkoder&_total=none');
    expect(none.status).toBe(200);
    expect(none.body.total).toBeUndefined();
    expect(none.body.entry?.length).toBe(plain.body.entry?.length);
    expect(none.body.link?.[0].url).toContain('_total=none');
    for (const t of ['estimate', 'accurate'])
      expect((await search(`title=Takstkoder&_total=${t}`)).body.total).toBe(plain.body.total);
  });

  test('another value is a 400 naming the parameter', async () => {
    const bad = await fetchFhir<OperationOutcome>(`${server.baseUrl}/CodeSystem?_total=all`);
    expect(bad.status).toBe(400);
    expect(bad.body.issue[0].details?.text).toBe("Parameter '_total' must be none, estimate or accurate, found 'all'");
  });
});

describe('_sort', () => {
  const titles = (b: Bundle<CodeSystem>) => (b.entry ?? []).map((e) => e.resource?.title ?? '');

  test('ascending and descending by title; the order the parameter asks for', async () => {
    const up = titles((await search('title=Takstkoder&_sort=title&_count=50')).body);
    const down = titles((await search('title=Takstkoder&_sort=-title&_count=50')).body);
    expect(up.length).toBeGreaterThan(2);
    const folded = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
    for (let i = 1; i < up.length; i++) expect(folded(up[i - 1]) <= folded(up[i])).toBe(true);
    expect(down).toEqual([...up].reverse());
  });

  test('by version, newest first, as versions compare', async () => {
    const res = await search('url=https://no-fhir-facade.example/fhir/CodeSystem/takstkoder-le&_sort=-version');
    const versions = (res.body.entry ?? []).map((e) => e.resource?.version);
    expect(versions[0]).toBe('2023-07-01');
    expect(versions.at(-1)).toBe('0-udatert');
  });

  test('several keys; paging keeps the order', async () => {
    const all = (await search('_sort=status,-title&_count=1000')).body.entry?.map((e) => e.resource?.id) ?? [];
    const page2 = (await search('_sort=status,-title&_count=10&_offset=10')).body.entry?.map((e) => e.resource?.id);
    expect(page2).toEqual(all.slice(10, 20));
  });

  test('a parameter without an order is a 400 that lists the sortable ones', async () => {
    const bad = await fetchFhir<OperationOutcome>(`${server.baseUrl}/CodeSystem?_sort=publisher`);
    expect(bad.status).toBe(400);
    expect(bad.body.issue[0].details?.text).toBe(
      "_sort: cannot sort by 'publisher' (sortable: _id, url, version, name, title, status)",
    );
  });
});

test('an unknown parameter: the 400 lists every parameter a search accepts', async () => {
  const bad = await fetchFhir<OperationOutcome>(`${server.baseUrl}/ValueSet?publisher=x`);
  expect(bad.status).toBe(400);
  const text = bad.body.issue[0].details?.text ?? '';
  for (const p of [
    'url',
    'version',
    'name',
    'title',
    'status',
    '_id',
    '_count',
    '_offset',
    '_summary',
    '_elements',
    '_sort',
    '_total',
    '_format',
    '_pretty',
  ]) {
    expect(text).toMatch(new RegExp(`[ (]${p}[,)]`));
  }
});
