/**
 * Currency codes, `urn:iso:std:iso:4217` (the system of `Money.currency`, whose R4 binding to the
 * `currencies` value set is required), built at start-up from ISO 4217 "list one" as the
 * maintenance agency publishes it (`data/iso-4217/list-one.xml`, see its SOURCE.md).
 *
 * One concept per alphabetic code (`Ccy`), in the order of first appearance; its display is the
 * currency name (`CcyNm`) as the list words it. Properties: `number` (`CcyNbr`), `minor-units`
 * (`CcyMnrUnts`, as written: "2", or "N.A." for gold and the like), `fund` (the list's `IsFund`) and
 * one `entity` per country or area the list names for it (`CtryNm`). The list's publication date
 * (`Pblshd`) is the version. Entries without a code ("No universal currency") give no concept.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CodeSystem, CodeSystemConcept } from '@medplum/fhirtypes';
import sax from 'sax';

export const ISO4217_URL = 'urn:iso:std:iso:4217';

/** The list as kept in the repository. */
export const ISO4217_FILE = fileURLToPath(new URL('../../data/iso-4217/list-one.xml', import.meta.url));

/** One `CcyNtry` of the list. */
export interface CurrencyEntry {
  country?: string;
  name?: string;
  code?: string;
  number?: string;
  minorUnits?: string;
  fund: boolean;
}

/** The entries and publication date of an ISO 4217 list-one XML document. */
export function readCurrencyList(xml: string): { published: string; entries: CurrencyEntry[] } {
  const parser = sax.parser(true, { trim: true });
  const entries: CurrencyEntry[] = [];
  let published = '';
  let entry: CurrencyEntry | undefined;
  let field: string | undefined;
  parser.onopentag = (tag) => {
    if (tag.name === 'ISO_4217') published = String(tag.attributes.Pblshd ?? '');
    else if (tag.name === 'CcyNtry') entry = { fund: false };
    else if (entry) {
      field = tag.name;
      if (tag.name === 'CcyNm' && tag.attributes.IsFund === 'true') entry.fund = true;
    }
  };
  parser.ontext = (text) => {
    if (!entry || !field) return;
    if (field === 'CtryNm') entry.country = text;
    else if (field === 'CcyNm') entry.name = text;
    else if (field === 'Ccy') entry.code = text;
    else if (field === 'CcyNbr') entry.number = text;
    else if (field === 'CcyMnrUnts') entry.minorUnits = text;
  };
  parser.onclosetag = (name) => {
    if (name === 'CcyNtry' && entry) {
      entries.push(entry);
      entry = undefined;
    }
    field = undefined;
  };
  parser.write(xml).close();
  if (!/^\d{4}-\d{2}-\d{2}$/.test(published)) throw new Error('ISO 4217 list: no publication date (Pblshd)');
  return { published, entries };
}

/** The CodeSystem of the entries (pure: the list in, the resource out). */
export function currencyCodeSystem(published: string, entries: readonly CurrencyEntry[]): CodeSystem {
  const concepts = new Map<string, CodeSystemConcept>();
  for (const e of entries) {
    if (!e.code) continue;
    let c = concepts.get(e.code);
    if (!c) {
      c = { code: e.code, ...(e.name ? { display: e.name } : {}), property: [] };
      if (e.number) c.property?.push({ code: 'number', valueCode: e.number });
      if (e.minorUnits) c.property?.push({ code: 'minor-units', valueString: e.minorUnits });
      if (e.fund) c.property?.push({ code: 'fund', valueBoolean: true });
      concepts.set(e.code, c);
    }
    if (e.country) c.property?.push({ code: 'entity', valueString: e.country });
  }
  return {
    resourceType: 'CodeSystem',
    id: 'iso-4217',
    url: ISO4217_URL,
    version: published,
    name: 'ISO4217',
    title: 'ISO 4217 currency codes',
    status: 'active',
    experimental: false,
    publisher: 'ISO (maintenance agency: SIX Financial Information)',
    description: `The alphabetic currency codes of ISO 4217, list one as published on ${published}: currency names, numeric codes, minor units and the entities that use each currency, as the list gives them.`,
    caseSensitive: true,
    content: 'complete',
    count: concepts.size,
    property: [
      { code: 'number', description: 'The numeric code (CcyNbr)', type: 'code' },
      {
        code: 'minor-units',
        description: 'The number of minor units (CcyMnrUnts), as the list writes it',
        type: 'string',
      },
      { code: 'fund', description: 'A fund code (IsFund)', type: 'boolean' },
      { code: 'entity', description: 'A country or area that uses the currency (CtryNm)', type: 'string' },
    ],
    concept: [...concepts.values()],
  };
}

/** The currency CodeSystem of the list in the repository. */
export function loadCurrencyCodeSystem(file = ISO4217_FILE): CodeSystem {
  const { published, entries } = readCurrencyList(readFileSync(file, 'utf8'));
  return currencyCodeSystem(published, entries);
}

/** Where the list comes from, for the resource's `meta` (loader.ts). */
export function currencyProvenance(published: string): { source: string; licence: string } {
  return {
    source: 'https://www.npmjs.com/package/currency-codes/v/2.2.0',
    licence:
      `ISO 4217 list one, published ${published} by SIX Financial Information, the maintenance agency, on behalf of ISO ` +
      '(https://www.six-group.com/en/products-services/financial-information/data-standards.html); copied from the ' +
      'npm package currency-codes 2.2.0 (MIT), file iso-4217-list-one.xml. Names and codes served unchanged.',
  };
}
