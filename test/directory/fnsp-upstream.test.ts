import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { UpstreamError } from '../../src/upstream/errors.ts';
import { createFnspClient, type FnspClient } from '../../src/upstream/fnsp.ts';
import {
  parseDatasett,
  parseNettsteder,
  parseProsedyreForetak,
  parseProsedyrer,
  parseTilbud,
} from '../../src/upstream/fnsp-dto.ts';
import {
  FAKE_FNSP_KEY,
  FAKE_FNSP_KEY_HEADER,
  type FakeFnspServer,
  fnspFixture,
  startFakeFnsp,
} from '../fakes/fnsp-server.ts';

// The FNSP client and the tolerant DTO parsers (src/upstream/fnsp.ts, fnsp-dto.ts), through the
// fake FNSP server. The shapes are assumptions (see fnsp-dto.ts); these tests pin what is accepted.

let fake: FakeFnspServer;
let client: FnspClient;
const dispatcher = new Agent();

beforeAll(async () => {
  fake = await startFakeFnsp();
  client = createFnspClient({
    dispatcher,
    baseUrl: `${fake.baseUrl}/`,
    apiKey: FAKE_FNSP_KEY,
    apiKeyHeader: FAKE_FNSP_KEY_HEADER,
    retries: 0,
  });
});
afterEach(() => {
  fake.failAll(null);
});
afterAll(async () => {
  await fake.close();
  await dispatcher.close();
});

async function upstreamError(p: Promise<unknown>): Promise<UpstreamError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(UpstreamError);
    return err as UpstreamError;
  }
  throw new Error('expected an UpstreamError');
}

