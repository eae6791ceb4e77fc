import type { Identifier, Organization } from '@medplum/fhirtypes';
import type { BandasjistDto } from '../src/upstream/helserefusjon.ts';
import {
  DIRECTORY_ORGANIZATION_TYPE_SYSTEM,
  type DirectoryProvenance,
  directoryMeta,
  ENH_SYSTEM,
  EXT_DIRECT_SETTLEMENT_PERIOD,
  HELFO_SAR_ID_SYSTEM,
  noBasisProfile,
} from './systems.ts';

/**
 * A bandagist with a direct-settlement agreement with Helfo (`/v1/bandasjister`, seed 003) →
 * no-basis-Organization (pure).
 *
 * - identifiers: the SAR id (Helfo's samhandlerregister; no national system is known, so ours), and
 *   every org.nr the row names in the ENH slice: `sar_orgnr` (the agreement's), `hovedenhet_orgnr`
 *   and `underenhet_orgnr` (from Brønnøysund). One identifier per distinct number; its `type.text`
 *   says which role(s) it has. A value that is not 9 digits is left out.
 * - `active` is false when `status` is `slettet` ("ikke lenger en aktiv enhet i BRREG") or the
 *   validity (`gyldig_til`) ended before `today`.
 * - the validity itself is kept in an extension (direct-settlement-period).
 */

export interface BandagistMappingContext {
  provenance: DirectoryProvenance;
  /** today's date in Norway, yyyy-MM-dd (from the injected clock) */
  today: string;
}

export const BANDAGIST_TYPE = {
  system: DIRECTORY_ORGANIZATION_TYPE_SYSTEM,
  code: 'bandasjist',
  display: 'Bandasjist med direkte oppgjørsavtale med Helfo',
};

export function bandagistOrganizationId(dto: Pick<BandasjistDto, 'sar_id'>): string {
  const safe = dto.sar_id.replace(/[^A-Za-z0-9\-.]+/g, '-').slice(0, 54);
  return `bandagist-${safe}`;
}

/** Whether the bandagist is active on `today` (yyyy-MM-dd). */
export function isBandagistActive(dto: Pick<BandasjistDto, 'status' | 'gyldig_til'>, today: string): boolean {
  if (dto.status !== null && dto.status.trim().toLowerCase() === 'slettet') return false;
  if (dto.gyldig_til !== null && dto.gyldig_til.slice(0, 10) < today) return false;
  return true;
}

const ORGNR_ROLES: readonly [keyof BandasjistDto, string][] = [
  ['sar_orgnr', 'avtalens org.nr. i SAR'],
  ['hovedenhet_orgnr', 'hovedenhet'],
  ['underenhet_orgnr', 'underenhet'],
];

/** The org.nr values of a row that are 9 digits, each with its roles. Others are returned as `invalid`. */
export function bandagistOrgnrs(dto: BandasjistDto): { valid: Map<string, string[]>; invalid: string[] } {
  const valid = new Map<string, string[]>();
  const invalid: string[] = [];
  for (const [field, role] of ORGNR_ROLES) {
    const raw = dto[field];
    if (typeof raw !== 'string') continue;
    const v = raw.replace(/[\s\u00a0]/g, '');
    if (!/^\d{9}$/.test(v)) {
      invalid.push(`${field} ${JSON.stringify(raw)}`);
      continue;
    }
    valid.set(v, [...(valid.get(v) ?? []), role]);
  }
  return { valid, invalid };
}

export function toBandagistOrganization(dto: BandasjistDto, ctx: BandagistMappingContext): Organization {
  const identifier: Identifier[] = [
    {
      use: 'usual',
      type: { text: 'SAR-id (Helfos samhandlerregister)' },
      system: HELFO_SAR_ID_SYSTEM,
      value: dto.sar_id,
    },
  ];
  for (const [value, roles] of bandagistOrgnrs(dto).valid) {
    identifier.push({
      use: 'official',
      type: { text: `Organisasjonsnummer (${roles.join(', ')})` },
      system: ENH_SYSTEM,
      value,
    });
  }
  const start = dto.gyldig_fra?.slice(0, 10);
  const end = dto.gyldig_til?.slice(0, 10);
  return {
    resourceType: 'Organization',
    id: bandagistOrganizationId(dto),
    meta: directoryMeta(ctx.provenance, noBasisProfile('Organization')),
    ...(start !== undefined || end !== undefined
      ? {
          extension: [
            {
              url: EXT_DIRECT_SETTLEMENT_PERIOD,
              valuePeriod: { ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}) },
            },
          ],
        }
      : {}),
    identifier,
    active: isBandagistActive(dto, ctx.today),
    type: [{ coding: [{ ...BANDAGIST_TYPE }] }],
    ...(dto.sar_navn !== null ? { name: dto.sar_navn } : {}),
  };
}
