import { describe, expect, test } from 'vitest';
import { addDays, slicePeriods, toFhirDateTime } from '../../mappings/common.ts';

describe('toFhirDateTime', () => {
  test.each<[string, string]>([
    ['2023-07-01', '2023-07-01'],
    // midnight and 23:59 only mark whole days
    ['2013-01-25T00:00:00', '2013-01-25'],
    ['2020-02-29T23:59:00', '2020-02-29'],
    ['2024-06-30T23:59:59', '2024-06-30'],
    // other local times get the Europe/Oslo offset of that instant
    ['2024-01-15T08:30:00', '2024-01-15T08:30:00+01:00'],
    ['2024-07-15T08:30:00', '2024-07-15T08:30:00+02:00'],
    ['2024-03-31T03:30:00', '2024-03-31T03:30:00+02:00'],
    ['2024-10-27T12:00:00.250', '2024-10-27T12:00:00.250+01:00'],
    // a zone is kept
    ['2024-06-30T12:00:00Z', '2024-06-30T12:00:00Z'],
    ['2024-06-30T12:00:00+02:00', '2024-06-30T12:00:00+02:00'],
  ])('%s → %s', (input, expected) => {
    expect(toFhirDateTime(input)).toBe(expected);
  });
});

describe('addDays', () => {
  test.each<[string, number, string]>([
    ['2024-02-28', 1, '2024-02-29'],
    ['2024-12-31', 1, '2025-01-01'],
    ['2024-07-01', -1, '2024-06-30'],
  ])('%s %+d → %s', (date, days, expected) => {
    expect(addDays(date, days)).toBe(expected);
  });
});

interface Row {
  id: string;
  from: string | null;
  to: string | null;
}
const r = (id: string, from: string | null, to: string | null): Row => ({ id, from, to });
const slice = (rows: Row[]) => {
  const s = slicePeriods(
    rows,
    (x) => x.from,
    (x) => x.to,
  );
  return {
    slices: s.slices.map((x) => ({ start: x.start, end: x.end, ids: x.rows.map((y) => y.id) })),
    undated: s.undated.map((x) => x.id),
    invalid: s.invalid.map((x) => x.id),
  };
};

describe('slicePeriods', () => {
  test('one slice per tariff year when every row changes on 1 July; gaps give no slice', () => {
    expect(
      slice([
        r('a19', '2019-07-01', '2020-06-30'),
        r('b19', '2019-07-01', '2020-06-30'),
        r('a21', '2021-07-01', '2022-06-30T23:59:00'),
        r('a23', '2023-07-01T00:00:00', null),
      ]),
    ).toEqual({
      slices: [
        { start: '2019-07-01', end: '2020-06-30', ids: ['a19', 'b19'] },
        { start: '2021-07-01', end: '2022-06-30', ids: ['a21'] },
        { start: '2023-07-01', end: undefined, ids: ['a23'] },
      ],
      undated: [],
      invalid: [],
    });
  });

  test('a row changing mid-period starts a new slice holding every row valid then', () => {
    expect(
      slice([
        r('a', '2023-07-01', '2024-06-30'),
        r('b1', '2023-07-01', '2023-12-31'),
        r('b2', '2024-01-01', '2024-06-30'),
      ]).slices,
    ).toEqual([
      { start: '2023-07-01', end: '2023-12-31', ids: ['a', 'b1'] },
      { start: '2024-01-01', end: '2024-06-30', ids: ['a', 'b2'] },
    ]);
  });

  test('rows without a start are undated; an end before the start is invalid', () => {
    expect(slice([r('u', null, null), r('v', null, '2020-01-01'), r('x', '2020-02-01', '2020-01-31')])).toEqual({
      slices: [],
      undated: ['u', 'v'],
      invalid: ['x'],
    });
  });

  test('a one-day row is valid', () => {
    expect(slice([r('d', '2024-05-17', '2024-05-17')]).slices).toEqual([
      { start: '2024-05-17', end: '2024-05-17', ids: ['d'] },
    ]);
  });
});