describe('FNSP client', () => {
  test('sends the API key in the configured header', async () => {
    await client.prosedyrer();
    expect(fake.requests.at(-1)).toEqual({
      method: 'GET',
      path: '/prosedyrer',
      rawPath: '/api/prosedyrer',
      authorized: true,
    });
  });

  test('/prosedyrer', async () => {
    const list = await client.prosedyrer();
    expect(list.map((p) => p.id)).toEqual(['koloskopi', 'hofteprotese', 'mr-hode']);
    expect(list[0]).toEqual({
      id: 'koloskopi',
      navn: 'Koloskopi',
      snomed: [{ kode: '73761001', tekst: 'Colonoscopy' }],
      htk: 'HTK-0001',
      url: null,
    });
    expect(list[1].snomed).toEqual([{ kode: '52734007', tekst: null }]);
    expect(list[2]).toMatchObject({ navn: 'MR av hodet', snomed: [{ kode: '241601008', tekst: null }] });
  });

  test('/prosedyrer/{behandling}: the trusts that offer it', async () => {
    const r = await client.prosedyreForetak('koloskopi');
    expect(r.prosedyre?.id).toBe('koloskopi');
    expect(r.foretak).toEqual([
      { navn: 'Eksempel Universitetssykehus HF', orgnr: '999100001', reshId: '4001', helseregion: null },
      { navn: 'Eksempel Sykehuset Vestby HF', orgnr: '999100002', reshId: null, helseregion: null },
      {
        navn: 'Eksempel Nordlandssykehus HF',
        orgnr: '999200001',
        reshId: null,
        helseregion: { navn: 'Eksempel Helse Nord RHF', orgnr: null, reshId: null },
      },
    ]);
  });

  test('/prosedyrer/{behandling}/{foretak}: the trust page', async () => {
    const t = await client.tilbud('koloskopi', '999100002');
    expect(t).toMatchObject({
      prosedyre: { id: 'koloskopi', snomed: [{ kode: '73761001' }] },
      foretak: { orgnr: '999100002', reshId: '4002' },
      tittel: 'Koloskopi',
      url: 'https://vestby.example/koloskopi',
      oppmotesteder: [
        {
          navn: 'Medisinsk poliklinikk',
          adresse: { adresselinjer: ['Storgata 5'], postnummer: '3000', poststed: 'DRAMMEN', kommune: null },
        },
      ],
    });
  });

  test('a trust that does not offer the procedure (404) is null', async () => {
    await expect(client.tilbud('koloskopi', '999999999')).resolves.toBeNull();
  });

  test('path segments are encoded', async () => {
    await client.tilbud('mr hode/ny', '999100002');
    expect(fake.requests.at(-1)?.rawPath).toBe('/api/prosedyrer/mr%20hode%2Fny/999100002');
  });

  test('the sites', async () => {
    const sites = await client.nettsteder();
    expect(sites).toHaveLength(5);
    expect(sites[0]).toEqual({
      navn: 'Eksempel Universitetssykehus HF',
      url: 'https://eksempel-universitetssykehus.example/',
      spraak: 'nb',
      helseregion: { navn: 'Eksempel Helse Sør RHF', orgnr: null, reshId: null },
      foretak: { navn: null, orgnr: '999100001', reshId: null, helseregion: expect.anything() },
    });
    expect(sites[3].spraak).toBe('nn');
    expect(sites[4].foretak).toBeNull();
  });

  test('the full dataset: one row per procedure and trust; a row without a trust id is a warning', async () => {
    const { value, warnings } = await client.datasett();
    expect(value.tilbud.map((t) => `${t.prosedyre.id}@${t.foretak.orgnr ?? `resh-${t.foretak.reshId}`}`)).toEqual([
      'koloskopi@999100001',
      'koloskopi@999100002',
      'koloskopi@999200001',
      'hofteprotese@999100001',
      'hofteprotese@999200001',
      'mr-hode@resh-4002',
    ]);
    expect(warnings).toEqual(['datasett[0].foretak[3].foretak.orgnr: missing (neither orgnr nor reshId); left out']);
    expect(value.generert).toBe('2026-02-01T03:00:00+01:00');
    expect(value.nettsteder).toBeNull();
  });

  test('a wrong key is UPSTREAM_UNAUTHORIZED, and the key is in no message', async () => {
    const wrong = createFnspClient({
      dispatcher,
      baseUrl: fake.baseUrl,
      apiKey: 'wrong-key',
      apiKeyHeader: FAKE_FNSP_KEY_HEADER,
      retries: 0,
    });
    const err = await upstreamError(wrong.prosedyrer());
    expect(err.code).toBe('UPSTREAM_UNAUTHORIZED');
    expect(err.message).toBe('Upstream fnsp refused our credentials (HTTP 401)');
    expect(JSON.stringify(err.toLogObject())).not.toContain('wrong-key');
  });

  test('HTML instead of JSON is UPSTREAM_BAD_RESPONSE', async () => {
    fake.failAll({ status: 200, body: '<html>vedlikehold</html>', contentType: 'text/html' });
    const err = await upstreamError(client.datasett());
    expect(err.code).toBe('UPSTREAM_BAD_RESPONSE');
    expect(err.reason).toBe('expected JSON, got text/html');
  });

  test('a 503 is UPSTREAM_UNAVAILABLE', async () => {
    fake.failAll({ status: 503 });
    expect((await upstreamError(client.nettsteder())).code).toBe('UPSTREAM_UNAVAILABLE');
  });
});

