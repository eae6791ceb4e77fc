import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { UpstreamError } from '../../src/upstream/errors.ts';
import {
  createHelserefusjonClient,
  extractRows,
  HELSEREFUSJON_BASE_URL,
  parseApatkombinasjoner,
  parseBandasjister,
  parseFagomraader,
  parseNlkkoder,
  parseRefusjonskategorisatser,
  parseTakstkoder,
  rowAllowance,
  skippedRowsOf,
} from '../../src/upstream/helserefusjon.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/helserefusjon');
const fixture = (name: string): object => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));
const JSON_HEADERS = { 'content-type': 'application/json' };

function badResponse(fn: () => unknown): UpstreamError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).code).toBe('UPSTREAM_BAD_RESPONSE');
    return err as UpstreamError;
  }
  throw new Error('expected UPSTREAM_BAD_RESPONSE');
}

describe('extractRows', () => {
  test.each<[string, unknown, unknown[]]>([
    ['a bare array', [{ a: 1 }], [{ a: 1 }]],
    ['the known key', { takstkoder: [1], other: [2] }, [1]],
    ['the key in another case', { Takst_Koder: [1] }, [1]],
    ['the only list under an unknown key', { antall: 1, data: [7] }, [7]],
  ])('%s', (_name, json, rows) => {
    expect(extractRows(json, ['takstkoder'], 'takstkoder')).toEqual(rows);
  });

  test.each<[string, unknown, string]>([
    ['no list', { antall: 0 }, 'takstkoder: no "takstkoder" list in the response'],
    ['two unknown lists', { a: [], b: [] }, 'takstkoder: no "takstkoder" list and several other lists (a, b)'],
    ['a string', 'x', 'takstkoder: expected a JSON object or array, got string'],
    ['null', null, 'takstkoder: expected a JSON object or array, got null'],
  ])('%s is a bad response', (_name, json, reason) => {
    const err = badResponse(() => extractRows(json, ['takstkoder'], 'takstkoder'));
    expect(err.reason).toBe(reason);
  });
});

describe('parseTakstkoder', () => {
  test('reads numbers, numeric strings, flags and dates with or without a time', () => {
    const rows = parseTakstkoder(fixture('takstkoder-le.json'));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toEqual({
      takst_id: '90001',
      takstkode: '1ad',
      fagomraade: 'LE',
      fradato: '2023-07-01T00:00:00',
      tildato: '2024-06-30T23:59:59',
      honorar: 80,
      refusjon: 19,
      egenandel: 61,
      pasient_egenbetaling: null,
      maks_repetisjoner: 0,
      repetisjonsprosent: null,
      redusert_ref_fra_repetisjon: null,
      redusert_repetisjonsprosent: null,
      spesialisttakst: false,
      ugyldig_kombinasjon: '1ak, b, f, g, 2, 3, 4, 11, 12, 13, 14, 15, 21, 217c, 612, 621, 622, 623, 624',
      krever_takst: null,
      krever_prosedyre: 'false',
      krever_diagnose: 'J',
      maks_antall_per_aar: null,
      maks_antall_per_kalender_aar: null,
      maks_antall_gjelder_pasient: null,
      minimum_tidsbruk: null,
      beskrivelse:
        'Enkel pasientkontakt ved personlig frammøte eller ved bud. Taksten forutsetter at det gis råd/veiledning. Gjelder også når kontakten/forespørselen resulterer i skriving av resept, sykmelding, rekvisisjon eller henvisning.',
      resource_id: 'r-1ad',
      tidsbruk_per_rep: null,
    });
    expect(rows[1]).toMatchObject({ takstkode: '1ak', fradato: '2023-07-01', honorar: 106, resource_id: null });
    expect(rows[2]).toMatchObject({
      takstkode: '2ad',
      fradato: '2021-07-01T00:00:00',
      tildato: '2022-06-30T23:59:00',
      maks_antall_per_kalender_aar: 500,
      maks_antall_gjelder_pasient: false,
      minimum_tidsbruk: 7.5,
    });
  });

  test('the embedded data files parse (they are in the API row shape)', () => {
    const file = join(import.meta.dirname, '../../data/helserefusjon/takstkoder/normaltariff-2020-2021.json');
    const rows = parseTakstkoder(JSON.parse(readFileSync(file, 'utf8')));
    expect(rows).toHaveLength(34);
    expect(rows.find((r) => r.takstkode === '1ad')).toMatchObject({ honorar: 73, refusjon: 15, egenandel: 58 });
  });

  test('the fagområde asked for fills a row without one', () => {
    expect(parseTakstkoder([{ takstkode: '2ad' }], { fagomraade: 'LE' })[0].fagomraade).toBe('LE');
  });

  test.each<[string, unknown, string]>([
    ['no takstkode', { takstkoder: [{ fagomraade: 'LE' }] }, 'takstkoder[0].takstkode: missing'],
    ['no fagområde', { takstkoder: [{ takstkode: '2ad' }] }, 'takstkoder[0].fagomraade: missing'],
    [
      'a word as honorar',
      { takstkoder: [{ takstkode: '2ad', fagomraade: 'LE', honorar: 'gratis' }] },
      'takstkoder[0].honorar: expected a number, got "gratis"',
    ],
    [
      'an impossible date',
      { takstkoder: [{ takstkode: '2ad', fagomraade: 'LE', fradato: '2023-02-30' }] },
      'takstkoder[0].fradato: not a valid date: "2023-02-30"',
    ],
    ['a row that is not an object', { takstkoder: ['2ad'] }, 'takstkoder[0]: expected an object, got "2ad"'],
  ])('%s is a bad response with a reason', (_name, json, reason) => {
    const err = badResponse(() => parseTakstkoder(json));
    expect(err.reason).toBe(reason);
    expect(err.message).toBe(`Upstream helserefusjon sent a response that could not be understood: ${reason}`);
  });
});

