import type { HealthcareService, Location, Organization } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import {
  fnspHealthcareServiceId,
  pageTextsMarkdown,
  toHealthcareService,
} from '../../mappings/fnsp-healthcareservice.ts';
import { fnspLocationId, toLocation, toNoBasisAddress } from '../../mappings/fnsp-location.ts';
import {
  fhirId,
  fnspOrganizationId,
  fnspRegionId,
  organizationReference,
  toRegionOrganization,
  toSiteTelecom,
  toTrustOrganization,
} from '../../mappings/fnsp-organization.ts';
import { EXT_SOURCE_LICENCE, fnspProvenance, NLOD_2_0_LICENCE } from '../../mappings/systems.ts';
import type { FnspForetakDto, FnspOppmotestedDto, FnspTilbudDto } from '../../src/upstream/fnsp-dto.ts';
import {
  expectNoBasisAddress,
  expectNoBasisHealthcareService,
  expectNoBasisLocation,
  expectNoBasisOrganization,
  expectSourceAndLicence,
} from '../directory/fnsp-test-app.ts';
import { expectValidFhir } from '../support/fhir.ts';

const SOURCE = 'https://fnsp.test/api';
const ctx = { provenance: fnspProvenance(SOURCE) };

const REGION = { navn: 'Eksempel Helse Sør RHF', orgnr: '999100000', reshId: null };
const TRUST: FnspForetakDto = {
  navn: 'Eksempel Universitetssykehus HF',
  orgnr: '999100001',
  reshId: '4001',
  helseregion: REGION,
};

const STED: FnspOppmotestedDto = {
  id: 'sted-1001',
  navn: 'Endoskopiavdelingen',
  beskrivelse: 'Inngang A, 2. etasje.',
  adresse: {
    adresselinjer: ['Sykehusveien 1'],
    postnummer: '0150',
    poststed: 'OSLO',
    kommune: 'Oslo',
    kommunenummer: '0301',
  },
  telefon: '+47 00 00 10 02',
  epost: null,
  reshId: '4101',
};

const TILBUD: FnspTilbudDto = {
  prosedyre: {
    id: 'koloskopi',
    navn: 'Koloskopi',
    snomed: [{ kode: '73761001', tekst: 'Colonoscopy' }],
    htk: null,
    url: null,
  },
  foretak: TRUST,
  tittel: 'Koloskopi (tykktarmsundersøkelse)',
  ingress: 'Ved en koloskopi undersøker vi tykktarmen.',
  tekster: [
    { type: 'foer', overskrift: 'Forberedelser', tekst: 'Tarmen må tømmes.\n\nDrikk rikelig.' },
    { type: 'under', overskrift: null, tekst: 'Det tar 30 minutter.' },
    { type: null, overskrift: null, tekst: 'Spør oss gjerne.' },
  ],
  url: 'https://sykehus.example/koloskopi',
  oppmotesteder: [STED],
  telefon: '+47 00 00 10 01',
  epost: 'endoskopi@sykehus.example',
  helsehjelpsomraader: [{ kode: 'S03', tekst: 'Indremedisin' }],
  sistEndret: '2025-11-30',
};

describe('fhirId', () => {
  test.each([
    [['fnsp', '999100001'], 'fnsp-999100001'],
    [['fnsp', 'koloskopi', '999100001'], 'fnsp-koloskopi-999100001'],
  ])('%j is kept as it is', (parts, id) => {
    expect(fhirId(...parts)).toBe(id);
  });

  test('unsafe characters are replaced and a hash keeps ids apart', () => {
    const a = fhirId('fnsp-region', 'helse sør-øst');
    const b = fhirId('fnsp-region', 'helse-sor-ost');
    expect(a).toMatch(/^fnsp-region-helse-sor-ost-[0-9a-f]{10}$/);
    expect(b).toBe('fnsp-region-helse-sor-ost');
    expect(a).not.toBe(b);
  });

  test('a long id is cut to 64 characters with a hash', () => {
    const id = fhirId('fnsp', 'x'.repeat(80), '999100001');
    expect(id.length).toBeLessThanOrEqual(64);
    expect(id).toMatch(/^[A-Za-z0-9\-.]{1,64}$/);
    expect(fhirId('fnsp', 'x'.repeat(80), '999100002')).not.toBe(id);
  });
});

