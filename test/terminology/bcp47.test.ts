import type { CodeSystem, OperationOutcome, Parameters, TerminologyCapabilities, ValueSet } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OffloadPool } from '../../src/http/offload.ts';
import { BCP47_URL, parseTag, subtagRegistry } from '../../src/terminology/bcp47.ts';
import { fixedSource } from '../../src/terminology-sources.ts';
import { fetchFhir, postJson, startTestServer, type TestServer, testStore } from '../support/fhir.ts';
import { propertyRuns } from '../support/property.ts';

/**
 * Language tags (urn:ietf:bcp:47, RFC 5646) answered by their grammar and the IANA Language Subtag
 * Registry (bcp47.ts): the parser on its own, then every operation over HTTP, in the event loop and
 * in a worker thread.
 */

function ok(tag: string) {
  const parsed = parseTag(tag);
  if (!parsed.ok) throw new Error(`${tag}: ${parsed.reason}`);
  return parsed;
}

describe('parseTag', () => {
  test.each([
    ['nb', 'nb', 'Norwegian Bokmål'],
    ['no-NO', 'no-NO', 'Norwegian (Norway)'],
    ['en-us', 'en-US', 'English (United States)'],
    ['ZH-hant-tw', 'zh-Hant-TW', 'Chinese (Han (Traditional variant), Taiwan, Province of China)'],
    ['sr-Latn-RS', 'sr-Latn-RS', 'Serbian (Latin, Serbia)'],
    ['de-CH-1996', 'de-CH-1996', 'German (Switzerland, German orthography of 1996)'],
    ['es-419', 'es-419', 'Spanish (Latin America and the Caribbean)'],
    ['zh-yue', 'zh-yue', 'Yue Chinese'],
    ['en-US-u-ca-gregory', 'en-US-u-ca-gregory', 'English (United States)'],
    ['en-x-Local', 'en-x-local', 'English'],
    ['x-whatever', 'x-whatever', 'Private use'],
    ['qaa', 'qaa', 'Private use'],
    ['i-klingon', 'i-klingon', 'Klingon'],
    ['EN-gb-OED', 'en-GB-oed', 'English, Oxford English Dictionary spelling'],
  ])('%s is valid: %s, "%s"', (tag, code, display) => {
    const parsed = ok(tag);
    expect(parsed.code).toBe(code);
    expect(parsed.display).toBe(display);
  });

  test.each([
    ['', 'subtags are 1 to 8'],
    ['en-', 'subtags are 1 to 8'],
    ['en--US', 'subtags are 1 to 8'],
    ['english', "the language subtag 'english' is not registered"],
    ['xx', "the language subtag 'xx' is not registered"],
    ['en-ZZZ', "the extended language subtag 'zzz' is not registered"],
    ['en-yue', "the extended language subtag 'yue' follows 'zh' only"],
    ['en-Qqqq', "the script subtag 'qqqq' is not registered"],
    ['en-QQ-x', "a private use part needs a subtag after 'x'"],
    ['de-1996-1996', "the variant subtag '1996' is repeated"],
    ['en-a-bbb-a-ccc', "the extension 'a' is repeated"],
    ['en-a', "the extension 'a' has no subtag"],
    ['en-US-Latn', "the subtag 'latn' is not allowed where it stands"],
    ['en_US', 'subtags are 1 to 8'],
    ['x', "a private use tag needs a subtag after 'x'"],
  ])('%j is not valid: %s', (tag, reason) => {
    const parsed = parseTag(tag);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toContain(reason);
  });

  test('a deprecated subtag or grandfathered tag is still valid, marked deprecated', () => {
    expect(ok('iw').deprecated).toBe(true);
    expect(ok('iw').display).toBe('Hebrew');
    expect(ok('i-klingon').deprecated).toBe(true);
    expect(ok('he').deprecated).toBe(false);
  });

  test('the other descriptions of a language are synonyms; a qualified tag has none', () => {
    expect(ok('es').synonyms).toEqual(['Castilian']);
    expect(ok('es-ES').synonyms).toEqual([]);
  });

  test('properties name every part', () => {
    expect(ok('zh-yue-Hant-HK-u-nu-hanidec-x-a1').properties).toEqual([
      { code: 'language', valueCode: 'zh' },
      { code: 'ext-lang', valueCode: 'yue' },
      { code: 'script', valueCode: 'Hant' },
      { code: 'region', valueCode: 'HK' },
      { code: 'extension', valueCode: 'u-nu-hanidec' },
      { code: 'private-use', valueCode: 'a1' },
    ]);
  });

  test('for any string: no throw; a valid tag is its canonical code in any case, and that code parses to itself', () => {
    const reg = subtagRegistry();
    const languages = [...reg.subtags.language.keys()].slice(0, 400);
    const regions = [...reg.subtags.region.keys()];
    const scripts = [...reg.subtags.script.keys()];
    const piece = fc.oneof(
      fc.constantFrom(...languages),
      fc.constantFrom(...regions),
      fc.constantFrom(...scripts),
      fc.constantFrom('x', 'u', 'a', '1996', 'fonipa', 'ca', 'gregory', ''),
      fc.stringMatching(/^[A-Za-z0-9]{1,9}$/),
    );
    const tag = fc.oneof(
      fc.array(piece, { minLength: 1, maxLength: 6 }).map((p) => p.join('-')),
      fc.string(),
    );
    fc.assert(
      fc.property(tag, fc.boolean(), (t, upper) => {
        const parsed = parseTag(t);
        if (!parsed.ok) return;
        const again = parseTag(upper ? t.toUpperCase() : t.toLowerCase());
        expect(again.ok && again.code).toBe(parsed.code);
        const canonical = parseTag(parsed.code);
        expect(canonical.ok && canonical.code).toBe(parsed.code);
      }),
      propertyRuns(400),
    );
  });
});