describe('parseNlkkoder', () => {
  test('reads the mixed camelCase/snake_case fields and the nested refusjonskategorisats', () => {
    const rows = parseNlkkoder(fixture('nlkkoder-po.json'));
    expect(rows.map((r) => r.nlkKode)).toEqual(['NPU03230', 'NOR05001', 'NPU29069']);
    expect(rows[0]).toMatchObject({
      nlkKodeid: '501',
      norsk_bruksnavn: 'P-Kalium',
      enhet: 'mmol/L',
      fradato: '2013-01-25T00:00:00',
      refusjonskategori: '1',
      stjernekode: 'false',
    });
    expect(rows[0].refusjonskategorisats).toEqual([
      {
        refusjonskategoriid: '11',
        refusjonskategori: '1',
        refusjonssats: 27,
        fradato: '2024-01-01',
        tildato: '2024-12-31',
        samhandlertype: null,
      },
      {
        refusjonskategoriid: '12',
        refusjonskategori: '1',
        refusjonssats: 28,
        fradato: '2025-01-01',
        tildato: null,
        samhandlertype: null,
      },
    ]);
    expect(rows[1]).toMatchObject({ erstattesAv: 'NPU29069', tildato: '2020-02-29T23:59:00' });
    // snake_case spellings of documented camelCase names are accepted
    expect(rows[2]).toMatchObject({ nlkKodeid: '503', refusjonskategorisats: [] });
  });

  test('a refusjonskategorisats that is not a list is refused', () => {
    const err = badResponse(() => parseNlkkoder({ nlkkoder: [{ nlkKode: 'NPU1', refusjonskategorisats: 'A' }] }));
    expect(err.reason).toBe('nlkkoder[0].refusjonskategorisats: expected a list');
  });

  describe('unreadable rows in a long list: up to 1% are left out, more refuse the answer', () => {
    const good = (i: number) => ({ nlkKode: `NPU${10000 + i}`, norsk_bruksnavn: `Kode ${i}` });
    const bad = { nlkKode: 'NPU9', refusjonskategorisats: 'A' };
    const list = (badAt: number[]) => Array.from({ length: 200 }, (_, i) => (badAt.includes(i) ? bad : good(i)));

    test('2 of 200: the other 198 are read, and the 2 are counted with the first reason', () => {
      const rows = parseNlkkoder({ nlkkoder: list([5, 150]) });
      expect(rows).toHaveLength(198);
      expect(rows.some((r) => r.nlkKode === 'NPU9')).toBe(false);
      expect(rowAllowance(200)).toBe(2);
      expect(skippedRowsOf(rows)).toEqual({
        what: 'nlkkoder',
        skipped: 2,
        total: 200,
        first: 'nlkkoder[5].refusjonskategorisats: expected a list',
      });
      expect(skippedRowsOf(parseNlkkoder({ nlkkoder: list([]) }))).toBeUndefined();
    });

    test('3 of 200: the answer is refused, saying how many and why', () => {
      const err = badResponse(() => parseNlkkoder({ nlkkoder: list([5, 6, 7]) }));
      expect(err.reason).toBe(
        'nlkkoder: 3 of 200 rows cannot be read (at most 2 may be left out); first: nlkkoder[5].refusjonskategorisats: expected a list',
      );
    });

    test('bandasjister are read strictly: one bad row refuses the list', () => {
      const rows = Array.from({ length: 200 }, (_, i) => ({ orgnr: `9${String(i).padStart(8, '0')}`, navn: `B ${i}` }));
      rows[3] = { orgnr: 12, navn: 'x' } as unknown as (typeof rows)[number];
      expect(() => parseBandasjister({ bandasjister: rows })).toThrow(UpstreamError);
    });
  });
});

