import type { CodeSystem, ConceptMap } from '@medplum/fhirtypes';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkDataset, DatasetRejectedError, structuralProblems } from '../../src/helserefusjon/check.ts';
import { fetchHelserefusjonData, type HelserefusjonData } from '../../src/helserefusjon/live-fetch.ts';
import { type HelserefusjonResources, toHelserefusjonResources } from '../../src/helserefusjon/live-resources.ts';
import { UpstreamError } from '../../src/upstream/errors.ts';
import { createHelserefusjonClient, type FagomraadeDto } from '../../src/upstream/helserefusjon.ts';
import { type FakeHelserefusjon, startFakeHelserefusjon } from '../fakes/helserefusjon-server.ts';
import { expectValidFhir } from '../support/fhir.ts';

// The live dataset from the synthetic fixtures (test/fixtures/helserefusjon), fetched from the fake
// upstream through the real client, mapped, and checked.

const BASE = 'https://no-fhir-facade.example/fhir';
let fake: FakeHelserefusjon;
let agent: Agent;
let data: HelserefusjonData;
let live: HelserefusjonResources;

const fetchedAt = '2026-11-22T08:15:00.000Z';
const client = () => createHelserefusjonClient({ dispatcher: agent, baseUrl: fake.url, retries: 0 });

beforeAll(async () => {
  fake = await startFakeHelserefusjon();
  agent = new Agent();
  data = await fetchHelserefusjonData(client(), { now: () => new Date(fetchedAt) });
  live = toHelserefusjonResources(data, { mode: 'live' });
});
afterAll(async () => {
  await agent.close();
  await fake.close();
});

const all = (h: HelserefusjonResources) => [...h.codeSystems, ...h.valueSets, ...h.conceptMaps];

describe('toHelserefusjonResources', () => {
  test('the code systems and maps of one retrieval', () => {
    expect(live.codeSystems.map((cs) => `${cs.id} ${cs.version} ${cs.count} ${cs.content}`)).toEqual([
      'fagomraader 2026-11-22 3 complete',
      'praksistyper 2026-11-22 3 complete',
      'takstkoder-le-2021-07-01 2021-07-01 1 complete',
      'takstkoder-le 2023-07-01 2 complete',
      'nlk-7280 2026-11-22 3 complete',
      'refusjonskategorier-po-2024-01-01 2024-01-01 2 complete',
      'refusjonskategorier-po 2025-01-01 2 complete',
    ]);
    expect(live.conceptMaps.map((cm) => cm.id)).toEqual([
      'nlk-7280-erstattes-av',
      'apatkombinasjoner-po-2024-01-01',
      'apatkombinasjoner-po',
    ]);
    expect(live.counts).toEqual({
      fagomraader: 3,
      praksistyper: 3,
      takstkoder: 3,
      nlk: 3,
      refusjonskategorier: 2,
      apatkombinasjoner: 3,
    });
  });

  test('provenance: live, fetched when', () => {
    expect(live.provenance).toEqual({
      mode: 'live',
      fetchedAt,
      // the newest date the data state (the code lists state none; their version is the day of retrieval)
      date: '2023-07-01',
      datasets: [
        { name: 'fagomraader', version: '2026-11-22', codes: 3 },
        { name: 'praksistyper', version: '2026-11-22', codes: 3 },
        { name: 'takstkoder', version: '2023-07-01', date: '2023-07-01', codes: 3 },
        { name: 'NLK', version: '2026-11-22', date: '2021-11-23', codes: 3 },
        { name: 'refusjonskategorier', codes: 2 },
        { name: 'apatkombinasjoner', codes: 3 },
      ],
    });
  });

  test('every resource names the API and the day of retrieval', () => {
    for (const r of all(live)) {
      expect(r.publisher).toBe('no-fhir-facade (data fra Helsedirektoratet/Helfo, Helserefusjon – åpne data)');
      expect(r.copyright).toContain('hentet 2026-11-22');
    }
  });

  test('every resource is valid FHIR R4 and passes the checks', () => {
    for (const r of all(live)) expectValidFhir(r);
    expect(checkDataset(live, undefined)).toEqual([]);
  });

  test('NLK carries the refusjonskategori per samhandlertype', () => {
    const nlk = live.codeSystems.find((cs) => cs.id === 'nlk-7280')!;
    const kalium = nlk.concept!.find((c) => c.code === 'NPU03230')!;
    expect(kalium.property?.filter((p) => p.code === 'refusjonskategori')).toEqual([
      { code: 'refusjonskategori', valueCoding: { system: `${BASE}/CodeSystem/refusjonskategorier-po`, code: '1' } },
    ]);
  });

  test('the documented praksistyper when the API nests none', () => {
    const bare: HelserefusjonData = { ...data, fagomraader: data.fagomraader.map((f) => ({ ...f, praksistyper: [] })) };
    const documented: FagomraadeDto[] = [
      {
        fagomraadekode: 'LE',
        beskrivelse: 'Lege',
        praksistyper: [{ praksis_type_kode: 'FALE', beskrivelse: 'Fastlege', fagomraadekode: 'LE' }],
      },
    ];
    const res = toHelserefusjonResources(bare, { mode: 'live', documentedFagomraader: documented });
    const praksis = res.codeSystems.find((cs) => cs.id === 'praksistyper')!;
    expect(praksis).toMatchObject({ version: '2025-06-04', content: 'fragment', count: 1 });
    expect(res.provenance.datasets[1]).toEqual({
      name: 'praksistyper',
      version: '2025-06-04',
      date: '2025-06-04',
      codes: 1,
      source: 'embedded',
    });
    expect(res.counts?.praksistyper).toBe(0);
    // without the tables: no praksistyper at all (never an empty code system)
    const none = toHelserefusjonResources(bare, { mode: 'live' });
    expect(none.codeSystems.some((cs) => cs.id === 'praksistyper')).toBe(false);
    expect(checkDataset(none, undefined)).toEqual([]);
  });

  test('APAT rows without a refusjonskategori are left out, with a warning', () => {
    const rows = [
      ...data.apatkombinasjoner.PO,
      { ...data.apatkombinasjoner.PO[0], p_kode: 'P99999', refusjonskategori: null },
    ];
    const res = toHelserefusjonResources({ ...data, apatkombinasjoner: { PO: rows, LR: [] } }, { mode: 'live' });
    expect(res.warnings).toContain('apatkombinasjoner PO: 1 rows without refusjonskategori left out');
    expect(res.counts?.apatkombinasjoner).toBe(3);
  });
});

