import { createHash } from 'node:crypto';
import type { ContactPoint, Identifier, Organization, Reference } from '@medplum/fhirtypes';
import type { FnspForetakDto, FnspHelseregionDto, FnspNettstedDto } from '../src/upstream/fnsp-dto.ts';
import {
  type DirectoryProvenance,
  directoryMeta,
  ENH_SYSTEM,
  noBasisProfile,
  ORGANISATORISK_NIVAA_SYSTEM,
  RESH_SYSTEM,
} from './systems.ts';

/**
 * FNSP trusts (helseforetak) and their regional health authorities (RHF) → no-basis-Organization
 * (pure). Identifiers ENH (org.nr) and RSH (RESH-id) as the no-basis slices fix them; `type` from
 * Organisatorisk nivå (8628: 1 RHF, 2 HF); `partOf` the trust's RHF; a trust's sites (nettsteder)
 * become its `telecom` URLs. Names are the upstream's, unaltered.
 */

export interface FnspMappingContext {
  provenance: DirectoryProvenance;
}

/** The 8628 codes, with the displays of the served CodeSystem (data/terminology/nhn-codes-and-more). */
export const ORG_LEVEL_RHF = { system: ORGANISATORISK_NIVAA_SYSTEM, code: '1', display: 'RHF' };
export const ORG_LEVEL_HF = { system: ORGANISATORISK_NIVAA_SYSTEM, code: '2', display: 'HF' };

// --- Ids -------------------------------------------------------------------------------------

/** A FHIR id (`[A-Za-z0-9\-.]{1,64}`) from parts; a long one is cut and ends in a hash of the whole. */
export function fhirId(...parts: string[]): string {
  const joined = parts.join('-');
  const safe = joined
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/æ/gi, 'ae')
    .replace(/ø/gi, 'o')
    .replace(/[^A-Za-z0-9\-.]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-|-$/g, '');
  if (safe.length <= 64 && safe === joined) return safe;
  // changed or too long: add a hash of the original, so that two inputs cannot meet in one id
  return `${safe.slice(0, 53).replace(/-$/, '')}-${shortHash(joined)}`;
}

export function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 10);
}

/** The key of a trust in FNSP data: its org.nr, else its RESH-id. */
export function trustKey(f: Pick<FnspForetakDto, 'orgnr' | 'reshId'>): string {
  if (f.orgnr !== null) return f.orgnr;
  if (f.reshId !== null) return `resh-${f.reshId}`;
  throw new Error('a trust without orgnr and reshId');
}

export function fnspOrganizationId(f: Pick<FnspForetakDto, 'orgnr' | 'reshId'>): string {
  return fhirId('fnsp', trustKey(f));
}

/** A region's id: by org.nr, else RESH-id, else its name; null when it has none of them. */
export function fnspRegionId(r: FnspHelseregionDto): string | null {
  if (r.orgnr !== null) return fhirId('fnsp', r.orgnr);
  if (r.reshId !== null) return fhirId('fnsp', `resh-${r.reshId}`);
  if (r.navn !== null) return fhirId('fnsp-region', r.navn.trim().toLowerCase());
  return null;
}

// --- Parts -----------------------------------------------------------------------------------

/** The ENH and RSH identifiers (no-basis-Organization slices). */
export function organizationIdentifiers(orgnr: string | null, reshId: string | null): Identifier[] {
  return [
    ...(orgnr !== null ? [{ use: 'official' as const, system: ENH_SYSTEM, value: orgnr }] : []),
    ...(reshId !== null ? [{ system: RESH_SYSTEM, value: reshId }] : []),
  ];
}

/**
 * A reference to a mapped Organization: literal, plus the logical ENH (else RSH) identifier that
 * no-basis recommends for providedBy (invariants no-basis-providedBy-identifier / -identifier-system).
 */
export function organizationReference(org: Organization): Reference<Organization> {
  const id =
    org.identifier?.find((i) => i.system === ENH_SYSTEM) ?? org.identifier?.find((i) => i.system === RESH_SYSTEM);
  return {
    reference: `Organization/${org.id}`,
    ...(id ? { identifier: { system: id.system, value: id.value } } : {}),
    ...(org.name !== undefined ? { display: org.name } : {}),
  };
}

/** A site → a `url` ContactPoint of its trust. Bokmål sites rank first (rank 1), others after. */
export function toSiteTelecom(site: FnspNettstedDto): ContactPoint {
  const primary = site.spraak === null || ['nb', 'no', 'nb-no', 'no-nb'].includes(site.spraak.toLowerCase());
  return { system: 'url', value: site.url, use: 'work', rank: primary ? 1 : 2 };
}

// --- Resources -------------------------------------------------------------------------------

export interface TrustOrganizationExtras {
  /** the trust's sites */
  sites?: readonly FnspNettstedDto[];
  /** the trust's RHF */
  partOf?: Reference<Organization>;
}

export function toTrustOrganization(
  foretak: FnspForetakDto,
  ctx: FnspMappingContext,
  extras: TrustOrganizationExtras = {},
): Organization {
  const telecom = [...(extras.sites ?? [])]
    .map(toSiteTelecom)
    .sort((a, b) => (a.rank ?? 9) - (b.rank ?? 9) || String(a.value).localeCompare(String(b.value)));
  return {
    resourceType: 'Organization',
    id: fnspOrganizationId(foretak),
    meta: directoryMeta(ctx.provenance, noBasisProfile('Organization')),
    identifier: organizationIdentifiers(foretak.orgnr, foretak.reshId),
    active: true,
    type: [{ coding: [{ ...ORG_LEVEL_HF }] }],
    ...(foretak.navn !== null ? { name: foretak.navn } : {}),
    ...(telecom.length > 0 ? { telecom } : {}),
    ...(extras.partOf ? { partOf: extras.partOf } : {}),
  };
}

/** An RHF; null when FNSP names none of its name, org.nr or RESH-id. */
export function toRegionOrganization(region: FnspHelseregionDto, ctx: FnspMappingContext): Organization | null {
  const id = fnspRegionId(region);
  if (id === null) return null;
  const identifier = organizationIdentifiers(region.orgnr, region.reshId);
  return {
    resourceType: 'Organization',
    id,
    meta: directoryMeta(ctx.provenance, noBasisProfile('Organization')),
    ...(identifier.length > 0 ? { identifier } : {}),
    active: true,
    type: [{ coding: [{ ...ORG_LEVEL_RHF }] }],
    ...(region.navn !== null ? { name: region.navn } : {}),
  };
}