describe('parseFagomraader', () => {
  test('reads the praksistyper nested in their fagområde, under several key names', () => {
    const rows = parseFagomraader(fixture('fagomraader.json'));
    expect(rows).toEqual([
      {
        fagomraadekode: 'LE',
        beskrivelse: 'Lege',
        praksistyper: [
          { praksis_type_kode: 'FALE', beskrivelse: 'Fastlege', fagomraadekode: 'LE' },
          { praksis_type_kode: 'LEVA', beskrivelse: 'Legevakt', fagomraadekode: 'LE' },
        ],
      },
      {
        fagomraadekode: 'FY',
        beskrivelse: 'Fysioterapi',
        praksistyper: [{ praksis_type_kode: 'FYNO', beskrivelse: 'Fysioterapeut', fagomraadekode: 'FY' }],
      },
      { fagomraadekode: 'APO', beskrivelse: 'Apotek', praksistyper: [] },
    ]);
  });

  test('a praksistype naming another fagområde than its parent is refused', () => {
    const err = badResponse(() =>
      parseFagomraader({ fagomraader: [{ fagomraadekode: 'LE', praksistyper: [{ kode: 'FYNO', fagomraade: 'FY' }] }] }),
    );
    expect(err.reason).toBe('fagomraader[0].praksistyper[0].fagomraadekode: FY inside fagområde LE');
  });
});

describe('other lists', () => {
  test('refusjonskategorisatser', () => {
    const rows = parseRefusjonskategorisatser(fixture('refusjonskategorisatser-po.json'));
    expect(rows.map((r) => [r.refusjonskategori, r.refusjonssats, r.fradato, r.tildato])).toEqual([
      ['1', 27, '2024-01-01', '2024-12-31'],
      ['1', 28, '2025-01-01', null],
      ['3', 112.5, '2024-01-01T00:00:00', null],
    ]);
  });

  test('apatkombinasjoner under the camelCase wrapper apatKombinasjoner', () => {
    const rows = parseApatkombinasjoner(fixture('apatkombinasjoner-po.json'));
    expect(rows[0]).toEqual({
      t_kode: 'T83000',
      p_kode: 'P30611',
      refusjonskategori: 'A1',
      belop: 450,
      samhandler_type: 'PO',
      fradato: '2024-01-01',
      tildato: null,
    });
    expect(rows).toHaveLength(3);
  });

  test('bandasjister', () => {
    const rows = parseBandasjister(fixture('bandasjister.json'));
    expect(rows[1]).toEqual({
      sar_id: '123457',
      sar_navn: 'Eksempel Ortopedi AS',
      sar_orgnr: '888888888',
      hovedenhet_orgnr: '888888888',
      underenhet_orgnr: null,
      gyldig_fra: '2021-02-01',
      gyldig_til: '2023-12-31',
      status: 'slettet',
      tidspunkt_registrert: null,
      tidspunkt_oppdatert: null,
    });
  });
});

