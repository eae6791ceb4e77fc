import { describe, expect, test } from 'vitest';
import {
  FieldReader,
  readCode,
  readDate,
  readDecimal,
  readFlag,
  readInteger,
  readText,
  readTextOrFlag,
  ValueError,
} from '../../src/upstream/values.ts';

describe('readDecimal', () => {
  test.each<[unknown, number | null]>([
    [80, 80],
    [175.5, 175.5],
    ['80', 80],
    ['80.00', 80],
    ['61,00', 61],
    [' 112,50 ', 112.5],
    ['1 234,50', 1234.5],
    ['1\u00a0234', 1234],
    ['-5', -5],
    [null, null],
    [undefined, null],
    ['', null],
    ['  ', null],
  ])('%j → %j', (input, expected) => {
    expect(readDecimal(input, 'x')).toBe(expected);
  });

  test.each<[unknown, string]>([
    ['abc', 'x: expected a number, got "abc"'],
    ['1.234,50', 'x: expected a number, got "1.234,50"'],
    [true, 'x: expected a number, got true'],
    [{}, 'x: expected a number, got an object'],
    [[1], 'x: expected a number, got an array'],
    [Number.NaN, 'x: expected a number, got NaN'],
  ])('%j is refused', (input, message) => {
    expect(() => readDecimal(input, 'x')).toThrow(new ValueError('x', message.slice(3)));
  });
});

describe('readInteger', () => {
  test.each<[unknown, number | null]>([
    [3, 3],
    ['3', 3],
    ['3.0', 3],
    [null, null],
  ])('%j → %j', (input, expected) => {
    expect(readInteger(input, 'n')).toBe(expected);
  });

  test('a fraction is refused', () => {
    expect(() => readInteger('7,5', 'n')).toThrow('n: expected a whole number, got "7,5"');
  });
});

describe('readFlag', () => {
  test.each<[unknown, boolean | null]>([
    [true, true],
    [false, false],
    [1, true],
    [0, false],
    ['J', true],
    ['n', false],
    ['Ja', true],
    ['NEI', false],
    ['true', true],
    ['False', false],
    ['Y', true],
    ['', null],
    [null, null],
  ])('%j → %j', (input, expected) => {
    expect(readFlag(input, 'f')).toBe(expected);
  });

  test.each([['kanskje'], [2]])('%j is refused', (input) => {
    expect(() => readFlag(input, 'f')).toThrow(ValueError);
  });
});

describe('readText / readCode / readTextOrFlag', () => {
  test('text is kept verbatim, spaces and line breaks included', () => {
    expect(readText(' Konsultasjon\nhos lege ', 't')).toBe(' Konsultasjon\nhos lege ');
  });
  test('numbers become text; blank becomes null', () => {
    expect(readText(90001, 't')).toBe('90001');
    expect(readText('   ', 't')).toBeNull();
  });
  test('objects are refused', () => {
    expect(() => readText({ a: 1 }, 't')).toThrow('t: expected text, got an object');
  });
  test('codes are trimmed', () => {
    expect(readCode(' 2ad ', 'c')).toBe('2ad');
  });
  test('flag-or-text keeps both forms', () => {
    expect(readTextOrFlag(true, 'k')).toBe('true');
    expect(readTextOrFlag('J', 'k')).toBe('J');
    expect(readTextOrFlag('2ad eller 2ak', 'k')).toBe('2ad eller 2ak');
  });
});

describe('readDate', () => {
  test.each<[unknown, string | null]>([
    ['2023-07-01', '2023-07-01'],
    ['2023-07-01T00:00:00', '2023-07-01T00:00:00'],
    ['2013-01-25 00:00:00', '2013-01-25T00:00:00'],
    ['2020-02-29 23:59', '2020-02-29T23:59:00'],
    ['2024-06-30T23:59:59.999', '2024-06-30T23:59:59.999'],
    ['2024-06-30T12:00:00Z', '2024-06-30T12:00:00Z'],
    ['2024-06-30T12:00:00+0200', '2024-06-30T12:00:00+02:00'],
    ['2024-06-30T12:00:00+02:00', '2024-06-30T12:00:00+02:00'],
    ['01.02.2021', '2021-02-01'],
    [[2023, 7, 1], '2023-07-01'],
    [[2023, 7, 1, 8, 30], '2023-07-01T08:30:00'],
    // 2023-06-30T22:00:00Z is midnight in Oslo (summer time)
    [Date.parse('2023-06-30T22:00:00Z'), '2023-07-01T00:00:00'],
    [null, null],
    ['', null],
  ])('%j → %j', (input, expected) => {
    expect(readDate(input, 'd')).toBe(expected);
  });

  test.each<[unknown, string]>([
    ['2023-02-30', 'd: not a valid date: "2023-02-30"'],
    ['2023-13-01', 'd: not a valid date: "2023-13-01"'],
    ['2023-07-01T25:00', 'd: not a valid time: "2023-07-01T25:00"'],
    ['1. juli 2023', 'd: expected a date, got "1. juli 2023"'],
    [20230701, 'd: expected a date, got 20230701'],
  ])('%j is refused', (input, message) => {
    expect(() => readDate(input, 'd')).toThrow(message);
  });
});

describe('FieldReader', () => {
  test('finds a field by its name, or one differing in case and underscores', () => {
    const r = new FieldReader({ nlk_kode: 'NPU03230', ErstattesAv: 'X', takstkode: '1ad' }, 'row');
    expect(r.code('nlkKode')).toBe('NPU03230');
    expect(r.code('erstattesAv')).toBe('X');
    expect(r.code('takstkode')).toBe('1ad');
    expect(r.code('missing')).toBeNull();
  });

  test('requiredCode names the missing field', () => {
    expect(() => new FieldReader({}, 'takstkoder[2]').requiredCode('takstkode')).toThrow(
      'takstkoder[2].takstkode: missing',
    );
  });

  test('a non-object row is refused', () => {
    expect(() => new FieldReader('x', 'rows[0]')).toThrow('rows[0]: expected an object, got "x"');
  });
});