describe('fetchHelserefusjonData', () => {
  test('each dataset on its own: an optional one that fails is missing (empty), the rest is fetched', async () => {
    fake.fail({ status: 404 }, { path: '/v1/apatkombinasjoner' });
    try {
      const got = await fetchHelserefusjonData(client());
      expect(got.apatkombinasjoner).toEqual({ PO: [], LR: [] });
      expect(got.takstkoder.length).toBeGreaterThan(0);
      expect(got.datasets?.apatkombinasjoner).toMatchObject({
        state: 'missing',
        error: { code: 'UPSTREAM_NOT_FOUND' },
      });
      expect(got.datasets?.takstkoder).toEqual({ state: 'fetched', fetchedAt: got.fetchedAt });
      // what is served of it: no APAT maps, the rest as always, and the checks pass
      const res = toHelserefusjonResources(got, { mode: 'live' });
      expect(res.conceptMaps.some((cm) => cm.id?.startsWith('apat'))).toBe(false);
      expect(checkDataset(res, undefined)).toEqual([]);
    } finally {
      fake.clearFaults();
    }
  });

  test('a required dataset that fails: kept from the last retrieval when there is one, else the fetch fails', async () => {
    const previous = await fetchHelserefusjonData(client(), { now: () => new Date('2026-01-01T00:00:00Z') });
    fake.fail({ status: 503 }, { path: '/v1/nlkkoder' });
    try {
      await expect(fetchHelserefusjonData(client())).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
      const got = await fetchHelserefusjonData(client(), {}, previous);
      expect(got.nlkkoder).toBe(previous.nlkkoder);
      expect(got.nlkkoderPerSamhandlertype).toBe(previous.nlkkoderPerSamhandlertype);
      expect(got.datasets?.nlkkoder).toMatchObject({
        state: 'kept',
        fetchedAt: '2026-01-01T00:00:00.000Z',
        error: { code: 'UPSTREAM_UNAVAILABLE' },
      });
      expect(got.datasets?.fagomraader?.state).toBe('fetched');
    } finally {
      fake.clearFaults();
    }
  });

  test('an outage (every request fails) fails the fetch with the first error, even with a last retrieval', async () => {
    const previous = await fetchHelserefusjonData(client());
    fake.fail({ status: 503 });
    try {
      await expect(fetchHelserefusjonData(client(), {}, previous)).rejects.toMatchObject({
        code: 'UPSTREAM_UNAVAILABLE',
      });
    } finally {
      fake.clearFaults();
    }
  });

  test('the error names no URL', async () => {
    fake.fail({ status: 500 });
    try {
      const err = (await fetchHelserefusjonData(client()).catch((e: unknown) => e)) as UpstreamError;
      expect(err).toBeInstanceOf(UpstreamError);
      expect(err.message).toBe('Upstream helserefusjon is unavailable (HTTP 500)');
    } finally {
      fake.clearFaults();
    }
  });
});

