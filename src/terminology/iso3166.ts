/**
 * Country codes, `urn:iso:std:iso:3166` (ISO 3166-1: the system of the `jurisdiction` of every
 * canonical resource, and of many addresses), built at start-up from the ISO 3166-1 list of the
 * Debian `iso-codes` project (`data/iso-3166/iso_3166-1.json`, see its SOURCE.md).
 *
 * FHIR names the system for the 2-letter, 3-letter and numeric codes alike
 * (http://hl7.org/fhir/R4/terminologies-systems.html), so each country gives three concepts: its
 * alpha-2 code, its alpha-3 code and its numeric code, each with the country's `name` as display
 * and its official and common names, where the list has them, as designations. Property `type`
 * says which kind a code is; `alpha-2` ties an alpha-3 or numeric code to its country.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CodeSystem, CodeSystemConcept, CodeSystemConceptDesignation } from '@medplum/fhirtypes';

export const ISO3166_URL = 'urn:iso:std:iso:3166';

/** The list as kept in the repository. */
export const ISO3166_FILE = fileURLToPath(new URL('../../data/iso-3166/iso_3166-1.json', import.meta.url));

/** The iso-codes release the list is from, and its date (the code system's version). */
export const ISO3166_RELEASE = { package: 'iso-codes 4.15.0 (Debian 4.15.0-1)', date: '2023-04-27' };

/** One country of the list. */
export interface CountryEntry {
  alpha_2: string;
  alpha_3: string;
  numeric: string;
  name: string;
  official_name?: string;
  common_name?: string;
}

/** The countries of an iso-codes `iso_3166-1.json` document; a malformed entry stops the start. */
export function readCountryList(json: unknown): CountryEntry[] {
  const list = (json as { '3166-1'?: unknown } | null)?.['3166-1'];
  if (!Array.isArray(list)) throw new Error("ISO 3166-1 list: no '3166-1' array");
  return list.map((e, i) => {
    const ok =
      typeof e?.alpha_2 === 'string' &&
      typeof e.alpha_3 === 'string' &&
      typeof e.numeric === 'string' &&
      typeof e.name === 'string';
    if (!ok) throw new Error(`ISO 3166-1 list: entry ${i} lacks alpha_2, alpha_3, numeric or name`);
    return e as CountryEntry;
  });
}

/** The CodeSystem of the countries (pure: the list in, the resource out). */
export function countryCodeSystem(entries: readonly CountryEntry[], version: string): CodeSystem {
  const concept: CodeSystemConcept[] = [];
  const kinds = ['alpha-2', 'alpha-3', 'numeric'] as const;
  for (const kind of kinds) {
    for (const e of entries) {
      const designation: CodeSystemConceptDesignation[] = [];
      if (e.official_name) designation.push({ language: 'en', value: e.official_name });
      if (e.common_name) designation.push({ language: 'en', value: e.common_name });
      const code = kind === 'alpha-2' ? e.alpha_2 : kind === 'alpha-3' ? e.alpha_3 : e.numeric;
      concept.push({
        code,
        display: e.name,
        ...(designation.length > 0 ? { designation } : {}),
        property: [
          { code: 'type', valueCode: kind },
          ...(kind === 'alpha-2' ? [] : [{ code: 'alpha-2', valueCode: e.alpha_2 }]),
        ],
      });
    }
  }
  return {
    resourceType: 'CodeSystem',
    id: 'iso-3166',
    url: ISO3166_URL,
    version,
    name: 'ISO3166',
    title: 'ISO 3166-1 country codes',
    status: 'active',
    experimental: false,
    publisher: 'ISO (list as kept by the Debian iso-codes project)',
    description:
      'The country codes of ISO 3166-1: for each country its 2-letter, 3-letter and numeric code, with the names ' +
      `the iso-codes list gives (${ISO3166_RELEASE.package}). User-assigned codes are not included.`,
    caseSensitive: true,
    content: 'complete',
    count: concept.length,
    property: [
      { code: 'type', description: 'The kind of code: alpha-2, alpha-3 or numeric', type: 'code' },
      { code: 'alpha-2', description: 'The 2-letter code of the country', type: 'code' },
    ],
    concept,
  };
}

/** The country CodeSystem of the list in the repository. */
export function loadCountryCodeSystem(file = ISO3166_FILE): CodeSystem {
  return countryCodeSystem(readCountryList(JSON.parse(readFileSync(file, 'utf8'))), ISO3166_RELEASE.date);
}

/** Where the list comes from, for the resource's `meta` (loader.ts). */
export function countryProvenance(): { source: string; licence: string } {
  return {
    source: 'https://salsa.debian.org/iso-codes-team/iso-codes/-/tree/v4.15.0',
    licence:
      `ISO 3166-1 codes and names as listed by the iso-codes project (${ISO3166_RELEASE.package}, data/json/iso_3166-1.json), ` +
      'LGPL-2.1-or-later; the file is served unchanged (data/iso-3166 in this repository, with the licence text).',
  };
}
