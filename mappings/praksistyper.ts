import type { CodeSystem, CodeSystemProperty, ValueSet } from '@medplum/fhirtypes';
import type { FagomraadeDto, PraksistypeDto } from '../src/upstream/helserefusjon.ts';
import { allCodesValueSet, canonicalWithVersion, sourceMetadata } from './common.ts';
import type { CodeSystemWithValueSet, KodeverkContext } from './fagomraader.ts';
import {
  FAGOMRAADER_SYSTEM,
  JURISDICTION_NO,
  PRAKSISTYPER_ID,
  PRAKSISTYPER_SYSTEM,
  PRAKSISTYPER_VALUESET,
  praksistyperForFagomraadeId,
  praksistyperForFagomraadeValueSet,
} from './systems.ts';

/**
 * Helserefusjon praksistyper (FALE Fastlege, LEVA Legevakt, …) → a CodeSystem with the fagområde
 * of each praksistype as property `fagomraade` (a Coding in the fagområder system), its all-codes
 * ValueSet, and per fagområde a ValueSet of its praksistyper (`praksistyper-le`), defined by a
 * compose filter `fagomraade = LE` so it follows the code system.
 * code = the praksistype code, display = `beskrivelse` verbatim.
 */

export const PRAKSISTYPER_PROPERTIES: readonly CodeSystemProperty[] = [
  { code: 'fagomraade', type: 'Coding', description: 'Fagområdet praksistypen hører til' },
];

/** The praksistyper nested in the fagområder, in order. */
export function praksistyperOf(fagomraader: readonly FagomraadeDto[]): PraksistypeDto[] {
  return fagomraader.flatMap((f) => f.praksistyper);
}

export function toCodeSystemPraksistyper(
  fagomraader: readonly FagomraadeDto[],
  ctx: KodeverkContext,
): CodeSystemWithValueSet {
  const names = new Map(fagomraader.map((f) => [f.fagomraadekode, f.beskrivelse]));
  const praksistyper = praksistyperOf(fagomraader);
  const codeSystem: CodeSystem = {
    resourceType: 'CodeSystem',
    id: PRAKSISTYPER_ID,
    url: PRAKSISTYPER_SYSTEM,
    version: ctx.version,
    name: 'HelserefusjonPraksistyper',
    title: 'Praksistyper (Helserefusjon)',
    status: 'active',
    experimental: false,
    ...(ctx.date !== undefined ? { date: ctx.date } : {}),
    ...sourceMetadata(ctx.source),
    description:
      'Praksistypene i Helserefusjon (f.eks. FALE Fastlege, LEVA Legevakt), hver med sitt fagområde i egenskapen fagomraade. ' +
      'Verdisettet praksistyper-<fagområde> inneholder praksistypene i ett fagområde.' +
      (ctx.content === 'fragment' ? ' Utdrag: nyere praksistyper kan mangle.' : ''),
    jurisdiction: [JURISDICTION_NO],
    caseSensitive: true,
    valueSet: canonicalWithVersion(PRAKSISTYPER_VALUESET, ctx.version),
    content: ctx.content,
    count: praksistyper.length,
    property: [...PRAKSISTYPER_PROPERTIES],
    concept: praksistyper.map((p) => {
      const display = names.get(p.fagomraadekode);
      return {
        code: p.praksis_type_kode,
        ...(p.beskrivelse !== null ? { display: p.beskrivelse } : {}),
        property: [
          {
            code: 'fagomraade',
            valueCoding: { system: FAGOMRAADER_SYSTEM, code: p.fagomraadekode, ...(display ? { display } : {}) },
          },
        ],
      };
    }),
  };
  const valueSet = allCodesValueSet(codeSystem, {
    id: PRAKSISTYPER_ID,
    url: PRAKSISTYPER_VALUESET,
    name: 'HelserefusjonPraksistyperAlleKoder',
    title: 'Praksistyper (Helserefusjon): alle koder',
  });
  return { codeSystem, valueSet };
}

/**
 * For every fagområde, the ValueSet of its praksistyper: compose.include of the praksistyper
 * system (same version) with the filter `fagomraade = <code>`. A fagområde without praksistyper
 * gets one too (it expands to nothing) so every fagområde has its value set.
 */
export function toValueSetsPraksistyperPerFagomraade(
  fagomraader: readonly FagomraadeDto[],
  ctx: KodeverkContext,
): ValueSet[] {
  const meta = sourceMetadata(ctx.source);
  return fagomraader.map((f) => {
    const label = f.beskrivelse ? `${f.fagomraadekode} (${f.beskrivelse})` : f.fagomraadekode;
    return {
      resourceType: 'ValueSet',
      id: praksistyperForFagomraadeId(f.fagomraadekode),
      url: praksistyperForFagomraadeValueSet(f.fagomraadekode),
      version: ctx.version,
      name: `HelserefusjonPraksistyper${f.fagomraadekode.replace(/[^A-Za-z0-9]/g, '')}`,
      title: `Praksistyper i fagområde ${label}`,
      status: 'active',
      experimental: false,
      ...(ctx.date !== undefined ? { date: ctx.date } : {}),
      ...meta,
      description: `Praksistypene (Helserefusjon) som hører til fagområde ${label}.`,
      jurisdiction: [JURISDICTION_NO],
      compose: {
        include: [
          {
            system: PRAKSISTYPER_SYSTEM,
            version: ctx.version,
            filter: [{ property: 'fagomraade', op: '=', value: f.fagomraadekode }],
          },
        ],
      },
    };
  });
}
