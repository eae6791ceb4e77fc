import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { toConceptMapsApat } from '../../mappings/apat.ts';
import { helserefusjonApiSource } from '../../mappings/systems.ts';
import { type ApatkombinasjonDto, parseApatkombinasjoner } from '../../src/upstream/helserefusjon.ts';
import { expectValidFhir } from '../support/fhir.ts';

const BASE = 'https://no-fhir-facade.example/fhir';
const rows = parseApatkombinasjoner(
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/helserefusjon/apatkombinasjoner-po.json'), 'utf8')),
);
const source = helserefusjonApiSource('2026-11-22');

describe('toConceptMapsApat', () => {
  const res = toConceptMapsApat(rows, { samhandlertype: 'PO', source });

  test('one ConceptMap version per validity period', () => {
    expect(res.conceptMaps.map((cm) => [cm.id, cm.url, cm.version, cm.extension?.[0]?.valuePeriod])).toEqual([
      [
        'apatkombinasjoner-po-2024-01-01',
        `${BASE}/ConceptMap/apatkombinasjoner-po`,
        '2024-01-01',
        { start: '2024-01-01', end: '2024-12-31' },
      ],
      ['apatkombinasjoner-po', `${BASE}/ConceptMap/apatkombinasjoner-po`, '2025-01-01', { start: '2025-01-01' }],
    ]);
    expect(res.warnings).toEqual([]);
  });

  test('T-code → refusjonskategori, the P-code as dependsOn and the amount as product', () => {
    expect(res.conceptMaps[0].group).toEqual([
      {
        source: `${BASE}/CodeSystem/apat-t-kode`,
        target: `${BASE}/CodeSystem/refusjonskategorier-po`,
        element: [
          {
            code: 'T83000',
            target: [
              {
                code: 'A1',
                equivalence: 'wider',
                dependsOn: [
                  {
                    property: `${BASE}/CodeSystem/apat-p-kode`,
                    system: `${BASE}/CodeSystem/apat-p-kode`,
                    value: 'P30611',
                  },
                ],
                product: [{ property: `${BASE}/ConceptMap/apatkombinasjoner#belop`, value: '450' }],
              },
              {
                code: 'A2',
                equivalence: 'wider',
                dependsOn: [
                  {
                    property: `${BASE}/CodeSystem/apat-p-kode`,
                    system: `${BASE}/CodeSystem/apat-p-kode`,
                    value: 'P30612',
                  },
                ],
                product: [{ property: `${BASE}/ConceptMap/apatkombinasjoner#belop`, value: '900' }],
              },
            ],
          },
          {
            code: 'T04000',
            target: [
              {
                code: 'A1',
                equivalence: 'wider',
                dependsOn: [
                  {
                    property: `${BASE}/CodeSystem/apat-p-kode`,
                    system: `${BASE}/CodeSystem/apat-p-kode`,
                    value: 'P30611',
                  },
                ],
                product: [{ property: `${BASE}/ConceptMap/apatkombinasjoner#belop`, value: '450' }],
              },
            ],
          },
        ],
      },
    ]);
    // T04000 ended 2024-12-31
    expect(res.conceptMaps[1].group?.[0].element.map((e) => e.code)).toEqual(['T83000']);
  });

  test('rows of another samhandlertype or without a category are left out, with warnings', () => {
    const extra: ApatkombinasjonDto[] = [
      { ...rows[0], samhandler_type: 'LR' },
      { ...rows[0], refusjonskategori: null },
    ];
    const out = toConceptMapsApat([...rows, ...extra], { samhandlertype: 'PO', source });
    expect(out.warnings).toEqual([
      'apatkombinasjoner PO: 1 rows of another samhandlertype left out',
      'apatkombinasjoner PO: 1 rows without refusjonskategori left out',
    ]);
  });

  test('publisher and licence', () => {
    expect(res.conceptMaps[0].publisher).toBe(
      'no-fhir-facade (data fra Helsedirektoratet/Helfo, Helserefusjon – åpne data)',
    );
    expect(res.conceptMaps[0].copyright).toContain('NLOD) 2.0');
  });

  test('valid FHIR R4', () => {
    for (const cm of res.conceptMaps) expectValidFhir(cm);
  });
});
