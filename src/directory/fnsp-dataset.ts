import type { HealthcareService, Location, Organization, Reference } from '@medplum/fhirtypes';
import { fnspHealthcareServiceId, toHealthcareService } from '../../mappings/fnsp-healthcareservice.ts';
import { fnspLocationId, toLocation } from '../../mappings/fnsp-location.ts';
import {
  type FnspMappingContext,
  fnspRegionId,
  organizationReference,
  toRegionOrganization,
  toTrustOrganization,
  trustKey,
} from '../../mappings/fnsp-organization.ts';
import type {
  FnspDatasettDto,
  FnspForetakDto,
  FnspHelseregionDto,
  FnspNettstedDto,
  FnspTilbudDto,
} from '../upstream/fnsp-dto.ts';
import { type DirectoryResource, fold, withVersionId } from './directory-search.ts';

/**
 * The FNSP dataset (one row per procedure and trust) → the directory's resources: the trusts and
 * their RHFs as Organizations, the meeting places as Locations, the offers as HealthcareServices.
 * A trust appears on many rows; it becomes one Organization (the first non-empty value of each field
 * wins, a disagreement is a warning). A meeting place shared by several procedures of one trust
 * becomes one Location. Every resource gets a content-hash `meta.versionId`, and a Location's
 * managingOrganization names that version (no-basis-Location asks for a version-specific reference).
 */

export interface FnspDirectoryData {
  resources: DirectoryResource[];
  warnings: string[];
}

interface TrustAcc {
  foretak: FnspForetakDto;
  sites: FnspNettstedDto[];
}

function mergeRegion(
  a: FnspHelseregionDto | null,
  b: FnspHelseregionDto | null,
  warn: (s: string) => void,
  who: string,
): FnspHelseregionDto | null {
  if (a === null) return b;
  if (b === null) return a;
  const pick = <K extends keyof FnspHelseregionDto>(k: K) => {
    if (a[k] !== null && b[k] !== null && a[k] !== b[k])
      warn(`${who}: helseregion ${k} ${a[k]} and ${b[k]}; kept ${a[k]}`);
    return a[k] ?? b[k];
  };
  return { navn: pick('navn'), orgnr: pick('orgnr'), reshId: pick('reshId') };
}

