import type { Coding, Extension, ValueSet } from '@medplum/fhirtypes';

/**
 * Display-language handling for $expand (and anyone who needs to pick a display by language).
 *
 * - Which language list applies: the `displayLanguage` parameter, else the value set's
 *   `valueset-expansion-parameter` extension, else the HTTP `Accept-Language` header, else
 *   `ValueSet.language` (tx-ecosystem IG, "Display language priority").
 * - A language list has the syntax of Accept-Language (RFC 9110 §12.5.4): `de, en;q=0.8, *;q=0`.
 * - Matching follows BCP 47 lookup loosely (RFC 4647): `de` matches `de` and `de-CH`; `de-DE`
 *   falls back to plain `de`; `*` matches anything.
 */

export const EXPANSION_PARAMETER_EXT = 'http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter';

/** The designation use that marks a concept's display when it is listed as a designation. */
export const PREFERRED_FOR_LANGUAGE: Coding = {
  system: 'http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra',
  code: 'preferredForLanguage',
  display: 'Preferred For Language',
};

/**
 * Whether a designation can stand as a concept's display in its language, and how well: 0 for
 * no use, `display` (designation-usage) or `preferredForLanguage`; 1 for a SNOMED CT synonym
 * (the form a language reference set gives its preferred terms); 2 for a SNOMED CT fully
 * specified name. `undefined`: a designation of another use (an abbreviation, a local variant)
 * is never a display. $expand, $lookup and $validate-code all judge displays by this.
 */
export function displayRank(use: Coding | undefined): number | undefined {
  if (use === undefined) return 0;
  switch (use.code) {
    case 'display':
    case PREFERRED_FOR_LANGUAGE.code:
      return 0;
    case '900000000000013009':
      return 1;
    case '900000000000003001':
      return 2;
    default:
      return undefined;
  }
}

/** Display candidates in the order a choice should weigh them: plain displays, then synonyms, then FSNs. */
export function byDisplayRank<T extends { use?: Coding }>(designations: readonly T[]): T[] {
  const ranked = designations.filter((d) => displayRank(d.use) !== undefined);
  return ranked.sort((a, b) => (displayRank(a.use) ?? 0) - (displayRank(b.use) ?? 0));
}

export interface LanguagePreference {
  /** lower-cased language range, or `*` */
  range: string;
  /** quality 0..1; 0 means "not acceptable" */
  q: number;
}

/**
 * Whether a value is a language list in the syntax of Accept-Language (RFC 9110 §12.5.4): ranges
 * of 1 to 8 letters and `-`-joined subtags of 1 to 8 letters or digits (RFC 4647), or `*`, each
 * with an optional `;q=` weight between 0 and 1.
 */
