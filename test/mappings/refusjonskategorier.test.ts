import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { toCodeSystemsRefusjonskategorier } from '../../mappings/refusjonskategorier.ts';
import { helserefusjonApiSource } from '../../mappings/systems.ts';
import { parseRefusjonskategorisatser } from '../../src/upstream/helserefusjon.ts';
import { expectValidFhir } from '../support/fhir.ts';

const URL_PO = 'https://no-fhir-facade.example/fhir/CodeSystem/refusjonskategorier-po';
const rows = parseRefusjonskategorisatser(
  JSON.parse(
    readFileSync(join(import.meta.dirname, '../fixtures/helserefusjon/refusjonskategorisatser-po.json'), 'utf8'),
  ),
);
const res = toCodeSystemsRefusjonskategorier(rows, {
  samhandlertype: 'PO',
  source: helserefusjonApiSource('2026-11-22'),
  content: 'complete',
});

describe('toCodeSystemsRefusjonskategorier', () => {
  test('one version per rate period, the newest with the plain id', () => {
    expect(res.codeSystems.map((cs) => [cs.id, cs.url, cs.version, cs.extension?.[0]?.valuePeriod, cs.count])).toEqual([
      ['refusjonskategorier-po-2024-01-01', URL_PO, '2024-01-01', { start: '2024-01-01', end: '2024-12-31' }, 2],
      ['refusjonskategorier-po', URL_PO, '2025-01-01', { start: '2025-01-01' }, 2],
    ]);
    expect(res.warnings).toEqual([]);
  });

  test('the rate of each period as a decimal property', () => {
    const rate = (i: number, code: string) =>
      res.codeSystems[i].concept?.find((c) => c.code === code)?.property?.find((p) => p.code === 'refusjonssats')
        ?.valueDecimal;
    expect([rate(0, '1'), rate(1, '1'), rate(0, '3'), rate(1, '3')]).toEqual([27, 28, 112.5, 112.5]);
    expect(res.codeSystems[1].concept?.find((c) => c.code === '1')).toEqual({
      code: '1',
      property: [
        { code: 'refusjonskategoriid', valueString: '12' },
        { code: 'refusjonssats', valueDecimal: 28 },
        { code: 'fradato', valueDateTime: '2025-01-01' },
      ],
    });
  });

  test('titles name the samhandlertype', () => {
    expect(res.codeSystems[1].title).toBe('Refusjonskategorier for samhandlertype PO (Poliklinikk), 2025-01-01 –');
  });

  test('valid FHIR R4', () => {
    for (const r of [...res.codeSystems, ...res.valueSets]) expectValidFhir(r);
  });
});
