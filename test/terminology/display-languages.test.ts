import type {
  CodeSystem,
  CodeSystemConceptDesignation,
  OperationOutcome,
  Parameters,
  ValueSet,
} from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TxContext } from '../../src/terminology/context.ts';
import { isLanguageList } from '../../src/terminology/language.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { validateCodeInValueSet } from '../../src/terminology/validate.ts';
import { fetchFhir, postJson, startTestServer, type TestServer } from '../support/fhir.ts';

/**
 * Displays and the languages they are valid in ($validate-code), as the tx-ecosystem IG's
 * languages page and the HL7 display tests have them: a code system of no stated language has
 * displays valid in any language asked for; a code system in English with German designations
 * has its displays in those two languages; a designation whose use is not a display is no display.
 */

const BASE = 'http://example.org/fhir/CodeSystem/lang-';

function codeSystem(
  name: string,
  language: string | undefined,
  designation?: CodeSystemConceptDesignation,
): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    url: `${BASE}${name}`,
    status: 'active',
    content: 'complete',
    caseSensitive: true,
    ...(language ? { language } : {}),
    concept: [{ code: 'code1', display: 'Code1', ...(designation ? { designation: [designation] } : {}) }],
  };
}

const SYSTEMS = [
  codeSystem('none', undefined),
  codeSystem('en', 'en'),
  codeSystem('ende', 'en', { language: 'de', value: 'Anzeige1' }),
  codeSystem('ende-n', 'en', { language: 'de', value: 'Anzeige1', use: { code: 'abbreviation' } }),
];

const valueSetOf = (name: string): ValueSet => ({
  resourceType: 'ValueSet',
  url: `http://example.org/fhir/ValueSet/lang-${name}`,
  status: 'active',
  compose: { include: [{ system: `${BASE}${name}` }] },
});

function check(name: string, display: string, displayLanguage?: string) {
  const store = new TerminologyStore();
  for (const cs of SYSTEMS) store.add(cs);
  const vs = valueSetOf(name);
  store.add(vs);
  const r = validateCodeInValueSet(
    new TxContext(store),
    vs,
    { mode: 'coding', codings: [{ system: `${BASE}${name}`, code: 'code1', display }] },
    displayLanguage ? { displayLanguage } : {},
  );
  return {
    result: r.result,
    display: r.display,
    issues: r.issues.map((i) => [i.severity, i.extension?.[0]?.valueString, i.details?.text]),
  };
}

describe('display languages in $validate-code', () => {
  test('a code system of no stated language: its display is valid in any language asked for', () => {
    expect(check('none', 'Code1', 'de')).toEqual({ result: true, display: 'Code1', issues: [] });
    expect(check('none', 'XCode1', 'de').issues).toEqual([
      [
        'error',
        'Display_Name_for__should_be_one_of__instead_of',
        `Wrong Display Name 'XCode1' for ${BASE}none#code1. Valid display is 'Code1' (for the language(s) 'de')`,
      ],
    ]);
  });

  test("no display in the language asked for: the code system's own display is information, another is an error", () => {
    expect(check('en', 'Code1', 'de').issues).toEqual([
      [
        'information',
        'NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_OK',
        `There are no valid display names found for the code ${BASE}en#code1 for language(s) 'de'. The display is 'Code1' which is the default language display`,
      ],
    ]);
    expect(check('en', 'XCode1', 'de').issues).toEqual([
      [
        'error',
        'NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_ERR',
        `Wrong Display Name 'XCode1' for ${BASE}en#code1. There are no valid display names found for language(s) 'de'. Default display is 'Code1'`,
      ],
    ]);
  });

  test('designations in the language asked for are its displays; with none asked for, every display counts', () => {
    expect(check('ende', 'Anzeige1', 'de')).toEqual({ result: true, display: 'Anzeige1', issues: [] });
    expect(check('ende', 'XCode1', 'de').issues[0]?.[2]).toBe(
      `Wrong Display Name 'XCode1' for ${BASE}ende#code1. Valid display is 'Anzeige1' (de) (for the language(s) 'de')`,
    );
    expect(check('ende', 'XCode1').issues[0]?.[2]).toBe(
      `Wrong Display Name 'XCode1' for ${BASE}ende#code1. Valid display is one of 2 choices: 'Code1' (en) or 'Anzeige1' (de) (for the language(s) '--')`,
    );
  });

  test('a designation whose use is not a display is no display, in its language or any other', () => {
    expect(check('ende-n', 'Anzeige1', 'de').result).toBe(false);
    expect(check('ende-n', 'XCode1').issues[0]?.[2]).toBe(
      `Wrong Display Name 'XCode1' for ${BASE}ende-n#code1. Valid display is 'Code1' (en) (for the language(s) '--')`,
    );
  });
});

describe('language lists', () => {
  test.each([
    'de',
    'de-CH',
    'zh-Hant-TW',
    '*',
    'de,*',
    'de, *; q=0',
    'de;q=0.5, en',
    'en, en-AU; q=0.4',
    'fr;q=1.0',
    'x-private',
  ])('%s is a language list', (value) => {
    expect(isLanguageList(value)).toBe(true);
  });

  test.each(['-', '', 'de,', 'de;q=2', 'de;q=x', 'de;level=1', 'toolonglanguage', 'de_DE', 'de--CH', '* *'])(
    '%j is not a language list',
    (value) => {
      expect(isLanguageList(value)).toBe(false);
    },
  );
});

describe('a displayLanguage that is no language list is a 400 naming it', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  const GENDER_CS = 'http://hl7.org/fhir/administrative-gender';
  const GENDER_VS = 'http://hl7.org/fhir/ValueSet/administrative-gender';
  const coded = [
    { name: 'code', valueCode: 'male' },
    { name: 'system', valueUri: GENDER_CS },
  ];
  test.each([
    ['ValueSet/$validate-code', [{ name: 'url', valueUri: GENDER_VS }, ...coded]],
    [
      'CodeSystem/$validate-code',
      [
        { name: 'url', valueUri: GENDER_CS },
        { name: 'code', valueCode: 'male' },
      ],
    ],
    ['CodeSystem/$lookup', coded],
    ['ValueSet/$expand', [{ name: 'url', valueUri: GENDER_VS }]],
  ])('%s', async (path, first) => {
    const body: Parameters = {
      resourceType: 'Parameters',
      parameter: [...first, { name: 'displayLanguage', valueCode: '-' }],
    };
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}/${path}`, postJson(body));
    expect(res.status).toBe(400);
    expect(res.body.issue?.[0]).toMatchObject({
      severity: 'error',
      code: 'processing',
      details: { text: "Invalid displayLanguage: '-'" },
    });
    expect(res.body.issue?.[0]?.details?.coding?.[0]?.code).toBe('invalid-display');
  });
});
