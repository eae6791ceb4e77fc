import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Organization } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import {
  bandagistOrganizationId,
  isBandagistActive,
  toBandagistOrganization,
} from '../../mappings/bandagist-organization.ts';
import { bandasjisterProvenance, EXT_SOURCE_LICENCE, NLOD_2_0_LICENCE } from '../../mappings/systems.ts';
import { type BandasjistDto, parseBandasjister } from '../../src/upstream/helserefusjon.ts';
import { expectNoBasisOrganization, expectSourceAndLicence } from '../directory/fnsp-test-app.ts';
import { expectValidFhir } from '../support/fhir.ts';

const provenance = bandasjisterProvenance('https://opne-data-api.helserefusjon.no');
const SOURCE = 'https://opne-data-api.helserefusjon.no/v1/bandasjister';
const rows = parseBandasjister(
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/helserefusjon/bandasjister.json'), 'utf8')),
);

function row(over: Partial<BandasjistDto>): BandasjistDto {
  return {
    sar_id: '1',
    sar_navn: 'Bandasjist AS',
    sar_orgnr: null,
    hovedenhet_orgnr: null,
    underenhet_orgnr: null,
    gyldig_fra: null,
    gyldig_til: null,
    status: null,
    tidspunkt_registrert: null,
    tidspunkt_oppdatert: null,
    ...over,
  };
}

describe('toBandagistOrganization', () => {
  test('an active bandagist: SAR id and org.nr as identifiers, name, type, agreement period', () => {
    const org = toBandagistOrganization(rows[0], { provenance, today: '2026-03-01' });
    expect(expectValidFhir<Organization>(org)).toEqual({
      resourceType: 'Organization',
      id: 'bandagist-123456',
      meta: {
        extension: [{ url: EXT_SOURCE_LICENCE, valueString: NLOD_2_0_LICENCE }],
        source: SOURCE,
        profile: ['http://hl7.no/fhir/StructureDefinition/no-basis-Organization'],
        tag: provenance.tag,
      },
      extension: [
        {
          url: 'https://no-fhir-facade.example/fhir/StructureDefinition/direct-settlement-period',
          valuePeriod: { start: '2020-01-01' },
        },
      ],
      identifier: [
        {
          use: 'usual',
          type: { text: 'SAR-id (Helfos samhandlerregister)' },
          system: 'https://no-fhir-facade.example/fhir/NamingSystem/helfo-sar-id',
          value: '123456',
        },
        {
          use: 'official',
          type: { text: 'Organisasjonsnummer (avtalens org.nr. i SAR, hovedenhet)' },
          system: 'urn:oid:2.16.578.1.12.4.1.4.101',
          value: '999999999',
        },
      ],
      active: true,
      type: [
        {
          coding: [
            {
              system: 'https://no-fhir-facade.example/fhir/CodeSystem/directory-organization-type',
              code: 'bandasjist',
              display: 'Bandasjist med direkte oppgjørsavtale med Helfo',
            },
          ],
        },
      ],
      name: 'Eksempel Bandasjist AS',
    });
    expectNoBasisOrganization(org);
    expectSourceAndLicence(org, SOURCE, 'helserefusjon');
  });

  test('a deleted bandagist is inactive', () => {
    const org = toBandagistOrganization(rows[1], { provenance, today: '2023-06-01' });
    expect(org.active).toBe(false);
    expect(org.extension?.[0].valuePeriod).toEqual({ start: '2021-02-01', end: '2023-12-31' });
    expectValidFhir(org);
  });

  test('hovedenhet and underenhet are separate ENH identifiers', () => {
    const org = toBandagistOrganization(
      row({ sar_orgnr: '987654321', hovedenhet_orgnr: '912345678', underenhet_orgnr: '987 654 321' }),
      { provenance, today: '2026-03-01' },
    );
    expect(org.identifier?.filter((i) => i.system === 'urn:oid:2.16.578.1.12.4.1.4.101')).toEqual([
      {
        use: 'official',
        type: { text: 'Organisasjonsnummer (avtalens org.nr. i SAR, underenhet)' },
        system: 'urn:oid:2.16.578.1.12.4.1.4.101',
        value: '987654321',
      },
      {
        use: 'official',
        type: { text: 'Organisasjonsnummer (hovedenhet)' },
        system: 'urn:oid:2.16.578.1.12.4.1.4.101',
        value: '912345678',
      },
    ]);
    expectNoBasisOrganization(org);
  });

  test('a value that is not 9 digits is no ENH identifier', () => {
    const org = toBandagistOrganization(row({ sar_orgnr: '12345' }), { provenance, today: '2026-03-01' });
    expect(org.identifier?.map((i) => i.system)).toEqual([
      'https://no-fhir-facade.example/fhir/NamingSystem/helfo-sar-id',
    ]);
  });

  test.each<[string, Partial<BandasjistDto>, string, boolean]>([
    ['no status, no end', {}, '2026-03-01', true],
    ['status slettet', { status: 'slettet' }, '2026-03-01', false],
    ['status SLETTET in capitals', { status: ' SLETTET ' }, '2026-03-01', false],
    ['another status', { status: 'aktiv' }, '2026-03-01', true],
    ['validity ended yesterday', { gyldig_til: '2026-02-28' }, '2026-03-01', false],
    ['validity ends today', { gyldig_til: '2026-03-01T23:59:00' }, '2026-03-01', true],
    ['validity ends later', { gyldig_til: '2027-01-01' }, '2026-03-01', true],
  ])('active: %s', (_name, over, today, active) => {
    expect(isBandagistActive(row(over), today)).toBe(active);
  });

  test('the id is the SAR id', () => {
    expect(bandagistOrganizationId(row({ sar_id: '777' }))).toBe('bandagist-777');
    expect(bandagistOrganizationId(row({ sar_id: 'a/b c' }))).toBe('bandagist-a-b-c');
  });
});