describe('checkDataset', () => {
  const withCounts = (counts: Partial<NonNullable<HelserefusjonResources['counts']>>): HelserefusjonResources => ({
    ...live,
    counts: { ...live.counts!, ...counts },
  });

  test.each<[string, Partial<NonNullable<HelserefusjonResources['counts']>>, string[]]>([
    ['the same counts', {}, []],
    ['half the takstkoder', { takstkoder: 2 }, []],
    ['less than half', { takstkoder: 1 }, ['takstkoder: 1 codes, down from 3 (less than 50 %)']],
    ['no NLK codes', { nlk: 0 }, ['nlk: no codes', 'nlk: 0 codes, down from 3 (less than 50 %)']],
    [
      'no APAT combinations any more',
      { apatkombinasjoner: 0 },
      ['apatkombinasjoner: 0 codes, down from 3 (less than 50 %)'],
    ],
  ])('collapse rule: %s', (_name, counts, problems) => {
    expect(checkDataset(withCounts(counts), live)).toEqual(problems);
  });

  test('empty optional datasets are fine on a first load', () => {
    expect(checkDataset(withCounts({ refusjonskategorier: 0, apatkombinasjoner: 0 }), undefined)).toEqual([]);
    expect(checkDataset(withCounts({ fagomraader: 0 }), undefined)).toEqual(['fagomraader: no codes']);
  });

  test('the embedded data are no measure for the collapse rule', () => {
    const embedded: HelserefusjonResources = {
      ...live,
      provenance: { ...live.provenance, mode: 'embedded' },
      counts: { ...live.counts!, nlk: 11_391 },
    };
    expect(checkDataset(live, embedded)).toEqual([]);
  });

  test('a ratio of its own', () => {
    expect(checkDataset(withCounts({ takstkoder: 2 }), live, { minRatio: 0.9 })).toEqual([
      'takstkoder: 2 codes, down from 3 (less than 90 %)',
    ]);
  });

  test('DatasetRejectedError lists the first five problems', () => {
    const err = new DatasetRejectedError(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect(err.code).toBe('DATA_REJECTED');
    expect(err.message).toBe('Helserefusjon data rejected: a; b; c; d; e; and 2 more problems');
  });
});

describe('structuralProblems', () => {
  const takst = () => structuredClone(live.codeSystems.find((cs) => cs.id === 'takstkoder-le')!);
  const valueSets = () => live.valueSets;

  test.each<[string, (cs: CodeSystem) => void, string]>([
    [
      'an empty string',
      (cs) => (cs.concept![0].display = ''),
      'CodeSystem/takstkoder-le.concept[0].display: empty string',
    ],
    [
      'an empty array',
      (cs) => (cs.concept![0].property = []),
      'CodeSystem/takstkoder-le.concept[0].property: empty array',
    ],
    ['a null', (cs) => Object.assign(cs, { title: null }), 'CodeSystem/takstkoder-le.title: null'],
    ['an invalid code', (cs) => (cs.concept![0].code = '1 ad '), 'concept code "1 ad " is not a valid code'],
    ['a code twice', (cs) => (cs.concept![1].code = cs.concept![0].code), 'concept 1ad twice'],
    ['a wrong count', (cs) => (cs.count = 5), 'count 5, but 2 concepts'],
    [
      'an undeclared property',
      (cs) => cs.concept![0].property!.push({ code: 'farge', valueString: 'blå' }),
      'concept 1ad property farge is not declared',
    ],
    [
      'a property with two values',
      (cs) => Object.assign(cs.concept![0].property![0], { valueInteger: 1 }),
      'concept 1ad property takst_id: 2 values',
    ],
    [
      'a bad dateTime',
      (cs) => (cs.concept![0].property!.find((p) => p.code === 'fradato')!.valueDateTime = '2023-07-01 00:00'),
      "concept 1ad property fradato: '2023-07-01 00:00' is not a dateTime",
    ],
    ['an invalid id', (cs) => (cs.id = 'takstkoder_le'), 'CodeSystem/takstkoder_le: id missing or invalid'],
    ['a relative url', (cs) => (cs.url = 'takstkoder-le'), 'url missing or not absolute'],
    ['a valueSet not served', (cs) => (cs.valueSet = `${cs.valueSet}x`), 'is not served'],
  ])('%s', (_name, spoil, problem) => {
    const cs = takst();
    spoil(cs);
    const problems = structuralProblems([cs, ...valueSets()]);
    expect(problems.some((p) => p.includes(problem))).toBe(true);
  });

  test('ids and url|version are unique', () => {
    const cs = takst();
    expect(structuralProblems([cs, { ...cs }, ...valueSets()])).toEqual([
      'CodeSystem/takstkoder-le: id used twice',
      `CodeSystem/takstkoder-le: ${cs.url}|${cs.version} used twice`,
    ]);
  });

  test('ConceptMap equivalence and codes', () => {
    const cm = structuredClone(live.conceptMaps.find((c) => c.id === 'apatkombinasjoner-po')!) as ConceptMap;
    cm.group![0].element![0].target![0].equivalence = 'same' as 'equal';
    expect(structuralProblems([cm])).toEqual(["ConceptMap/apatkombinasjoner-po: element T83000: equivalence 'same'"]);
  });

  test('the list is cut at the limit', () => {
    const cs = takst();
    for (const c of cs.concept!) c.display = '';
    expect(structuralProblems([cs, ...valueSets()], 1)).toHaveLength(1);
  });
});
