import type { CodeSystem, ValueSet } from '@medplum/fhirtypes';
import type { FagomraadeDto } from '../src/upstream/helserefusjon.ts';
import { allCodesValueSet, canonicalWithVersion, sourceMetadata } from './common.ts';
import {
  type DataSource,
  FAGOMRAADER_ID,
  FAGOMRAADER_SYSTEM,
  FAGOMRAADER_VALUESET,
  JURISDICTION_NO,
  PRAKSISTYPER_SYSTEM,
} from './systems.ts';

/**
 * Helserefusjon fagområder (LE Lege, FY Fysioterapi, …) → a CodeSystem and its all-codes ValueSet.
 * Not Volven 8451 "Fagområde", whose codes are numeric (research/norway-fhir.md §8.7).
 * code = `fagomraadekode`, display = `beskrivelse` verbatim.
 */

export interface KodeverkContext {
  /** e.g. the date of the documentation the table was transcribed from, or of the API retrieval */
  version: string;
  source: DataSource;
  /** `complete` when the list is the whole code list */
  content: 'complete' | 'fragment';
  /** CodeSystem.date; default: none */
  date?: string;
}

export interface CodeSystemWithValueSet {
  codeSystem: CodeSystem;
  valueSet: ValueSet;
}

export function toCodeSystemFagomraader(rows: readonly FagomraadeDto[], ctx: KodeverkContext): CodeSystemWithValueSet {
  const codeSystem: CodeSystem = {
    resourceType: 'CodeSystem',
    id: FAGOMRAADER_ID,
    url: FAGOMRAADER_SYSTEM,
    version: ctx.version,
    name: 'HelserefusjonFagomraader',
    title: 'Fagområder (Helserefusjon)',
    status: 'active',
    experimental: false,
    ...(ctx.date !== undefined ? { date: ctx.date } : {}),
    ...sourceMetadata(ctx.source),
    description:
      'Fagområdene i Helserefusjon (Helfos oppgjørsområder, f.eks. LE Lege, FY Fysioterapi). ' +
      'Ikke det samme som Volven 8451 Fagområde. Praksistypene i hvert fagområde står i kodesystemet ' +
      `${PRAKSISTYPER_SYSTEM} (egenskapen fagomraade).`,
    jurisdiction: [JURISDICTION_NO],
    caseSensitive: true,
    valueSet: canonicalWithVersion(FAGOMRAADER_VALUESET, ctx.version),
    content: ctx.content,
    count: rows.length,
    concept: rows.map((r) => ({
      code: r.fagomraadekode,
      ...(r.beskrivelse !== null ? { display: r.beskrivelse } : {}),
    })),
  };
  const valueSet = allCodesValueSet(codeSystem, {
    id: FAGOMRAADER_ID,
    url: FAGOMRAADER_VALUESET,
    name: 'HelserefusjonFagomraaderAlleKoder',
    title: 'Fagområder (Helserefusjon): alle koder',
  });
  return { codeSystem, valueSet };
}
