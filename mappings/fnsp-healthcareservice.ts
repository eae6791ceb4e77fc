import type {
  CodeableConcept,
  ContactPoint,
  HealthcareService,
  Location,
  Organization,
  Reference,
} from '@medplum/fhirtypes';
import type { FnspTekstDto, FnspTilbudDto } from '../src/upstream/fnsp-dto.ts';
import { contactPoints } from './fnsp-location.ts';
import { type FnspMappingContext, fhirId, trustKey } from './fnsp-organization.ts';
import { directoryMeta, HELSEHJELPSOMRAADE_SYSTEM, noBasisProfile, SNOMED_CT_SYSTEM } from './systems.ts';

/**
 * A procedure as one trust offers it → no-basis-HealthcareService (pure), the IHE mCSD reading:
 * a service (`type`) provided by an Organization (`providedBy`) at Locations (`location`).
 *
 * - `type`: the procedure's SNOMED CT codes (FNSP codes procedures in SNOMED CT, seed 004), one
 *   CodeableConcept per code, each with the national procedure name as `text`.
 * - `specialty`: helsehjelpsområde (Volven 8655, the no-basis slice) where FNSP gives one.
 * - `providedBy`: the trust, with its ENH (else RSH) identifier as no-basis recommends.
 * - `name`, `comment`, `extraDetails`: the trust's own title, summary and page texts, unaltered.
 *   The texts are joined in their order, each under its heading; the heading of a part FNSP gives
 *   without one is named after its kind (Før / Under / Etter).
 * - `telecom`: the trust's page about the procedure (a `url`), then phone and e-mail.
 */

export function fnspHealthcareServiceId(t: Pick<FnspTilbudDto, 'prosedyre' | 'foretak'>): string {
  return fhirId('fnsp', t.prosedyre.id, trustKey(t.foretak));
}

const PART_HEADINGS: Readonly<Record<string, string>> = { foer: 'Før', under: 'Under', etter: 'Etter' };

/** The page parts as markdown: `## heading`, a blank line, the text as sent. */
export function pageTextsMarkdown(parts: readonly FnspTekstDto[]): string | undefined {
  const blocks = parts.map((p) => {
    const heading = p.overskrift ?? (p.type !== null ? PART_HEADINGS[p.type.toLowerCase()] : undefined);
    return heading !== undefined ? `## ${heading}\n\n${p.tekst}` : p.tekst;
  });
  return blocks.length > 0 ? blocks.join('\n\n') : undefined;
}

export interface HealthcareServiceRefs {
  providedBy: Reference<Organization>;
  locations: Reference<Location>[];
}

export function toHealthcareService(
  t: FnspTilbudDto,
  ctx: FnspMappingContext,
  refs: HealthcareServiceRefs,
): HealthcareService {
  const p = t.prosedyre;
  // one CodeableConcept per SNOMED CT code (several codes are distinct concepts, not translations)
  const text = p.navn !== null ? { text: p.navn } : {};
  const type: CodeableConcept[] =
    p.snomed.length > 0
      ? p.snomed.map((s) => ({
          coding: [{ system: SNOMED_CT_SYSTEM, code: s.kode, ...(s.tekst !== null ? { display: s.tekst } : {}) }],
          ...text,
        }))
      : p.navn !== null
        ? [{ text: p.navn }]
        : [];
  const specialty: CodeableConcept[] = t.helsehjelpsomraader.map((h) => ({
    coding: [{ system: HELSEHJELPSOMRAADE_SYSTEM, code: h.kode, ...(h.tekst !== null ? { display: h.tekst } : {}) }],
  }));
  const telecom: ContactPoint[] = [
    ...(t.url !== null ? [{ system: 'url' as const, value: t.url, use: 'work' as const }] : []),
    ...contactPoints(t.telefon, t.epost),
  ];
  const name = t.tittel ?? p.navn;
  const extraDetails = pageTextsMarkdown(t.tekster);
  return {
    resourceType: 'HealthcareService',
    id: fnspHealthcareServiceId(t),
    meta: directoryMeta(ctx.provenance, noBasisProfile('HealthcareService')),
    active: true,
    providedBy: refs.providedBy,
    ...(type.length > 0 ? { type } : {}),
    ...(specialty.length > 0 ? { specialty } : {}),
    ...(refs.locations.length > 0 ? { location: refs.locations } : {}),
    ...(name !== null ? { name } : {}),
    ...(t.ingress !== null ? { comment: t.ingress } : {}),
    ...(extraDetails !== undefined ? { extraDetails } : {}),
    ...(telecom.length > 0 ? { telecom } : {}),
  };
}
