/**
 * Language tags, `urn:ietf:bcp:47` (BCP 47: RFC 5646 and the IANA Language Subtag Registry), as a
 * code system defined by a grammar: its codes are not listed but built from registered subtags, so
 * the CodeSystem resource says `content` = not-present and its index answers each code by parsing
 * it (http://hl7.org/fhir/R4/terminologies-systems.html lists the system; the FHIR page on BCP 47
 * names its filter properties).
 *
 * - A code is valid when it is well formed (RFC 5646 section 2.1) and valid (section 2.2.9): its
 *   language, extended language, script, region and variant subtags are in the registry (a private
 *   use range counts), an extended language follows its registered prefix, no variant and no
 *   extension singleton is repeated; or it is a grandfathered tag of the registry.
 * - Case is not significant (section 2.1.1): the code system is case-insensitive and the code is
 *   the canonical form (language lower case, script title case, region upper case), so `en-us`
 *   is valid with `en-US` as its normalised code.
 * - The display is the registry's first description of the language (or extended language), with
 *   the descriptions of script, region and variants in brackets: `en-US` is "English (United
 *   States)". The other descriptions of a language-only tag are designations. Descriptions are
 *   served as the registry words them.
 * - A deprecated subtag or tag (the registry's `Deprecated`) makes the code `deprecated`: still
 *   valid, with the engine's deprecation warning.
 * - Properties, for the filters the FHIR page defines (`exists`): language, ext-lang, script,
 *   region, variant, extension, private-use.
 * - The codes cannot be listed (grammar-systems.ts): the core `all-languages` value set is not
 *   expanded, the core `languages` value set, which lists its codes, is.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { CodeSystem, CodeSystemConcept, CodeSystemConceptProperty } from '@medplum/fhirtypes';
import { GrammarIndex, markGrammar } from './grammar-systems.ts';

export const BCP47_URL = 'urn:ietf:bcp:47';

/** The npm package that carries the IANA registry as JSON (CC0-1.0), pinned in package.json. */
const REGISTRY_PACKAGE = 'language-subtag-registry';

/** One record of the IANA registry, as the package gives it. */
interface RegistryRecord {
  Type: string;
  Subtag?: string;
  Tag?: string;
  Description: string[];
  Deprecated?: string;
  'Preferred-Value'?: string;
  Prefix?: string[];
  Scope?: string;
}

type SubtagType = 'language' | 'extlang' | 'script' | 'region' | 'variant';

/** The registry, by type and lower-cased subtag; `a..b` ranges (private use) kept apart. */
export interface SubtagRegistry {
  /** the registry's File-Date: the version of the code system */
  fileDate: string;
  packageVersion: string;
  subtags: Record<SubtagType, Map<string, RegistryRecord>>;
  ranges: Record<SubtagType, { from: string; to: string; record: RegistryRecord }[]>;
  /** grandfathered tags, by lower-cased tag */
  grandfathered: Map<string, RegistryRecord>;
}

let loaded: SubtagRegistry | undefined;

/** The IANA Language Subtag Registry of the pinned package, read once. */
export function subtagRegistry(): SubtagRegistry {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const read = (file: string): unknown =>
    JSON.parse(readFileSync(require.resolve(`${REGISTRY_PACKAGE}/${file}`), 'utf8')) as unknown;
  const records = read('data/json/registry.json') as RegistryRecord[];
  const meta = read('data/json/meta.json') as { 'File-Date': string };
  const pkg = read('package.json') as { version: string };
  const types: SubtagType[] = ['language', 'extlang', 'script', 'region', 'variant'];
  const subtags = {} as SubtagRegistry['subtags'];
  const ranges = {} as SubtagRegistry['ranges'];
  for (const t of types) {
    subtags[t] = new Map();
    ranges[t] = [];
  }
  const grandfathered = new Map<string, RegistryRecord>();
  for (const r of records) {
    if (r.Type === 'grandfathered' && r.Tag) grandfathered.set(r.Tag.toLowerCase(), r);
    if (!types.includes(r.Type as SubtagType) || !r.Subtag) continue;
    const type = r.Type as SubtagType;
    const subtag = r.Subtag.toLowerCase();
    const range = subtag.split('..');
    if (range.length === 2) ranges[type].push({ from: range[0], to: range[1], record: r });
    else subtags[type].set(subtag, r);
  }
  loaded = { fileDate: meta['File-Date'], packageVersion: pkg.version, subtags, ranges, grandfathered };
  return loaded;
}

function registered(reg: SubtagRegistry, type: SubtagType, subtag: string): RegistryRecord | undefined {
  const found = reg.subtags[type].get(subtag);
  if (found) return found;
  // ranges hold subtags of one length (qaa..qtz, Qaaa..Qabx, QM..QZ, XA..XZ)
  for (const r of reg.ranges[type]) {
    if (subtag.length === r.from.length && subtag >= r.from && subtag <= r.to) return r.record;
  }
  return undefined;
}