describe('toTrustOrganization', () => {
  const region = toRegionOrganization(REGION, ctx) as Organization;
  const org = toTrustOrganization(TRUST, ctx, {
    sites: [
      { navn: null, url: 'https://sykehus.example/en/', spraak: 'en', helseregion: null, foretak: null },
      { navn: null, url: 'https://sykehus.example/', spraak: 'nb', helseregion: null, foretak: null },
    ],
    partOf: organizationReference(region),
  });

  test('a trust is a no-basis-Organization with ENH and RSH identifiers, type HF and its RHF', () => {
    expect(expectValidFhir<Organization>(org)).toEqual({
      resourceType: 'Organization',
      id: 'fnsp-999100001',
      meta: {
        extension: [{ url: EXT_SOURCE_LICENCE, valueString: NLOD_2_0_LICENCE }],
        source: SOURCE,
        profile: ['http://hl7.no/fhir/StructureDefinition/no-basis-Organization'],
        tag: ctx.provenance.tag,
      },
      identifier: [
        { use: 'official', system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: '999100001' },
        { system: 'urn:oid:2.16.578.1.12.4.1.4.102', value: '4001' },
      ],
      active: true,
      type: [{ coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.8628', code: '2', display: 'HF' }] }],
      name: 'Eksempel Universitetssykehus HF',
      telecom: [
        { system: 'url', value: 'https://sykehus.example/', use: 'work', rank: 1 },
        { system: 'url', value: 'https://sykehus.example/en/', use: 'work', rank: 2 },
      ],
      partOf: {
        reference: 'Organization/fnsp-999100000',
        identifier: { system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: '999100000' },
        display: 'Eksempel Helse Sør RHF',
      },
    });
    expectNoBasisOrganization(org);
    expectSourceAndLicence(org, SOURCE, 'fnsp');
  });

  test('an RHF has type 8628|1', () => {
    expect(region.type).toEqual([
      { coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.8628', code: '1', display: 'RHF' }] },
    ]);
    expectNoBasisOrganization(expectValidFhir(region));
  });

  test('a region known by name only gets an id from its name and no identifier', () => {
    const r = toRegionOrganization({ navn: 'Helse Nord RHF', orgnr: null, reshId: null }, ctx) as Organization;
    expect(r.id).toMatch(/^fnsp-region-helse-nord-rhf-[0-9a-f]{10}$/);
    expect(r.identifier).toBeUndefined();
    expect(r.name).toBe('Helse Nord RHF');
    expectValidFhir(r);
  });

  test('a region with nothing to name it by is none', () => {
    expect(toRegionOrganization({ navn: null, orgnr: null, reshId: null }, ctx)).toBeNull();
    expect(fnspRegionId({ navn: null, orgnr: null, reshId: null })).toBeNull();
  });

  test('a trust known by RESH-id only', () => {
    const o = toTrustOrganization({ navn: null, orgnr: null, reshId: '4002', helseregion: null }, ctx);
    expect(o.id).toBe('fnsp-resh-4002');
    expect(o.identifier).toEqual([{ system: 'urn:oid:2.16.578.1.12.4.1.4.102', value: '4002' }]);
    expect(organizationReference(o).identifier).toEqual({ system: 'urn:oid:2.16.578.1.12.4.1.4.102', value: '4002' });
    expectValidFhir(o);
  });

  test('a site without a language ranks as the main site', () => {
    expect(
      toSiteTelecom({ navn: null, url: 'https://x.example/', spraak: null, helseregion: null, foretak: null }),
    ).toEqual({
      system: 'url',
      value: 'https://x.example/',
      use: 'work',
      rank: 1,
    });
  });
});

describe('toLocation', () => {
  const managingOrganization = {
    reference: 'Organization/fnsp-999100001/_history/0123456789abcdef',
    identifier: { system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: '999100001' },
    display: 'Eksempel Universitetssykehus HF',
  };
  const loc = toLocation(STED, ctx, { id: fnspLocationId(TRUST, STED), managingOrganization });

  test('a meeting place is a no-basis-Location with a no-basis-Address', () => {
    expect(expectValidFhir<Location>(loc)).toEqual({
      resourceType: 'Location',
      id: 'fnsp-loc-999100001-sted-1001',
      meta: {
        extension: [{ url: EXT_SOURCE_LICENCE, valueString: NLOD_2_0_LICENCE }],
        source: SOURCE,
        profile: ['http://hl7.no/fhir/StructureDefinition/no-basis-Location'],
        tag: ctx.provenance.tag,
      },
      identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.102', value: '4101' }],
      status: 'active',
      name: 'Endoskopiavdelingen',
      description: 'Inngang A, 2. etasje.',
      mode: 'instance',
      telecom: [{ system: 'phone', value: '+47 00 00 10 02', use: 'work' }],
      address: {
        use: 'work',
        type: 'physical',
        line: ['Sykehusveien 1'],
        city: 'OSLO',
        district: 'Oslo',
        _district: {
          extension: [
            {
              url: 'http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode',
              valueCoding: { system: 'urn:oid:2.16.578.1.12.4.1.1.3402', code: '0301', display: 'Oslo' },
            },
          ],
        },
        postalCode: '0150',
        country: 'NO',
      },
      managingOrganization,
    });
    expectNoBasisLocation(loc);
    expectSourceAndLicence(loc, SOURCE, 'fnsp');
  });

  test('a place without an id is keyed by its name and address', () => {
    const a = fnspLocationId(TRUST, { ...STED, id: null });
    expect(a).toMatch(/^fnsp-loc-999100001-[0-9a-f]{10}$/);
    expect(fnspLocationId(TRUST, { ...STED, id: null, navn: ' endoskopiavdelingen ' })).toBe(a);
    expect(fnspLocationId(TRUST, { ...STED, id: null, navn: 'Annet sted' })).not.toBe(a);
  });

  test('an address without a kommunenummer has no municipalitycode', () => {
    const a = toNoBasisAddress({
      adresselinjer: ['Storgata 5'],
      postnummer: '3000',
      poststed: 'DRAMMEN',
      kommune: null,
      kommunenummer: null,
    });
    expect(a).toEqual({
      use: 'work',
      type: 'physical',
      line: ['Storgata 5'],
      city: 'DRAMMEN',
      postalCode: '3000',
      country: 'NO',
    });
    expectNoBasisAddress(a);
  });
});

describe('toHealthcareService', () => {
  const providedBy = {
    reference: 'Organization/fnsp-999100001',
    identifier: { system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: '999100001' },
    display: 'Eksempel Universitetssykehus HF',
  };
  const locations = [{ reference: 'Location/fnsp-loc-999100001-sted-1001', display: 'Endoskopiavdelingen' }];
  const hs = toHealthcareService(TILBUD, ctx, { providedBy, locations });

  test('a procedure at a trust is a no-basis-HealthcareService; texts unaltered', () => {
    expect(expectValidFhir<HealthcareService>(hs)).toEqual({
      resourceType: 'HealthcareService',
      id: 'fnsp-koloskopi-999100001',
      meta: {
        extension: [{ url: EXT_SOURCE_LICENCE, valueString: NLOD_2_0_LICENCE }],
        source: SOURCE,
        profile: ['http://hl7.no/fhir/StructureDefinition/no-basis-HealthcareService'],
        tag: ctx.provenance.tag,
      },
      active: true,
      providedBy,
      type: [
        { coding: [{ system: 'http://snomed.info/sct', code: '73761001', display: 'Colonoscopy' }], text: 'Koloskopi' },
      ],
      specialty: [{ coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.8655', code: 'S03', display: 'Indremedisin' }] }],
      location: locations,
      name: 'Koloskopi (tykktarmsundersøkelse)',
      comment: 'Ved en koloskopi undersøker vi tykktarmen.',
      extraDetails:
        '## Forberedelser\n\nTarmen må tømmes.\n\nDrikk rikelig.\n\n## Under\n\nDet tar 30 minutter.\n\nSpør oss gjerne.',
      telecom: [
        { system: 'url', value: 'https://sykehus.example/koloskopi', use: 'work' },
        { system: 'phone', value: '+47 00 00 10 01', use: 'work' },
        { system: 'email', value: 'endoskopi@sykehus.example', use: 'work' },
      ],
    });
    expectNoBasisHealthcareService(hs);
    expectSourceAndLicence(hs, SOURCE, 'fnsp');
  });

  test('every text of the trust appears verbatim', () => {
    for (const t of TILBUD.tekster) expect(hs.extraDetails).toContain(t.tekst);
    expect(hs.comment).toBe(TILBUD.ingress);
    expect(hs.name).toBe(TILBUD.tittel);
  });

  test('without a title of its own the national name is the name; without codes, type is text only', () => {
    const bare = toHealthcareService(
      { ...TILBUD, tittel: null, tekster: [], helsehjelpsomraader: [], prosedyre: { ...TILBUD.prosedyre, snomed: [] } },
      ctx,
      { providedBy, locations: [] },
    );
    expect(bare.name).toBe('Koloskopi');
    expect(bare.type).toEqual([{ text: 'Koloskopi' }]);
    expect(bare.extraDetails).toBeUndefined();
    expect(bare.specialty).toBeUndefined();
    expect(bare.location).toBeUndefined();
    expectValidFhir(bare);
  });

  test('ids: procedure and trust', () => {
    expect(fnspHealthcareServiceId(TILBUD)).toBe('fnsp-koloskopi-999100001');
    expect(fnspOrganizationId(TRUST)).toBe('fnsp-999100001');
  });

  test('several SNOMED CT codes are several types', () => {
    const two = toHealthcareService(
      {
        ...TILBUD,
        prosedyre: {
          ...TILBUD.prosedyre,
          snomed: [
            { kode: '73761001', tekst: null },
            { kode: '446521004', tekst: null },
          ],
        },
      },
      ctx,
      { providedBy, locations },
    );
    expect(two.type).toEqual([
      { coding: [{ system: 'http://snomed.info/sct', code: '73761001' }], text: 'Koloskopi' },
      { coding: [{ system: 'http://snomed.info/sct', code: '446521004' }], text: 'Koloskopi' },
    ]);
  });

  test('pageTextsMarkdown', () => {
    expect(pageTextsMarkdown([])).toBeUndefined();
    expect(pageTextsMarkdown([{ type: 'etter', overskrift: null, tekst: 'Hvil.' }])).toBe('## Etter\n\nHvil.');
  });
});