function params(p: Parameters): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const x of p.parameter ?? []) {
    const value = Object.entries(x).find(([k]) => k.startsWith('value') || k === 'resource')?.[1];
    out[x.name as string] = value;
  }
  return out;
}

function issues(p: Parameters): { severity: string; text: string | undefined }[] {
  const oo = p.parameter?.find((x) => x.name === 'issues')?.resource as OperationOutcome | undefined;
  return (oo?.issue ?? []).map((i) => ({ severity: i.severity, text: i.details?.text }));
}

const q = (s: Record<string, string>) => new URLSearchParams(s).toString();

describe('urn:ietf:bcp:47 over HTTP', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer();
  });
  afterAll(async () => {
    await srv?.close();
  });

  const validate = async (code: string, extra: Record<string, string> = {}) => {
    const res = await fetchFhir<Parameters>(
      `${srv.baseUrl}/CodeSystem/$validate-code?${q({ system: BCP47_URL, code, ...extra })}`,
    );
    expect(res.status).toBe(200);
    return res.body;
  };

  test('a registered tag is valid, with the display made from the registry and its version', async () => {
    const p = params(await validate('nb'));
    expect(p).toMatchObject({
      result: true,
      code: 'nb',
      system: BCP47_URL,
      display: 'Norwegian Bokmål',
      version: subtagRegistry().fileDate,
    });
  });

  test('case is not significant: the canonical form is the normalized code, with an information issue', async () => {
    const body = await validate('en-us');
    expect(params(body)).toMatchObject({
      result: true,
      'normalized-code': 'en-US',
      display: 'English (United States)',
    });
    expect(issues(body)).toEqual([{ severity: 'information', text: expect.stringContaining("'en-US' by case") }]);
  });

  test('an unregistered subtag is an unknown code, not an unknown system', async () => {
    const body = await validate('en-QQQ');
    const p = params(body);
    expect(p.result).toBe(false);
    expect(p['x-caused-by-unknown-system']).toBeUndefined();
    expect(p.message).toContain("Unknown code 'en-QQQ'");
  });

  test('a deprecated tag is valid with a warning and status deprecated', async () => {
    const body = await validate('iw');
    expect(params(body)).toMatchObject({ result: true, display: 'Hebrew', status: 'deprecated' });
    expect(issues(body).map((i) => i.severity)).toEqual(['warning']);
  });

  test('the display is checked: another description of the language is valid, a made-up one is not', async () => {
    expect(params(await validate('es', { display: 'Castilian' })).result).toBe(true);
    const wrong = params(await validate('en-US', { display: 'English (America)' }));
    expect(wrong.result).toBe(false);
    expect(wrong.message).toContain("Valid display is 'English (United States)'");
  });

  test('$lookup gives the parts as properties', async () => {
    const res = await fetchFhir<Parameters>(
      `${srv.baseUrl}/CodeSystem/$lookup?${q({ system: BCP47_URL, code: 'sr-Latn-RS', property: '*' })}`,
    );
    expect(res.status).toBe(200);
    const props = (res.body.parameter ?? [])
      .filter((x) => x.name === 'property')
      .map((x) => [x.part?.[0]?.valueCode, x.part?.[1]?.valueCode]);
    expect(props).toEqual(
      expect.arrayContaining([
        ['language', 'sr'],
        ['script', 'Latn'],
        ['region', 'RS'],
      ]),
    );
    expect(params(res.body)).toMatchObject({ code: 'sr-Latn-RS', display: 'Serbian (Latin, Serbia)' });
  });

  test('the value sets of the core: an enumerated one expands and validates, one of the whole system validates', async () => {
    const exp = await fetchFhir<ValueSet>(
      `${srv.baseUrl}/ValueSet/$expand?${q({ url: 'http://hl7.org/fhir/ValueSet/languages' })}`,
    );
    expect(exp.status).toBe(200);
    expect(exp.body.expansion?.total).toBe(56);
    expect(exp.body.expansion?.parameter).toContainEqual({
      name: 'used-codesystem',
      valueUri: `${BCP47_URL}|${subtagRegistry().fileDate}`,
    });
    const inList = async (url: string, code: string) =>
      params(
        (await fetchFhir<Parameters>(`${srv.baseUrl}/ValueSet/$validate-code?${q({ url, system: BCP47_URL, code })}`))
          .body,
      ).result;
    expect(await inList('http://hl7.org/fhir/ValueSet/languages', 'no-NO')).toBe(true);
    expect(await inList('http://hl7.org/fhir/ValueSet/languages', 'nb')).toBe(false);
    expect(await inList('http://hl7.org/fhir/ValueSet/all-languages', 'nb')).toBe(true);
    expect(await inList('http://hl7.org/fhir/ValueSet/all-languages', 'nb-NO-x-epj')).toBe(true);
    // XA..XZ are private use regions
    expect(await inList('http://hl7.org/fhir/ValueSet/all-languages', 'nb-XX')).toBe(true);
    expect(await inList('http://hl7.org/fhir/ValueSet/all-languages', 'nb-YY')).toBe(false);
  });

  test('a value set with the whole system, or a filter on it, is not expanded: 422 too-costly', async () => {
    const all = await fetchFhir<OperationOutcome>(
      `${srv.baseUrl}/ValueSet/$expand?${q({ url: 'http://hl7.org/fhir/ValueSet/all-languages' })}`,
    );
    expect(all.status).toBe(422);
    expect(all.body.issue?.[0]).toMatchObject({ code: 'too-costly' });
    expect(all.body.issue?.[0]?.details?.text).toContain('defined by a grammar');
    const filtered: ValueSet = {
      resourceType: 'ValueSet',
      status: 'active',
      compose: { include: [{ system: BCP47_URL, filter: [{ property: 'region', op: 'exists', value: 'true' }] }] },
    };
    const res = await fetchFhir(
      `${srv.baseUrl}/ValueSet/$expand`,
      postJson({ resourceType: 'Parameters', parameter: [{ name: 'valueSet', resource: filtered }] }),
    );
    expect(res.status).toBe(422);
  });

  test('a filter decides membership when validating', async () => {
    const withRegion: ValueSet = {
      resourceType: 'ValueSet',
      url: 'http://example.org/fhir/ValueSet/regional-languages',
      status: 'active',
      compose: { include: [{ system: BCP47_URL, filter: [{ property: 'region', op: 'exists', value: 'true' }] }] },
    };
    const check = async (code: string) => {
      const res = await fetchFhir<Parameters>(
        `${srv.baseUrl}/ValueSet/$validate-code`,
        postJson({
          resourceType: 'Parameters',
          parameter: [
            { name: 'valueSet', resource: withRegion },
            { name: 'coding', valueCoding: { system: BCP47_URL, code } },
          ],
        }),
      );
      expect(res.status).toBe(200);
      return params(res.body).result;
    };
    expect(await check('nb-NO')).toBe(true);
    expect(await check('nb')).toBe(false);
  });

  test('the CodeSystem is listed in TerminologyCapabilities and read with its source and licence', async () => {
    const caps = await fetchFhir<TerminologyCapabilities>(`${srv.baseUrl}/metadata?mode=terminology`);
    expect(caps.body.codeSystem?.find((c) => c.uri === BCP47_URL)?.version?.[0]?.code).toBe(subtagRegistry().fileDate);
    const found = await fetchFhir(`${srv.baseUrl}/CodeSystem?${q({ url: BCP47_URL })}`);
    const cs = (found.body as { entry?: { resource: CodeSystem }[] }).entry?.[0]?.resource;
    expect(cs).toMatchObject({ content: 'not-present', caseSensitive: false, version: subtagRegistry().fileDate });
    expect(cs?.meta?.source).toContain('language-subtag-registry');
    expect(JSON.stringify(cs?.meta?.extension)).toContain('CC0-1.0');
  });
});

