/**
 * The catalogue of the Norwegian terminology the service embeds: every code system, value set and
 * concept map that does not come from the FHIR core package (the service's own code systems and the
 * Volven fragments included), with its title, canonical URL, OID and
 * other names (aliases), source, versions and date, and one example call. Built from the same loaders
 * the server uses, so the README's table (between the `catalogue` markers) cannot drift from the
 * data: `npm run catalogue` rewrites it, and a test fails when it is out of step.
 *
 * Usage: node src/catalogue.ts [--write]   (without --write: prints the table)
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CodeSystem, CodeSystemConcept, ConceptMap, ValueSet } from '@medplum/fhirtypes';
import { facadeCodeSystems } from '../mappings/facade-codesystems.ts';
import { loadConfig } from './config.ts';
import { seedFragments } from './directory/observed-codes.ts';
import { loadEmbeddedHelserefusjon } from './helserefusjon/embedded.ts';
import { loadTerminology } from './terminology/loader.ts';
import { type TerminologyStore, TX_RESOURCE_TYPES, type TxResource } from './terminology/store.ts';
import { compareVersions } from './terminology/versions.ts';
import { loadServedTerminology } from './terminology-sources.ts';

export const CATALOGUE_START = '<!-- catalogue:start (npm run catalogue writes this table) -->';
export const CATALOGUE_END = '<!-- catalogue:end -->';

export interface CatalogueRow {
  type: 'CodeSystem' | 'ValueSet' | 'ConceptMap';
  title: string;
  url: string;
  /** the OID (urn:oid) and every other URL the server accepts for it */
  aliases: string[];
  source: string;
  /** newest first */
  versions: string[];
  date?: string;
  /** a request path that shows it at work */
  example: string;
  /** code systems a value set includes that the server does not have (it cannot be expanded here) */
  missingSystems?: string[];
}

interface Sourced {
  resource: TxResource;
  source: string;
}

/** Every Norwegian resource with where it comes from: the Helserefusjon data, then each folder of TERMINOLOGY_DATA_DIR. */
function norwegianResources(
  terminologyDataDir: string,
  helserefusjonDataDir: string,
): {
  list: Sourced[];
  aliases: { url: string; alias: string }[];
} {
  const h = loadEmbeddedHelserefusjon(helserefusjonDataDir);
  const list: Sourced[] = [];
  const helfo = 'Helsedirektoratet: Helserefusjon open data (NLOD 2.0), embedded in data/helserefusjon';
  for (const r of [...h.codeSystems, ...h.valueSets, ...h.conceptMaps]) list.push({ resource: r, source: helfo });
  for (const folder of readdirSync(terminologyDataDir).sort()) {
    const dir = join(terminologyDataDir, folder);
    if (!statSync(dir).isDirectory()) continue;
    const store = loadTerminology(dir, { core: false });
    for (const type of TX_RESOURCE_TYPES) {
      for (const r of store.all(type)) {
        const publisher = typeof r.publisher === 'string' && r.publisher !== '' ? `${r.publisher}, ` : '';
        list.push({ resource: r, source: `${publisher}data/terminology/${folder} (see its SOURCE.md)` });
      }
    }
  }
  const own = 'no-fhir-facade: the codes this service defines (mappings/facade-codesystems.ts)';
  for (const cs of facadeCodeSystems()) list.push({ resource: cs, source: own });
  const held = (system: string) =>
    list.some((s) => s.resource.resourceType === 'CodeSystem' && oids(s.resource).includes(system));
  const fragment =
    'Fragment: the codes of HL7 Norway no-basis 2.2.2 examples (data/volven-utdrag), and those HPR and FNSP return while the service runs';
  for (const cs of seedFragments(held)) list.push({ resource: cs, source: fragment });
  return { list, aliases: h.aliases.map((a) => ({ url: a.url, alias: a.alias })) };
}

function oids(r: TxResource): string[] {
  const identifiers = (r.resourceType === 'ConceptMap' ? [r.identifier] : (r.identifier ?? [])) as
    | ({ system?: string; value?: string } | undefined)[]
    | undefined;
  const out: string[] = [];
  for (const i of identifiers ?? []) {
    if (i?.system === 'urn:ietf:rfc:3986' && i.value?.startsWith('urn:oid:') && i.value !== r.url) out.push(i.value);
  }
  return out;
}

function firstCode(concepts: CodeSystemConcept[] | undefined): string | undefined {
  return concepts?.find((c) => typeof c.code === 'string')?.code;
}

/** A query value, readable where it can be: canonical URLs and codes are usually safe as they are. */
function queryValue(s: string): string {
  return /^[A-Za-z0-9:/._~-]+$/.test(s) ? s : encodeURIComponent(s);
}