describe('createHelserefusjonClient', () => {
  let agent: MockAgent;
  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
  });
  afterEach(async () => {
    agent.assertNoPendingInterceptors();
    await agent.close();
  });
  const client = () =>
    createHelserefusjonClient({ dispatcher: agent, retries: 1, sleep: async () => {}, random: () => 0 });
  const pool = () => agent.get(HELSEREFUSJON_BASE_URL);

  test('takstkoder sends the query (with % as %25) and Accept: application/json', async () => {
    pool()
      .intercept({
        path: '/v1/takstkoder?fagomraade=LE&gyldigdato=2023-08-01&beskrivelse=%25konsultasjon%25',
        method: 'GET',
        headers: { accept: 'application/json' },
      })
      .reply(200, fixture('takstkoder-le.json'), { headers: JSON_HEADERS });
    const rows = await client().takstkoder({
      fagomraade: 'LE',
      gyldigdato: '2023-08-01',
      beskrivelse: '%konsultasjon%',
    });
    expect(rows.map((r) => r.takstkode)).toEqual(['1ad', '1ak', '2ad']);
  });

  test.each<[string, string, (c: ReturnType<typeof client>) => Promise<unknown[]>, number]>([
    ['nlkkoder', '/v1/nlkkoder?samhandlertype=PO', (c) => c.nlkkoder({ samhandlertype: 'PO' }), 3],
    ['fagomraader', '/v1/fagomraader', (c) => c.fagomraader(), 3],
    [
      'refusjonskategorisatser',
      '/v1/refusjonskategorisatser?gyldigdato=2024-06-01&samhandlertype=PO',
      (c) => c.refusjonskategorisatser({ gyldigdato: '2024-06-01', samhandlertype: 'PO' }),
      3,
    ],
    [
      'apatkombinasjoner',
      '/v1/apatkombinasjoner?samhandlertype=PO',
      (c) => c.apatkombinasjoner({ samhandlertype: 'PO' }),
      3,
    ],
    ['bandasjister', '/v1/bandasjister', (c) => c.bandasjister(), 2],
  ])('%s GETs %s', async (name, path, call, count) => {
    const file = {
      nlkkoder: 'nlkkoder-po.json',
      fagomraader: 'fagomraader.json',
      refusjonskategorisatser: 'refusjonskategorisatser-po.json',
      apatkombinasjoner: 'apatkombinasjoner-po.json',
      bandasjister: 'bandasjister.json',
    }[name]!;
    pool().intercept({ path, method: 'GET' }).reply(200, fixture(file), { headers: JSON_HEADERS });
    expect(await call(client())).toHaveLength(count);
  });

  test('a malformed payload fails with the URL in the error (for logs) but not in the message', async () => {
    pool()
      .intercept({ path: '/v1/takstkoder?takstkode=2ad' })
      .reply(200, { takstkoder: [{ takstkode: '2ad', fagomraade: 'LE', honorar: 'mye' }] }, { headers: JSON_HEADERS });
    const err = await client()
      .takstkoder({ takstkode: '2ad' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).code).toBe('UPSTREAM_BAD_RESPONSE');
    expect((err as UpstreamError).url).toBe(`${HELSEREFUSJON_BASE_URL}/v1/takstkoder?takstkode=2ad`);
    expect((err as UpstreamError).message).not.toContain('opne-data-api');
  });

  test('a 503 then a 200 is retried through the shared helper', async () => {
    pool().intercept({ path: '/v1/fagomraader' }).reply(503, '');
    pool().intercept({ path: '/v1/fagomraader' }).reply(200, fixture('fagomraader.json'), { headers: JSON_HEADERS });
    expect(await client().fagomraader()).toHaveLength(3);
  });

  test('another base URL (the old root, a proxy) can be given', async () => {
    const other = createHelserefusjonClient({ dispatcher: agent, baseUrl: 'https://proxy.test/helfo/' });
    agent
      .get('https://proxy.test')
      .intercept({ path: '/helfo/v1/bandasjister' })
      .reply(200, [], { headers: JSON_HEADERS });
    expect(await other.bandasjister()).toEqual([]);
  });
});
