import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { NlkReleaseError, parseCsv, parseNlkReleaseCsv } from '../../src/helserefusjon/nlk-release.ts';

const excerpt = () => readFileSync(join(import.meta.dirname, '../fixtures/helserefusjon/nlk-excerpt.csv'), 'utf8');

describe('parseCsv', () => {
  test.each<[string, string, string[][]]>([
    [
      'plain',
      'a,b\n1,2\n',
      [
        ['a', 'b'],
        ['1', '2'],
      ],
    ],
    ['quoted with comma, quote and line break', '"a,1","say ""hi""","x\ny"\n', [['a,1', 'say "hi"', 'x\ny']]],
    [
      'CRLF and no final line break',
      'a,b\r\n1,2',
      [
        ['a', 'b'],
        ['1', '2'],
      ],
    ],
    ['a BOM is dropped', '\ufeff"kode"\n"X"\n', [['kode'], ['X']]],
    ['empty fields', '"",,x\n', [['', '', 'x']]],
  ])('%s', (_name, text, records) => {
    expect(parseCsv(text)).toEqual(records);
  });

  test('an unterminated quote is an error', () => {
    expect(() => parseCsv('"abc\n')).toThrow(NlkReleaseError);
  });
});

describe('parseNlkReleaseCsv', () => {
  test('reads the release columns verbatim, dates normalised, empty cells null', () => {
    const rows = parseNlkReleaseCsv(excerpt());
    expect(rows).toHaveLength(8);
    expect(rows[0]).toEqual({
      kode: 'NOR05001',
      gyldig_fra: '2013-01-25T00:00:00',
      gyldig_til: '2020-02-29T23:59:00',
      erstattes_av: 'NPU29069',
      endringsdato: null,
      norsk_bruksnavn: 'P-ACE',
      kodedefinisjon: null,
      komponent: null,
      komponent_spesifikasjon: null,
      system: null,
      system_spesifikasjon: null,
      egenskapsart: null,
      egenskapsart_spesifikasjon: null,
      enhet: null,
      primært_fagområde: 'Medisinsk biokjemi',
      sekundært_fagområde: null,
      gruppering: null,
    });
    expect(rows[7].kodedefinisjon).toBe('Feces—Enterococcus(Linezolid resistant);  taxon(enriched medium; proc.) = ?');
  });

  test('the full release has 11 395 rows', () => {
    const text = readFileSync(join(import.meta.dirname, '../../data/helserefusjon/nlk/nlk-7280.77.csv'), 'utf8');
    const rows = parseNlkReleaseCsv(text);
    expect(rows).toHaveLength(11_395);
    expect(rows.filter((r) => r.kode?.startsWith('NPU'))).toHaveLength(9_741);
  });

  test.each<[string, string, string]>([
    ['an empty file', '', 'x.csv: empty file'],
    ['a missing column', '"kode","gyldig_fra"\n"A","2020-01-01"\n', 'x.csv: missing columns gyldig_til, erstattes_av'],
    ['a short line', `${excerpt().split('\n')[0]}\n"A","B"\n`, 'x.csv: line 2 has 2 fields, the header 17'],
    [
      'a bad date',
      excerpt().replace('"2013-01-25 00:00:00","2020-02-29 23:59:00"', '"2013-01-25 00:00:00","29.02.20"'),
      'x.csv line 2 gyldig_til: expected a date, got "29.02.20"',
    ],
  ])('%s is an error', (_name, text, message) => {
    expect(() => parseNlkReleaseCsv(text, 'x.csv')).toThrow(message);
  });
});