describe('urn:ietf:bcp:47 in a worker thread', () => {
  let pool: OffloadPool;
  let srv: TestServer;
  beforeAll(async () => {
    pool = new OffloadPool({ size: 1, source: fixedSource(testStore()) });
    await pool.start();
    // a 1 ms slice on the event loop: nearly every operation moves to the worker
    srv = await startTestServer({ offload: pool, config: { operationInlineMs: 1, responseCacheEntries: 0 } });
  }, 60_000);
  afterAll(async () => {
    await srv?.close();
    await pool?.close();
  });

  test('the worker answers by the grammar too', async () => {
    // a request big enough to leave the event loop: many codings in one $batch-validate-code
    const tags = ['nb', 'en-us', 'xx', 'i-klingon', 'zh-Hant-TW', ...Array.from({ length: 400 }, () => 'nn-NO')];
    const res = await fetchFhir<Parameters>(
      `${srv.baseUrl}/CodeSystem/$batch-validate-code`,
      postJson({
        resourceType: 'Parameters',
        parameter: tags.map((code) => ({
          name: 'validation',
          resource: {
            resourceType: 'Parameters',
            parameter: [{ name: 'coding', valueCoding: { system: BCP47_URL, code } }],
          },
        })),
      }),
    );
    expect(res.status).toBe(200);
    const results = (res.body.parameter ?? []).map((v) => params(v.resource as Parameters));
    expect(results.slice(0, 5).map((r) => [r.result, r.display])).toEqual([
      [true, 'Norwegian Bokmål'],
      [true, 'English (United States)'],
      [false, undefined],
      [true, 'Klingon'],
      [true, 'Chinese (Han (Traditional variant), Taiwan, Province of China)'],
    ]);
    expect(pool.stats.run).toBeGreaterThan(0);
  });

  test('an expansion of the whole system is the same 422 on a server with worker threads', async () => {
    const res = await fetchFhir<OperationOutcome>(
      `${srv.baseUrl}/ValueSet/$expand?${q({ url: 'http://hl7.org/fhir/ValueSet/all-languages' })}`,
    );
    expect(res.status).toBe(422);
    expect(res.body.issue?.[0]).toMatchObject({ code: 'too-costly' });
    expect(res.body.issue?.[0]?.details?.text).toContain('BCP 47 language tags');
  });
});