describe('FNSP parsers', () => {
  test('numbers lose no zeros: org.nr, postnummer and kommunenummer', () => {
    const { value } = parseDatasett(fnspFixture('datasett.json'));
    const first = value.tilbud[0];
    expect(first.foretak.orgnr).toBe('999100001');
    expect(first.foretak.helseregion).toEqual({ navn: 'Eksempel Helse Sør RHF', orgnr: '999100000', reshId: null });
    expect(first.oppmotesteder[0].adresse).toEqual({
      adresselinjer: ['Sykehusveien 1'],
      postnummer: '0150',
      poststed: 'OSLO',
      kommune: 'Oslo',
      kommunenummer: '0301',
    });
  });

  test('page parts: a list, or named fields (før/under/etter)', () => {
    const { value } = parseDatasett(fnspFixture('datasett.json'));
    expect(value.tilbud[0].tekster).toEqual([
      { type: 'foer', overskrift: 'Forberedelser', tekst: 'Tarmen må tømmes dagen før.\n\nDrikk rikelig.' },
      { type: 'under', overskrift: null, tekst: 'Undersøkelsen tar om lag 30 minutter.' },
      { type: 'etter', overskrift: 'Etter undersøkelsen', tekst: 'Du kan spise som vanlig.' },
    ]);
    expect(value.tilbud[1].tekster).toEqual([
      { type: 'foer', overskrift: null, tekst: 'Følg tømmingsanvisningen i innkallingen.' },
      { type: 'etter', overskrift: null, tekst: 'Du får svar av legen samme dag.' },
    ]);
  });

  test('a one-line address with the postal fields beside it', () => {
    const { value } = parseDatasett(fnspFixture('datasett.json'));
    expect(value.tilbud[1].oppmotesteder[0]).toEqual({
      id: null,
      navn: 'Medisinsk poliklinikk',
      beskrivelse: 'Meld deg i ekspedisjonen i 1. etasje.',
      adresse: {
        adresselinjer: ['Storgata 5'],
        postnummer: '3000',
        poststed: 'DRAMMEN',
        kommune: null,
        kommunenummer: null,
      },
      telefon: null,
      epost: null,
      reshId: null,
    });
  });

  test('the flat form: one row per procedure and trust, the trust as the row’s own fields', () => {
    const { value, warnings } = parseDatasett(fnspFixture('datasett-flat.json'));
    expect(warnings).toEqual([]);
    expect(value.tilbud).toHaveLength(2);
    expect(value.tilbud[0]).toMatchObject({
      prosedyre: { id: '17', navn: 'Gastroskopi', snomed: [] },
      foretak: { navn: 'Eksempel Sykehuset Vestby HF', orgnr: '999100002' },
      tittel: 'Gastroskopi',
      url: 'https://vestby.example/gastroskopi',
    });
    expect(value.tilbud[1]).toMatchObject({
      prosedyre: { id: 'koloskopi', snomed: [{ kode: '73761001', tekst: null }] },
      url: 'https://vestby.example/koloskopi',
      oppmotesteder: [
        {
          navn: 'Medisinsk poliklinikk',
          adresse: { adresselinjer: ['Storgata 5'], postnummer: '3000', poststed: 'DRAMMEN' },
        },
      ],
    });
  });

  test('an unreadable generation time is a warning, not a failure', () => {
    const { value, warnings } = parseDatasett({ ...(fnspFixture('datasett.json') as object), generert: 'i går' });
    expect(value.generert).toBeNull();
    expect(warnings).toContain('datasett.generert: expected a date, got "i går"; ignored');
  });

  test('the sites may come inside the download', () => {
    const { value } = parseDatasett({
      ...(fnspFixture('datasett.json') as object),
      ...(fnspFixture('nettsteder.json') as object),
    });
    expect(value.nettsteder).toHaveLength(5);
  });

  test.each<[string, () => unknown, string]>([
    ['a string body', () => parseDatasett('x'), 'datasett: expected a JSON object or array, got string'],
    ['no list', () => parseProsedyrer({ antall: 0 }), 'prosedyrer: no "prosedyrer" list in the response'],
    [
      'every row bad',
      () => parseDatasett([{ id: 'x', foretak: {} }]),
      'datasett: no usable row (datasett[0].foretak.orgnr: missing (neither orgnr nor reshId); left out)',
    ],
    ['a procedure without id', () => parseProsedyrer([{ navn: 'X' }]), 'prosedyrer[0].id: missing (behandlings-id)'],
    [
      'a letter in an org.nr',
      () => parseTilbud({ id: 'x', foretak: { orgnr: '99910000X' } }),
      'tilbud.foretak.orgnr: expected digits, got "99910000X"',
    ],
    ['a site without url', () => parseNettsteder([{ navn: 'X' }]), 'nettsteder[0].url: missing'],
    [
      'trusts not a list',
      () => parseProsedyreForetak({ id: 'x', foretak: 'alle' }),
      'prosedyre.foretak: expected a list of trusts',
    ],
  ])('%s is a bad response', (_name, fn, reason) => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(UpstreamError);
      expect((err as UpstreamError).code).toBe('UPSTREAM_BAD_RESPONSE');
      expect((err as UpstreamError).reason).toBe(reason);
      return;
    }
    throw new Error('expected UPSTREAM_BAD_RESPONSE');
  });
});
