import type { Address, ContactPoint, Extension, Location, Organization, Reference } from '@medplum/fhirtypes';
import type { FnspAdresseDto, FnspForetakDto, FnspOppmotestedDto } from '../src/upstream/fnsp-dto.ts';
import { type FnspMappingContext, fhirId, shortHash, trustKey } from './fnsp-organization.ts';
import {
  directoryMeta,
  EXT_NO_BASIS_MUNICIPALITYCODE,
  KOMMUNENUMMER_SYSTEM,
  noBasisProfile,
  RESH_SYSTEM,
} from './systems.ts';

/**
 * An FNSP meeting place (oppmøtested) → no-basis-Location with a no-basis-Address (pure). The
 * place's name and description are the trust's, unaltered.
 *
 * no-basis-Address (research/norway-fhir.md §1.2): `city` = poststed, `postalCode` = the 4-digit
 * postnummer, `district` = the kommune's name with its number in the no-basis-municipalitycode
 * extension (system urn:oid:…3402, as the published examples use), `country` NO. A meeting place is
 * somewhere to go: use `work`, type `physical`.
 */

/** One Location per place per trust: by FNSP's id of the place, else by its name and address. */
export function fnspLocationId(foretak: Pick<FnspForetakDto, 'orgnr' | 'reshId'>, sted: FnspOppmotestedDto): string {
  const key =
    sted.id ??
    shortHash(
      JSON.stringify([
        sted.navn?.trim().toLowerCase() ?? '',
        sted.adresse?.adresselinjer.map((l) => l.trim().toLowerCase()) ?? [],
        sted.adresse?.postnummer ?? '',
      ]),
    );
  return fhirId('fnsp-loc', trustKey(foretak), key);
}

/** Address with the JSON form of an extension on the primitive `district` (R4 json.html#primitive). */
export type NoBasisAddress = Address & { _district?: { extension: Extension[] } };

export function toNoBasisAddress(a: FnspAdresseDto): NoBasisAddress {
  const address: NoBasisAddress = { use: 'work', type: 'physical' };
  if (a.adresselinjer.length > 0) address.line = [...a.adresselinjer];
  if (a.poststed !== null) address.city = a.poststed;
  if (a.kommune !== null || a.kommunenummer !== null) {
    if (a.kommune !== null) address.district = a.kommune;
    if (a.kommunenummer !== null) {
      address._district = {
        extension: [
          {
            url: EXT_NO_BASIS_MUNICIPALITYCODE,
            valueCoding: {
              system: KOMMUNENUMMER_SYSTEM,
              code: a.kommunenummer,
              ...(a.kommune !== null ? { display: a.kommune } : {}),
            },
          },
        ],
      };
    }
  }
  if (a.postnummer !== null) address.postalCode = a.postnummer;
  address.country = 'NO';
  return address;
}

export function contactPoints(telefon: string | null, epost: string | null): ContactPoint[] {
  return [
    ...(telefon !== null ? [{ system: 'phone' as const, value: telefon, use: 'work' as const }] : []),
    ...(epost !== null ? [{ system: 'email' as const, value: epost, use: 'work' as const }] : []),
  ];
}

export interface LocationRefs {
  id: string;
  /** the trust; no-basis-Location wants it version-specific (`Organization/<id>/_history/<vid>`) */
  managingOrganization: Reference<Organization>;
}

export function toLocation(sted: FnspOppmotestedDto, ctx: FnspMappingContext, refs: LocationRefs): Location {
  const telecom = contactPoints(sted.telefon, sted.epost);
  return {
    resourceType: 'Location',
    id: refs.id,
    meta: directoryMeta(ctx.provenance, noBasisProfile('Location')),
    ...(sted.reshId !== null ? { identifier: [{ system: RESH_SYSTEM, value: sted.reshId }] } : {}),
    status: 'active',
    ...(sted.navn !== null ? { name: sted.navn } : {}),
    ...(sted.beskrivelse !== null ? { description: sted.beskrivelse } : {}),
    mode: 'instance',
    ...(telecom.length > 0 ? { telecom } : {}),
    ...(sted.adresse !== null ? { address: toNoBasisAddress(sted.adresse) } : {}),
    managingOrganization: refs.managingOrganization,
  };
}