export function buildFnspDirectory(
  dataset: FnspDatasettDto,
  sites: readonly FnspNettstedDto[],
  ctx: FnspMappingContext,
): FnspDirectoryData {
  const warnings: string[] = [];
  const warn = (s: string) => warnings.push(s);

  // A trust named by RESH-id alone on one row and by org.nr + RESH-id on another is one trust.
  const orgnrByResh = new Map<string, string>();
  for (const t of dataset.tilbud) {
    if (t.foretak.orgnr !== null && t.foretak.reshId !== null) orgnrByResh.set(t.foretak.reshId, t.foretak.orgnr);
  }
  const canonical = (f: FnspForetakDto): FnspForetakDto =>
    f.orgnr === null && f.reshId !== null && orgnrByResh.has(f.reshId)
      ? { ...f, orgnr: orgnrByResh.get(f.reshId) ?? null }
      : f;

  const trusts = new Map<string, TrustAcc>();
  for (const t of dataset.tilbud) {
    const f = canonical(t.foretak);
    const key = trustKey(f);
    const acc = trusts.get(key);
    if (!acc) {
      trusts.set(key, { foretak: f, sites: [] });
      continue;
    }
    const a = acc.foretak;
    if (a.navn !== null && f.navn !== null && a.navn !== f.navn)
      warn(`foretak ${key}: named ${a.navn} and ${f.navn}; kept ${a.navn}`);
    if (a.reshId !== null && f.reshId !== null && a.reshId !== f.reshId) {
      warn(`foretak ${key}: RESH-id ${a.reshId} and ${f.reshId}; kept ${a.reshId}`);
    }
    acc.foretak = {
      navn: a.navn ?? f.navn,
      orgnr: a.orgnr ?? f.orgnr,
      reshId: a.reshId ?? f.reshId,
      helseregion: mergeRegion(a.helseregion, f.helseregion, warn, `foretak ${key}`),
    };
  }

  // Sites → their trust: by org.nr, RESH-id, else by the trust's name.
  const byName = new Map<string, TrustAcc>();
  for (const acc of trusts.values()) if (acc.foretak.navn !== null) byName.set(fold(acc.foretak.navn.trim()), acc);
  let unmatched = 0;
  for (const site of sites) {
    const f = site.foretak ? canonical(site.foretak) : null;
    const acc =
      (f !== null && (f.orgnr !== null || f.reshId !== null) ? trusts.get(trustKey(f)) : undefined) ??
      (site.navn !== null ? byName.get(fold(site.navn.trim())) : undefined);
    if (!acc) {
      unmatched++;
      continue;
    }
    acc.sites.push(site);
    acc.foretak = {
      ...acc.foretak,
      helseregion: mergeRegion(acc.foretak.helseregion, site.helseregion, warn, `nettsted ${site.url}`),
    };
  }
  if (unmatched > 0) warn(`${unmatched} nettsted(er) matched no trust in the dataset; left out`);

  // Organizations: RHFs, then trusts (partOf their RHF).
  const organizations = new Map<string, Organization>();
  for (const acc of trusts.values()) {
    const region = acc.foretak.helseregion;
    if (region === null) continue;
    const id = fnspRegionId(region);
    if (id === null || organizations.has(id)) continue;
    const org = toRegionOrganization(region, ctx);
    if (org) organizations.set(id, withVersionId(org));
  }
  const trustRefs = new Map<string, { plain: Reference<Organization>; versioned: Reference<Organization> }>();
  for (const [key, acc] of trusts) {
    const regionId = acc.foretak.helseregion ? fnspRegionId(acc.foretak.helseregion) : null;
    const region = regionId !== null ? organizations.get(regionId) : undefined;
    const org = withVersionId(
      toTrustOrganization(acc.foretak, ctx, {
        sites: acc.sites,
        ...(region ? { partOf: organizationReference(region) } : {}),
      }),
    );
    if (organizations.has(org.id as string)) {
      warn(`foretak ${key}: its id ${org.id} is also an RHF's; the RHF is replaced`);
    }
    organizations.set(org.id as string, org);
    const plain = organizationReference(org);
    trustRefs.set(key, {
      plain,
      versioned: { ...plain, reference: `Organization/${org.id}/_history/${org.meta?.versionId}` },
    });
  }

  // Locations and HealthcareServices.
  const locations = new Map<string, Location>();
  const services = new Map<string, HealthcareService>();
  for (const row of dataset.tilbud) {
    const t: FnspTilbudDto = { ...row, foretak: canonical(row.foretak) };
    const key = trustKey(t.foretak);
    const refs = trustRefs.get(key);
    if (!refs) continue;
    const locationRefs: Reference<Location>[] = [];
    for (const sted of t.oppmotesteder) {
      const id = fnspLocationId(t.foretak, sted);
      if (!locations.has(id)) {
        locations.set(id, withVersionId(toLocation(sted, ctx, { id, managingOrganization: refs.versioned })));
      }
      const loc = locations.get(id) as Location;
      if (!locationRefs.some((r) => r.reference === `Location/${id}`)) {
        locationRefs.push({ reference: `Location/${id}`, ...(loc.name !== undefined ? { display: loc.name } : {}) });
      }
    }
    const id = fnspHealthcareServiceId(t);
    if (services.has(id)) {
      warn(`prosedyre ${t.prosedyre.id} at foretak ${key} appears more than once; kept the first`);
      continue;
    }
    services.set(id, withVersionId(toHealthcareService(t, ctx, { providedBy: refs.plain, locations: locationRefs })));
  }

  return {
    resources: [...organizations.values(), ...locations.values(), ...services.values()],
    warnings,
  };
}