function example(r: TxResource): string {
  switch (r.resourceType) {
    case 'CodeSystem': {
      const code = firstCode((r as CodeSystem).concept);
      return code === undefined
        ? `/fhir/CodeSystem?url=${queryValue(r.url ?? '')}`
        : `/fhir/CodeSystem/$lookup?system=${queryValue(r.url ?? '')}&code=${queryValue(code)}`;
    }
    case 'ValueSet':
      return `/fhir/ValueSet/$expand?url=${queryValue((r as ValueSet).url ?? '')}&count=10`;
    default: {
      const group = (r as ConceptMap).group?.[0];
      const code = group?.element?.find((e) => typeof e.code === 'string')?.code;
      return group?.source && code
        ? `/fhir/ConceptMap/$translate?url=${queryValue(r.url ?? '')}&system=${queryValue(group.source)}&code=${queryValue(code)}`
        : `/fhir/ConceptMap?url=${queryValue(r.url ?? '')}`;
    }
  }
}

/** One row per canonical URL, in type order and then by URL; the newest version gives title, date and example. */
export function catalogueRows(
  terminologyDataDir: string,
  helserefusjonDataDir: string,
  served: TerminologyStore,
): CatalogueRow[] {
  const { list, aliases } = norwegianResources(terminologyDataDir, helserefusjonDataDir);
  const byUrl = new Map<string, Sourced[]>();
  for (const s of list) {
    const url = s.resource.url;
    if (!url) continue;
    const key = `${s.resource.resourceType}|${url}`;
    byUrl.set(key, [...(byUrl.get(key) ?? []), s]);
  }
  const rows: CatalogueRow[] = [];
  for (const group of byUrl.values()) {
    group.sort((a, b) => compareVersions(b.resource.version, a.resource.version));
    const newest = group[0].resource;
    const url = newest.url as string;
    const names = new Set<string>();
    for (const s of group) for (const o of oids(s.resource)) names.add(o);
    if (newest.resourceType === 'CodeSystem') for (const a of aliases) if (a.url === url) names.add(a.alias);
    const missing = newest.resourceType === 'ValueSet' ? missingSystems(newest as ValueSet, served) : [];
    rows.push({
      type: newest.resourceType,
      title: newest.title ?? newest.name ?? url,
      url,
      aliases: [...names],
      source: group[0].source,
      versions: group.map((s) => s.resource.version).filter((v): v is string => v !== undefined),
      ...(typeof newest.date === 'string' ? { date: newest.date.slice(0, 10) } : {}),
      // a value set that cannot be expanded here is shown by a read instead
      example: missing.length > 0 ? `/fhir/ValueSet?url=${queryValue(url)}` : example(newest),
      ...(missing.length > 0 ? { missingSystems: missing } : {}),
    });
  }
  const order = { CodeSystem: 0, ValueSet: 1, ConceptMap: 2 };
  return rows.sort((a, b) => order[a.type] - order[b.type] || (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
}

/** The code systems a value set includes by system that the store does not hold. */
function missingSystems(vs: ValueSet, store: TerminologyStore): string[] {
  const out: string[] = [];
  for (const inc of [...(vs.compose?.include ?? []), ...(vs.compose?.exclude ?? [])]) {
    const system = inc.system;
    if (!system || out.includes(system)) continue;
    if (store.versions('CodeSystem', store.canonicalUrl('CodeSystem', system)).length === 0) out.push(system);
  }
  return out;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function missingNote(r: CatalogueRow): string {
  if (!r.missingSystems) return '';
  const list = r.missingSystems.map((m) => `\`${cell(m)}\``).join(', ');
  return ` (not expandable here: it includes ${list}, which this server does not have)`;
}

/** The catalogue as a Markdown table (the README's section between the markers, markers excluded). */
export function renderCatalogue(rows: readonly CatalogueRow[]): string {
  const lines = [
    '| Type | Title | Canonical URL | OID and other names | Source | Versions (newest first) | Date | Example |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.type} | ${cell(r.title)} | \`${cell(r.url)}\` | ${r.aliases.map((a) => `\`${cell(a)}\``).join('<br>')} | ${cell(r.source)} | ${cell(r.versions.join(', '))} | ${r.date ?? ''} | \`GET ${cell(r.example)}\`${missingNote(r)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** README text with the catalogue section replaced. */
export function withCatalogue(readme: string, table: string): string {
  const start = readme.indexOf(CATALOGUE_START);
  const end = readme.indexOf(CATALOGUE_END);
  if (start < 0 || end < start)
    throw new Error(`README.md has no catalogue markers (${CATALOGUE_START} ... ${CATALOGUE_END})`);
  return `${readme.slice(0, start + CATALOGUE_START.length)}\n${table}${readme.slice(end)}`;
}

/** The table for the default data of this repository. */
export function defaultCatalogue(): string {
  const config = loadConfig({});
  const { store } = loadServedTerminology(config);
  return renderCatalogue(catalogueRows(config.terminologyDataDir, config.helserefusjonDataDir, store));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const table = defaultCatalogue();
  if (process.argv.includes('--write')) {
    const readmePath = join(dirname(fileURLToPath(import.meta.url)), '..', 'README.md');
    writeFileSync(readmePath, withCatalogue(readFileSync(readmePath, 'utf8'), table));
    process.stdout.write(`README.md: catalogue of ${table.split('\n').length - 3} resources written\n`);
  } else {
    process.stdout.write(table);
  }
}