/** A parsed tag: its canonical form and its parts, or why it is not a valid tag. */
export type ParsedTag =
  | {
      ok: true;
      code: string;
      display: string;
      /** the other descriptions of a language-only tag */
      synonyms: string[];
      deprecated: boolean;
      properties: CodeSystemConceptProperty[];
    }
  | { ok: false; reason: string };

const ALPHA = /^[a-z]+$/;
const DIGIT = /^[0-9]+$/;
const ALNUM = /^[a-z0-9]+$/;

/** Parses and checks a language tag against the registry (RFC 5646, sections 2.1 and 2.2.9). */
export function parseTag(tag: string, reg: SubtagRegistry = subtagRegistry()): ParsedTag {
  const lower = tag.toLowerCase();
  const grand = reg.grandfathered.get(lower);
  if (grand?.Tag) {
    return {
      ok: true,
      code: grand.Tag,
      display: grand.Description[0],
      synonyms: grand.Description.slice(1),
      deprecated: grand.Deprecated !== undefined,
      properties: [],
    };
  }
  const parts = lower.split('-');
  if (parts.some((p) => p.length === 0 || p.length > 8 || !ALNUM.test(p))) {
    return { ok: false, reason: 'subtags are 1 to 8 letters or digits, separated by hyphens' };
  }
  const properties: CodeSystemConceptProperty[] = [];
  const prop = (code: string, value: string) => properties.push({ code, valueCode: value });
  const canonical: string[] = [];
  let i = 0;
  let deprecated = false;
  let name: string;
  let synonyms: string[] = [];
  const qualifiers: string[] = [];

  if (parts[0] === 'x') {
    // a private use tag only
    if (parts.length < 2) return { ok: false, reason: "a private use tag needs a subtag after 'x'" };
    prop('private-use', parts.slice(1).join('-'));
    return { ok: true, code: lower, display: 'Private use', synonyms: [], deprecated: false, properties };
  }

  const language = parts[i++];
  if (!ALPHA.test(language) || language.length < 2)
    return { ok: false, reason: `'${language}' is not a language subtag` };
  const lang = registered(reg, 'language', language);
  if (!lang) return { ok: false, reason: `the language subtag '${language}' is not registered` };
  canonical.push(language);
  prop('language', language);
  deprecated ||= lang.Deprecated !== undefined;
  name = lang.Description[0];
  synonyms = lang.Description.slice(1);

  // one extended language subtag, after a primary language of 2 or 3 letters
  if (language.length <= 3 && i < parts.length && parts[i].length === 3 && ALPHA.test(parts[i])) {
    const extlang = parts[i++];
    const ext = registered(reg, 'extlang', extlang);
    if (!ext) return { ok: false, reason: `the extended language subtag '${extlang}' is not registered` };
    if (ext.Prefix && !ext.Prefix.some((p) => p.toLowerCase() === language)) {
      return {
        ok: false,
        reason: `the extended language subtag '${extlang}' follows '${ext.Prefix.join("' or '")}' only`,
      };
    }
    canonical.push(extlang);
    prop('ext-lang', extlang);
    deprecated ||= ext.Deprecated !== undefined;
    name = ext.Description[0];
    synonyms = [];
  }
  if (i < parts.length && parts[i].length === 4 && ALPHA.test(parts[i])) {
    const script = parts[i++];
    const rec = registered(reg, 'script', script);
    if (!rec) return { ok: false, reason: `the script subtag '${script}' is not registered` };
    const title = script[0].toUpperCase() + script.slice(1);
    canonical.push(title);
    prop('script', title);
    deprecated ||= rec.Deprecated !== undefined;
    qualifiers.push(rec.Description[0]);
  }
  if (
    i < parts.length &&
    ((parts[i].length === 2 && ALPHA.test(parts[i])) || (parts[i].length === 3 && DIGIT.test(parts[i])))
  ) {
    const region = parts[i++];
    const rec = registered(reg, 'region', region);
    if (!rec) return { ok: false, reason: `the region subtag '${region}' is not registered` };
    canonical.push(region.toUpperCase());
    prop('region', region.toUpperCase());
    deprecated ||= rec.Deprecated !== undefined;
    qualifiers.push(rec.Description[0]);
  }
  const variants = new Set<string>();
  while (
    i < parts.length &&
    ((parts[i].length >= 5 && parts[i].length <= 8) || (parts[i].length === 4 && /^[0-9]/.test(parts[i])))
  ) {
    const variant = parts[i++];
    if (variants.has(variant)) return { ok: false, reason: `the variant subtag '${variant}' is repeated` };
    variants.add(variant);
    const rec = registered(reg, 'variant', variant);
    if (!rec) return { ok: false, reason: `the variant subtag '${variant}' is not registered` };
    canonical.push(variant);
    prop('variant', variant);
    deprecated ||= rec.Deprecated !== undefined;
    qualifiers.push(rec.Description[0]);
  }
  const singletons = new Set<string>();
  while (i < parts.length && parts[i].length === 1 && parts[i] !== 'x') {
    const singleton = parts[i++];
    if (singletons.has(singleton)) return { ok: false, reason: `the extension '${singleton}' is repeated` };
    singletons.add(singleton);
    const from = i;
    while (i < parts.length && parts[i].length >= 2) i++;
    if (i === from) return { ok: false, reason: `the extension '${singleton}' has no subtag` };
    const extension = [singleton, ...parts.slice(from, i)].join('-');
    canonical.push(extension);
    prop('extension', extension);
  }
  if (i < parts.length && parts[i] === 'x') {
    if (i + 1 >= parts.length) return { ok: false, reason: "a private use part needs a subtag after 'x'" };
    const privateUse = parts.slice(i + 1).join('-');
    canonical.push(`x-${privateUse}`);
    prop('private-use', privateUse);
    i = parts.length;
  }
  if (i < parts.length) return { ok: false, reason: `the subtag '${parts[i]}' is not allowed where it stands` };
  if (qualifiers.length > 0) synonyms = [];
  return {
    ok: true,
    code: canonical.join('-'),
    display: qualifiers.length > 0 ? `${name} (${qualifiers.join(', ')})` : name,
    synonyms,
    deprecated,
    properties,
  };
}

