import type { ValueSet } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import {
  chooseDisplay,
  languageMatchQuality,
  parseLanguagePreferences,
  resolveDisplayLanguage,
} from '../../src/terminology/language.ts';

describe('parseLanguagePreferences', () => {
  test.each<[string | undefined, [string, number][]]>([
    [undefined, []],
    ['', []],
    ['de', [['de', 1]]],
    [
      'en, *; q=0',
      [
        ['en', 1],
        ['*', 0],
      ],
    ],
    [
      'da, en-GB;q=0.8, en;q=0.7',
      [
        ['da', 1],
        ['en-gb', 0.8],
        ['en', 0.7],
      ],
    ],
    [
      'fr;q=0.5,nb',
      [
        ['nb', 1],
        ['fr', 0.5],
      ],
    ],
  ])('%s', (value, expected) => {
    expect(parseLanguagePreferences(value).map((p) => [p.range, p.q])).toEqual(expected);
  });
});

test.each<[string, string | undefined, number]>([
  ['de', 'de', 3],
  ['de', 'DE', 3],
  ['de', 'de-CH', 2],
  ['de-DE', 'de', 1],
  ['de', 'en', 0],
  ['de', undefined, 0],
  ['*', 'en', 1],
])('languageMatchQuality(%s, %s) = %d', (range, tag, q) => {
  expect(languageMatchQuality(range, tag)).toBe(q);
});

describe('chooseDisplay', () => {
  const candidates = [
    { value: 'Birne', language: 'de-CH' },
    { value: 'Pera', language: 'es' },
  ];
  test.each<[string, string, number | 'default' | 'none']>([
    ['no preference', '', 'default'],
    ['the code system language', 'en', 'default'],
    ['a designation by language prefix', 'de', 0],
    ['the first acceptable language wins', 'fr, es, de', 1],
    ['quality order, not list order', 'de;q=0.4, es', 1],
    ['no match falls back', 'fr', 'default'],
    ['no match with *;q=0', 'fr, *;q=0', 'none'],
    ['* takes the display', 'fr, *', 'default'],
  ])('%s', (_name, prefs, expected) => {
    expect(chooseDisplay(parseLanguagePreferences(prefs), 'en', true, candidates)).toBe(expected);
  });
});

describe('resolveDisplayLanguage', () => {
  const withExt: ValueSet = {
    resourceType: 'ValueSet',
    status: 'active',
    language: 'nb',
    compose: {
      extension: [
        {
          url: 'http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter',
          extension: [
            { url: 'name', valueCode: 'displayLanguage' },
            { url: 'value', valueCode: 'de' },
          ],
        },
      ],
      include: [],
    },
  };
  const plain: ValueSet = { resourceType: 'ValueSet', status: 'active', language: 'nb' };
  test.each<[string, string | undefined, ValueSet, string | undefined, string | undefined]>([
    ['parameter first', 'fr', withExt, 'es', 'fr'],
    ['then the value set extension', undefined, withExt, 'es', 'de'],
    ['then Accept-Language', undefined, plain, 'es', 'es'],
    ['then ValueSet.language', undefined, plain, undefined, 'nb'],
    ['Accept-Language * is no preference', undefined, plain, '*', 'nb'],
  ])('%s', (_name, param, vs, header, expected) => {
    expect(resolveDisplayLanguage(param, vs, header)).toBe(expected);
  });
});
