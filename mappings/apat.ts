import type { ConceptMap, ConceptMapGroupElement } from '@medplum/fhirtypes';
import type { ApatkombinasjonDto, Samhandlertype } from '../src/upstream/helserefusjon.ts';
import { datePart, effectivePeriodExtension, slicePeriods, sourceMetadata, UNDATED_VERSION } from './common.ts';
import {
  APAT_BELOP_PROPERTY,
  APAT_P_KODE_SYSTEM,
  APAT_T_KODE_SYSTEM,
  apatkombinasjonerConceptMap,
  apatkombinasjonerId,
  type DataSource,
  JURISDICTION_NO,
  refusjonskategorierSystem,
  refusjonskategorierValueSet,
} from './systems.ts';

/**
 * Helserefusjon `/v1/apatkombinasjoner` (pathology: T-code + P-code → refusjonskategori, with an
 * amount) → a ConceptMap per samhandlertype (`apatkombinasjoner-po`), one version per validity
 * period (as takstkoder, with the resource-effectivePeriod extension).
 *
 * A combination of two source codes is expressed the R4 way: the element is the T-code, the target
 * is the refusjonskategori (in that samhandlertype's refusjonskategorier system), and the P-code is
 * a `dependsOn` (property and system APAT_P_KODE_SYSTEM). The amount `belop` is a `product` with
 * property APAT_BELOP_PROPERTY and the decimal as text. Equivalence `wider`: a category covers many
 * combinations. Rows without a refusjonskategori are left out (there is nothing to map to).
 * No embedded data exists for this: it maps live answers only.
 */

export interface ApatContext {
  samhandlertype: Samhandlertype;
  source: DataSource;
}

export interface ApatResources {
  conceptMaps: ConceptMap[];
  warnings: string[];
}

function elementsOf(rows: readonly ApatkombinasjonDto[]): ConceptMapGroupElement[] {
  const byT = new Map<string, ConceptMapGroupElement>();
  for (const r of rows) {
    if (r.refusjonskategori === null) continue;
    let el = byT.get(r.t_kode);
    if (!el) {
      el = { code: r.t_kode, target: [] };
      byT.set(r.t_kode, el);
    }
    el.target!.push({
      code: r.refusjonskategori,
      equivalence: 'wider',
      dependsOn: [{ property: APAT_P_KODE_SYSTEM, system: APAT_P_KODE_SYSTEM, value: r.p_kode }],
      ...(r.belop !== null ? { product: [{ property: APAT_BELOP_PROPERTY, value: String(r.belop) }] } : {}),
    });
  }
  return [...byT.values()];
}

export function toConceptMapsApat(rows: readonly ApatkombinasjonDto[], ctx: ApatContext): ApatResources {
  const st = ctx.samhandlertype;
  const warnings: string[] = [];
  const mine = rows.filter((r) => r.samhandler_type === null || r.samhandler_type === st);
  if (mine.length < rows.length)
    warnings.push(`apatkombinasjoner ${st}: ${rows.length - mine.length} rows of another samhandlertype left out`);
  const missing = mine.filter((r) => r.refusjonskategori === null).length;
  if (missing > 0) warnings.push(`apatkombinasjoner ${st}: ${missing} rows without refusjonskategori left out`);

  const { slices, undated, invalid } = slicePeriods(
    mine,
    (r) => r.fradato,
    (r) => r.tildato,
  );
  for (const r of invalid)
    warnings.push(`apatkombinasjoner ${st} ${r.t_kode}+${r.p_kode}: tildato before fradato; left out`);
  const versions: { version: string; start?: string; end?: string; rows: ApatkombinasjonDto[] }[] = [
    ...(undated.length > 0 ? [{ version: UNDATED_VERSION, rows: undated }] : []),
    ...slices.map((s) => ({ version: s.start, start: s.start, end: s.end, rows: s.rows })),
  ];
  const newest = versions.at(-1)?.version;
  const meta = sourceMetadata(ctx.source);

  const conceptMaps = versions.map((v): ConceptMap => {
    const id = v.version === newest ? apatkombinasjonerId(st) : `${apatkombinasjonerId(st)}-${v.version}`;
    return {
      resourceType: 'ConceptMap',
      id,
      ...(v.start !== undefined ? { extension: [effectivePeriodExtension(v.start, v.end)] } : {}),
      url: apatkombinasjonerConceptMap(st),
      version: v.version,
      name: `Apatkombinasjoner${st}`,
      title: `APAT-kombinasjoner for samhandlertype ${st}${v.start !== undefined ? `, ${v.start}${v.end ? ` – ${v.end}` : ' –'}` : ', udatert'}`,
      status: 'active',
      experimental: false,
      ...(v.start !== undefined ? { date: datePart(v.start) } : {}),
      ...meta,
      description:
        `Patologi (APAT): T-kode + P-kode → refusjonskategori for samhandlertype ${st}, med beløp ` +
        '(Helserefusjon /v1/apatkombinasjoner). Elementet er T-koden, P-koden står i dependsOn og beløpet i product.',
      jurisdiction: [JURISDICTION_NO],
      targetCanonical: refusjonskategorierValueSet(st),
      group: [
        {
          source: APAT_T_KODE_SYSTEM,
          target: refusjonskategorierSystem(st),
          element: elementsOf(v.rows),
        },
      ],
    };
  });
  return { conceptMaps, warnings };
}