/** The concept element a valid tag stands for. */
function conceptOf(parsed: Extract<ParsedTag, { ok: true }>): CodeSystemConcept {
  const property = [...parsed.properties];
  if (parsed.deprecated) property.push({ code: 'status', valueCode: 'deprecated' });
  return {
    code: parsed.code,
    display: parsed.display,
    ...(parsed.synonyms.length > 0 ? { designation: parsed.synonyms.map((value) => ({ language: 'en', value })) } : {}),
    ...(property.length > 0 ? { property } : {}),
  };
}

/** The BCP 47 grammar of a CodeSystem resource: codes parsed against the registry. */
export function attachBcp47(cs: CodeSystem): CodeSystem {
  const registry = subtagRegistry();
  return markGrammar(
    cs,
    (resource) =>
      new GrammarIndex(resource, 'BCP 47 language tags', (code) => {
        const parsed = parseTag(code, registry);
        return parsed.ok ? conceptOf(parsed) : undefined;
      }),
  );
}

const PROPERTIES: [string, string][] = [
  ['language', 'The primary language subtag'],
  ['ext-lang', 'The extended language subtag'],
  ['script', 'The script subtag'],
  ['region', 'The region subtag'],
  ['variant', 'A variant subtag'],
  ['extension', 'An extension (its singleton and subtags)'],
  ['private-use', 'The private use subtags'],
];

/** The CodeSystem resource of BCP 47, as this server serves it, with its grammar attached. */
export function bcp47CodeSystem(): CodeSystem {
  const reg = subtagRegistry();
  return attachBcp47({
    resourceType: 'CodeSystem',
    id: 'bcp-47',
    url: BCP47_URL,
    version: reg.fileDate,
    name: 'BCP47',
    title: 'Tags for Identifying Languages (BCP 47)',
    status: 'active',
    experimental: false,
    publisher: 'IETF (RFC 5646); subtags from the IANA Language Subtag Registry',
    description:
      `Language tags as defined by BCP 47 (RFC 5646), checked against the IANA Language Subtag Registry of ${reg.fileDate}. ` +
      'The codes are not listed: each tag is parsed, and its display is made from the registry descriptions of its subtags.',
    caseSensitive: false,
    content: 'not-present',
    language: 'en',
    property: [
      ...PROPERTIES.map(([code, description]) => ({ code, description, type: 'code' as const })),
      { code: 'status', uri: 'http://hl7.org/fhir/concept-properties#status', type: 'code' as const },
    ],
    filter: PROPERTIES.map(([code]) => ({
      code,
      description: `Whether the tag has a ${code} part`,
      operator: ['exists' as const],
      value: 'true or false',
    })),
  });
}

/** Where the BCP 47 data come from, for the resource's `meta` (loader.ts). */
export function bcp47Provenance(): { source: string; licence: string } {
  const reg = subtagRegistry();
  return {
    source: `https://www.npmjs.com/package/${REGISTRY_PACKAGE}/v/${reg.packageVersion}`,
    licence:
      `IANA Language Subtag Registry, File-Date ${reg.fileDate} (https://www.iana.org/assignments/language-subtag-registry), ` +
      `as packaged in the npm package ${REGISTRY_PACKAGE} ${reg.packageVersion} (CC0-1.0). Descriptions served unchanged.`,
  };
}
