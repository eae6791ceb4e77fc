import type { CodeSystem, Parameters, TerminologyCapabilities, ValueSet } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  countryCodeSystem,
  ISO3166_URL,
  loadCountryCodeSystem,
  readCountryList,
} from '../../src/terminology/iso3166.ts';
import { expectValidFhir, fetchFhir, startTestServer, type TestServer } from '../support/fhir.ts';

/** ISO 3166-1 country codes from the iso-codes list (data/iso-3166), built at start-up (iso3166.ts). */

describe('the list and its CodeSystem', () => {
  const sample = {
    '3166-1': [
      { alpha_2: 'NO', alpha_3: 'NOR', numeric: '578', name: 'Norway', official_name: 'Kingdom of Norway', flag: 'x' },
      { alpha_2: 'SE', alpha_3: 'SWE', numeric: '752', name: 'Sweden' },
    ],
  };

  test('three codes per country, the name as display, the other names as designations', () => {
    const cs = expectValidFhir<CodeSystem>(countryCodeSystem(readCountryList(sample), '2023-04-27'));
    expect(cs.concept?.map((c) => [c.code, c.display])).toEqual([
      ['NO', 'Norway'],
      ['SE', 'Sweden'],
      ['NOR', 'Norway'],
      ['SWE', 'Sweden'],
      ['578', 'Norway'],
      ['752', 'Sweden'],
    ]);
    expect(cs.concept?.[0]?.designation).toEqual([{ language: 'en', value: 'Kingdom of Norway' }]);
    expect(cs.concept?.[4]?.property).toEqual([
      { code: 'type', valueCode: 'numeric' },
      { code: 'alpha-2', valueCode: 'NO' },
    ]);
  });

  test('a malformed list is refused', () => {
    expect(() => readCountryList({})).toThrow(/'3166-1'/);
    expect(() => readCountryList({ '3166-1': [{ alpha_2: 'NO' }] })).toThrow(/entry 0/);
  });

  test('the list in the repository: 249 countries, 747 codes', () => {
    const cs = loadCountryCodeSystem();
    expect(cs.concept).toHaveLength(747);
    expect(cs.concept?.find((c) => c.code === 'NO')?.display).toBe('Norway');
  });
});

describe('urn:iso:std:iso:3166 over HTTP', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer();
  });
  afterAll(async () => {
    await srv?.close();
  });

  const validate = async (url: string, code: string) =>
    (
      await fetchFhir<Parameters>(
        `${srv.baseUrl}/ValueSet/$validate-code?url=${url}&system=${ISO3166_URL}&code=${code}&display=Norway`,
      )
    ).body.parameter?.find((x) => x.name === 'result')?.valueBoolean;

  test('a jurisdiction of NO, NOR or 578 validates against the core jurisdiction value set; no and XX do not', async () => {
    const url = 'http://hl7.org/fhir/ValueSet/jurisdiction';
    expect(await validate(url, 'NO')).toBe(true);
    expect(await validate(url, 'NOR')).toBe(true);
    expect(await validate(url, '578')).toBe(true);
    expect(await validate(url, 'no')).toBe(false);
    expect(await validate(url, 'XX')).toBe(false);
  });

  test('an implicit value set of the system expands; listed in TerminologyCapabilities with its source', async () => {
    const vs: ValueSet = {
      resourceType: 'ValueSet',
      status: 'active',
      compose: { include: [{ system: ISO3166_URL }] },
    };
    const exp = await fetchFhir<ValueSet>(`${srv.baseUrl}/ValueSet/$expand`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'valueSet', resource: vs }] }),
    });
    expect(exp.status).toBe(200);
    expect(exp.body.expansion?.total).toBe(747);
    const caps = await fetchFhir<TerminologyCapabilities>(`${srv.baseUrl}/metadata?mode=terminology`);
    expect(caps.body.codeSystem?.find((c) => c.uri === ISO3166_URL)?.version?.[0]?.code).toBe('2023-04-27');
    const cs = await fetchFhir<CodeSystem>(`${srv.baseUrl}/CodeSystem/iso-3166`);
    expect(JSON.stringify(cs.body.meta?.extension)).toContain('LGPL-2.1-or-later');
  });
});