export function isLanguageList(value: string): boolean {
  const entries = value.split(',');
  return entries.every((entry) => {
    const [range, ...params] = entry.split(';').map((x) => x.trim());
    if (!(range === '*' || /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(range ?? ''))) return false;
    return params.every((p) => /^q\s*=\s*(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$/i.test(p));
  });
}

/** Parses an Accept-Language style list; entries come out sorted by quality, ties in given order. */
export function parseLanguagePreferences(value: string | undefined): LanguagePreference[] {
  if (!value) return [];
  const out: (LanguagePreference & { i: number })[] = [];
  value.split(',').forEach((part, i) => {
    const [tag, ...params] = part.split(';').map((s) => s.trim());
    if (!tag) return;
    let q = 1;
    for (const p of params) {
      const m = /^q\s*=\s*([0-9.]+)$/i.exec(p);
      if (m) q = Math.max(0, Math.min(1, Number(m[1])));
    }
    out.push({ range: tag.toLowerCase(), q: Number.isNaN(q) ? 1 : q, i });
  });
  out.sort((a, b) => b.q - a.q || a.i - b.i);
  return out.map(({ range, q }) => ({ range, q }));
}

/**
 * A language list as an expansion echoes it: as the client wrote it, unless it gives weights,
 * when each entry is written `tag; q=value` and the entries are separated by `, ` (the form the
 * reference server writes, as the tx-ecosystem 1.9.3 tests have it: `de,*; q=0` echoes `de, *; q=0`).
 */
export function echoLanguageList(value: string): string {
  if (!/;\s*q\s*=/i.test(value)) return value;
  return value
    .split(',')
    .map((part) =>
      part
        .split(';')
        .map((x) => x.trim().replace(/^q\s*=\s*/i, 'q='))
        .filter((x) => x !== '')
        .join('; '),
    )
    .filter((x) => x !== '')
    .join(', ');
}

/**
 * How well a language tag satisfies a range: 3 exact, 2 the range is a prefix of the tag
 * (`de` for `de-CH`), 1 same primary language (`de-DE` for `de`), 0 no match. `*` gives 1.
 */
export function languageMatchQuality(range: string, tag: string | undefined): number {
  if (range === '*') return 1;
  if (!tag) return 0;
  const r = range.toLowerCase();
  const t = tag.toLowerCase();
  if (r === t) return 3;
  if (t.startsWith(`${r}-`)) return 2;
  if (r.split('-')[0] === t.split('-')[0]) return 1;
  return 0;
}

/** Whether a tag is acceptable for a range (`de` accepts `de-CH`; `*` accepts all). */
export function languageMatches(range: string, tag: string | undefined): boolean {
  return languageMatchQuality(range, tag) >= 2 || (range === '*' && tag !== undefined);
}

/** The extension's earlier home, in the HL7 tools IG (deprecated there, replaced by EXPANSION_PARAMETER_EXT). */
const TOOLS_EXPANSION_PARAMETER_EXT = 'http://hl7.org/fhir/tools/StructureDefinition/valueset-expansion-parameter';

/** Values of `valueset-expansion-parameter` extensions (on ValueSet or ValueSet.compose, R5 puts them on compose). */
export function valueSetExpansionParameters(vs: ValueSet): Map<string, string> {
  const out = new Map<string, string>();
  const read = (exts: Extension[] | undefined): void => {
    for (const ext of Array.isArray(exts) ? exts : []) {
      if (ext?.url !== EXPANSION_PARAMETER_EXT && ext?.url !== TOOLS_EXPANSION_PARAMETER_EXT) continue;
      const name = ext.extension?.find((e) => e.url === 'name');
      const value = ext.extension?.find((e) => e.url === 'value');
      const n = name?.valueCode ?? name?.valueString;
      if (!n || !value) continue;
      const v = primitiveOf(value);
      if (v !== undefined && !out.has(n)) out.set(n, v);
    }
  };
  read(vs.compose?.extension);
  read(vs.extension);
  return out;
}

function primitiveOf(ext: Extension): string | undefined {
  for (const [k, v] of Object.entries(ext)) {
    if (!k.startsWith('value')) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  }
  return undefined;
}

/**
 * The display-language list that applies to an expansion (tx-ecosystem IG: displayLanguage
 * parameter > the value set's expansion-parameter extension > Accept-Language > ValueSet.language).
 */
export function resolveDisplayLanguage(
  parameter: string | undefined,
  valueSet: ValueSet | undefined,
  acceptLanguage: string | undefined,
): string | undefined {
  if (parameter) return parameter;
  const fromVs = valueSet ? valueSetExpansionParameters(valueSet).get('displayLanguage') : undefined;
  if (fromVs) return fromVs;
  // `Accept-Language: *` (what fetch clients send by default) states no preference
  if (acceptLanguage && parseLanguagePreferences(acceptLanguage).some((p) => p.range !== '*')) {
    return acceptLanguage.trim();
  }
  return valueSet?.language;
}

/** A possible display of a concept: its own display or one of its designations. */
export interface DisplayCandidate {
  value: string;
  language?: string;
}

/**
 * Picks the display for a list of language preferences.
 * - `defaultDisplay` is the concept's display, in `defaultLanguage` (the code system's language).
 * - `candidates` are designations that may serve as a display in their language.
 * Returns the index of the chosen candidate, `'default'` for the concept's own display, or
 * `'none'` when the list rules out every language present (`*;q=0` and no match).
 */
export function chooseDisplay(
  prefs: readonly LanguagePreference[],
  defaultLanguage: string | undefined,
  hasDefault: boolean,
  candidates: readonly DisplayCandidate[],
): number | 'default' | 'none' {
  if (prefs.length === 0) return 'default';
  for (const pref of prefs) {
    if (pref.q <= 0) continue;
    if (pref.range === '*') return 'default';
    // the concept's own display first, when it is in that language
    if (hasDefault && languageMatchQuality(pref.range, defaultLanguage) >= 2) return 'default';
    let best = -1;
    let bestQuality = 0;
    candidates.forEach((c, i) => {
      const quality = languageMatchQuality(pref.range, c.language);
      if (quality > bestQuality) {
        best = i;
        bestQuality = quality;
      }
    });
    if (best >= 0) return best;
    if (hasDefault && languageMatchQuality(pref.range, defaultLanguage) === 1) return 'default';
  }
  // Nothing matched: an explicit `*;q=0` means no other language is acceptable; otherwise fall
  // back to the concept's own display.
  const refusesOthers = prefs.some((p) => p.range === '*' && p.q <= 0);
  return refusesOthers ? 'none' : 'default';
}
