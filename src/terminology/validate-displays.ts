/**
 * Displays in $validate-code: which displays and designations a code has (code system,
 * supplements, value set), in which languages, and how a display the caller gave is judged
 * (tx-ecosystem IG, languages.md "Validation", and requirements.md "Inactive Codes": a display
 * that is an inactive designation is reported as no longer current).
 *
 * - A display is valid when it matches (case-insensitively) a display in one of the requested
 *   languages; with no language requested, any display of the code.
 * - When no display exists in the requested languages, the display is checked against the code
 *   system's default language: a match is information, else an error (a warning when lenient).
 * - Only whitespace differs: the message says so.
 * - `lenient-display-validation` turns errors about displays into warnings.
 */
import type {
  CodeSystem,
  CodeSystemConceptDesignation,
  Coding,
  ValueSet,
  ValueSetComposeIncludeConcept,
} from '@medplum/fhirtypes';
import type { IndexedConcept } from './codesystem-index.ts';
import { indexCodeSystem, standardsStatus } from './codesystem-index.ts';
import { displayRank, languageMatchQuality, parseLanguagePreferences } from './language.ts';
import { MSGID } from './message-ids.ts';
import { addToPath, type Findings, type Severity } from './validate-findings.ts';
import { VMSG } from './validate-messages.ts';

/** The languages displays are checked in, and how the messages name them. */
export interface LanguagePrefs {
  tags: string[];
  /** as given (the messages quote the parameter or header), `--` when none */
  summary: string;
}

export const NO_LANGUAGES: LanguagePrefs = { tags: [], summary: '--' };

export function languagePrefs(source: string | undefined): LanguagePrefs | undefined {
  if (!source?.trim()) return undefined;
  const tags = parseLanguagePreferences(source)
    .filter((p) => p.q > 0)
    .map((p) => p.range);
  return { tags, summary: source };
}

/** A display in `actual` serves a request for `wanted` when the primary language agrees (`de` ~ `de-CH`). */
function languageMatches(wanted: string, actual: string | undefined): boolean {
  return wanted === '*' || languageMatchQuality(wanted, actual) >= 1;
}

interface Designation {
  value: string;
  /** the designation's language, the code system's for the concept display */
  language?: string;
  /** a display given by the value set without a language: valid in any language */
  anyLanguage?: boolean;
  /** the display the value set gives the code (compose.include.concept.display) */
  ofValueSet?: boolean;
  /** the concept's own display in its code system (CodeSystem.concept.display) */
  ofConcept?: boolean;
  isDisplay: boolean;
  /** how well it stands as a display (language.ts displayRank): 0 best; a concept display is 0 */
  rank?: number;
  /**
   * the designation's standards status: `withdrawn` and `deprecated` mean it is inactive
   * (tx-ecosystem IG, Extensions: structuredefinition-standards-status)
   */
  status?: string;
}

/** The first of the best rank (a display before a synonym before a fully specified name). */
function bestRanked(list: readonly Designation[]): Designation | undefined {
  let best: Designation | undefined;
  for (const d of list) if (best === undefined || (d.rank ?? 0) < (best.rank ?? 0)) best = d;
  return best;
}

function isActive(d: Designation): boolean {
  return d.status !== 'withdrawn' && d.status !== 'deprecated' && d.status !== 'inactive';
}

/** SNOMED CT 900000000000546006 |Inactive value|: a designation of this use is a former display. */
const INACTIVE_VALUE_USE = '900000000000546006';

/**
 * How a designation stands as a display: its rank (language.ts displayRank; none: not a display)
 * and, when it is inactive, why. The tx-ecosystem IG (Inactive Codes) marks an inactive designation
 * by a `withdrawn` or `deprecated` standards status, or by the use SNOMED CT |Inactive value|: such a
 * designation was a display, so given as one it is valid, but no longer current.
 */
function designationStanding(d: CodeSystemConceptDesignation): { rank?: number; status?: string } {
  const status = standardsStatus(d.extension);
  if (d.use?.code === INACTIVE_VALUE_USE) return { rank: 1, status: status ?? 'inactive' };
  const rank = displayRank(d.use);
  return { ...(rank !== undefined ? { rank } : {}), ...(status ? { status } : {}) };
}

/** The displays and designations a code has: from its code system, supplements and the value set. */
export class DisplayList {
  readonly items: Designation[] = [];

  add(d: Designation): void {
    const same = this.items.find((x) => x.value === d.value && x.language === d.language);
    if (!same) {
      this.items.push(d);
      return;
    }
    if (d.ofValueSet) same.ofValueSet = true;
    // the same text twice (say as an abbreviation, then as a display): it counts as its better use,
    // in the place of that use, as $expand and $lookup weigh the designations in order
    if (d.isDisplay && (!same.isDisplay || (d.rank ?? 0) < (same.rank ?? 0))) {
      this.items.splice(this.items.indexOf(same), 1);
      this.items.push({ ...d, ofValueSet: same.ofValueSet || d.ofValueSet });
    }
  }

  get size(): number {
    return this.items.length;
  }

  private displays(langs: readonly string[], defLang?: string, activeOnly = false): Designation[] {
    return this.items.filter(
      (d) =>
        d.isDisplay &&
        (!activeOnly || isActive(d)) &&
        (langs.length === 0 ||
          d.anyLanguage ||
          langs.some((l) => languageMatches(l, d.language)) ||
          // the default language check takes displays of unstated language as the code system's own
          (defLang !== undefined && (d.language === undefined || languageMatches(defLang, d.language)))),
    );
  }

  /** Whether `display` is a valid display in the languages (or the default language when given). */
  has(
    langs: readonly string[],
    defLang: string | undefined,
    display: string,
    activeOnly = false,
  ): { found: boolean; whitespace: boolean } {
    const candidates = this.displays(langs, defLang, activeOnly);
    const lower = display.toLowerCase();
    // displays compare case-insensitively, as the reference servers do
    if (candidates.some((d) => d.value === display || d.value.toLowerCase() === lower)) {
      return { found: true, whitespace: false };
    }
    const squash = (s: string) => s.replace(/\s+/g, ' ').trim().toLowerCase();
    const normalized = squash(display);
    return { found: false, whitespace: candidates.some((d) => squash(d.value) === normalized) };
  }

  /** Whether the languages have a display of their own (a display of no stated language aside). */
  hasStatedDisplay(langs: readonly string[]): boolean {
    return this.displays(langs).some((d) => !d.anyLanguage);
  }

  valid(langs: readonly string[], activeOnly = false): { value: string; language?: string }[] {
    return this.displays(langs, undefined, activeOnly).map((d) => ({ value: d.value, language: d.language }));
  }

  /** Whether `display` is the code's own display in its code system (case-insensitively). */
  isConceptDisplay(display: string): boolean {
    const lower = display.toLowerCase();
    return this.items.some((d) => d.ofConcept === true && d.value.toLowerCase() === lower);
  }

  /** Whether `display` is the one the value set gives the code (case-insensitively). */
  givenByValueSet(display: string): boolean {
    const lower = display.toLowerCase();
    return this.items.some((d) => d.ofValueSet === true && d.value.toLowerCase() === lower);
  }

  /** The status of the designation whose value is `display` (case-insensitively). */
  statusOf(display: string): string | undefined {
    const lower = display.toLowerCase();
    return this.items.find((d) => d.value.toLowerCase() === lower && !isActive(d))?.status;
  }

  /** The display to return: the first active one in the most preferred language, else the code system display. */
  preferred(langs: readonly string[]): string | undefined {
    for (const lang of langs) {
      const d = bestRanked(
        this.items.filter((x) => x.isDisplay && !x.anyLanguage && isActive(x) && languageMatches(lang, x.language)),
      );
      if (d) return d.value;
    }
    const active = bestRanked(this.items.filter((x) => x.isDisplay && isActive(x)));
    return (active ?? bestRanked(this.items.filter((x) => x.isDisplay)))?.value;
  }

  /** Adds a concept's display and designations, and those its supplements give. */
  addConcept(cs: CodeSystem, concept: IndexedConcept, supplements: readonly CodeSystem[]): void {
    const csLang = cs.language;
    // a display of no stated language (a code system without one) is a display in any language
    if (concept.display !== undefined) {
      this.add({
        value: concept.display,
        language: csLang,
        isDisplay: true,
        ofConcept: true,
        ...(csLang ? {} : { anyLanguage: true }),
      });
    }
    const addDesignation = (d: CodeSystemConceptDesignation, fallbackLang: string | undefined) => {
      if (typeof d?.value !== 'string') return;
      const { rank, status } = designationStanding(d);
      const language = d.language ?? fallbackLang;
      this.add({
        value: d.value,
        language,
        ...(language ? {} : { anyLanguage: true }),
        isDisplay: rank !== undefined,
        ...(rank !== undefined ? { rank } : {}),
        ...(status ? { status } : {}),
      });
    };
    for (const d of concept.designation) addDesignation(d, csLang);
    for (const s of supplements) {
      const sc = indexCodeSystem(s).get(concept.code);
      if (!sc) continue;
      if (sc.display !== undefined) this.add({ value: sc.display, language: s.language ?? csLang, isDisplay: true });
      for (const d of sc.designation) addDesignation(d, s.language ?? csLang);
    }
  }

  /** Adds the display and designations a value set gives a code it lists. */
  addIncludeConcept(c: ValueSetComposeIncludeConcept, vs: ValueSet): void {
    if (typeof c.display === 'string' && c.display !== '') {
      this.add({
        value: c.display.trim(),
        language: vs.language,
        anyLanguage: !vs.language,
        isDisplay: true,
        ofValueSet: true,
      });
    }
    for (const d of c.designation ?? []) {
      if (typeof d?.value !== 'string') continue;
      const { rank, status } = designationStanding(d);
      this.add({
        value: d.value,
        language: d.language,
        isDisplay: rank !== undefined,
        ...(rank !== undefined ? { rank } : {}),
        ...(status ? { status } : {}),
      });
    }
  }
}

export interface DisplayCheck {
  findings: Findings;
  langs: LanguagePrefs;
  /** `lenient-display-validation`: display errors are warnings */
  lenient: boolean;
}

/** The display of a member code: valid in the requested languages, or at least in the default one. */
export function checkDisplayOfMember(
  dc: DisplayCheck,
  path: string,
  coding: Coding,
  list: DisplayList,
  defLang: string | undefined,
): void {
  const display = coding.display as string;
  const langs = dc.langs.tags;
  const hd = list.has(langs, undefined, display);
  if (hd.found) {
    if (!list.has(langs, undefined, display, true).found) reportInactiveDisplay(dc, path, coding, list);
    return;
  }
  let severity: Severity = dc.lenient ? 'warning' : 'error';
  const valid = list.valid(langs);
  let text: string;
  let messageId: string;
  if (valid.length > 0 && list.givenByValueSet(display) && !list.hasStatedDisplay(langs)) {
    // the value set's own display, where the languages asked for have no display but one of no
    // stated language: what $expand shows for the code
    severity = 'information';
    text = VMSG.displayOkForDefaultLanguage(display, coding.system ?? '', coding.code ?? '', dc.langs.summary, false);
    messageId = MSGID.displayNoneForLangOk;
  } else if (valid.length === 0) {
    const fallback = list.preferred([]);
    if (!fallback) {
      severity = 'warning';
      text = VMSG.noDisplayKnown(display, coding.system ?? '', coding.code ?? '', dc.langs.summary);
      messageId = MSGID.displayNoneAtAll;
    } else if (
      display.toLowerCase() === fallback.toLowerCase() ||
      list.givenByValueSet(display) ||
      list.has(langs, defLang ?? 'en', display).found
    ) {
      // the code's default display, or the one the value set gives it ("the text to display to the
      // user for this concept in the context of this valueset", R4 compose.include.concept.display):
      // what $expand shows when no language asked for has a display
      severity = 'information';
      // the code's own display, or another display that is valid in the default language
      const isDefault = list.isConceptDisplay(display);
      text = VMSG.displayOkForDefaultLanguage(
        display,
        coding.system ?? '',
        coding.code ?? '',
        dc.langs.summary,
        isDefault,
      );
      messageId = MSGID.displayNoneForLangOk;
    } else {
      text = VMSG.wrongDisplayNoneForLanguage(
        display,
        coding.system ?? '',
        coding.code ?? '',
        dc.langs.summary,
        fallback,
      );
      messageId = MSGID.displayNoneForLangErr;
    }
  } else {
    text = VMSG.wrongDisplay(display, coding.system ?? '', coding.code ?? '', valid, dc.langs.summary, hd.whitespace);
    messageId = hd.whitespace ? MSGID.displayWrongWhitespace : MSGID.displayWrong;
  }
  addDisplayFinding(dc, path, severity, text, messageId);
}

/** The finding of a display that is not one of the code's (`invalid-display`, at `{path}.display`). */
function addDisplayFinding(dc: DisplayCheck, path: string, severity: Severity, text: string, messageId: string): void {
  dc.findings.add({
    severity,
    code: 'invalid',
    txType: 'invalid-display',
    text,
    expression: addToPath(path, 'display'),
    messageId,
    inMessage: true,
  });
}

/** The display of a code that is not a member, looked up in its code system for the report. */
export function checkDisplayOfNonMember(
  dc: DisplayCheck,
  path: string,
  system: string,
  coding: Coding,
  list: DisplayList,
  defLang: string | undefined,
): void {
  const display = coding.display as string;
  const langs = dc.langs.tags;
  const hd = list.has(langs, defLang ?? 'en', display);
  if (hd.found) return;
  let severity: Severity = dc.lenient ? 'warning' : 'error';
  const valid = list.valid(langs);
  let text: string;
  let messageId: string;
  if (valid.length === 0) {
    severity = 'warning';
    text = VMSG.noDisplayKnown(display, system, coding.code ?? '', dc.langs.summary);
    messageId = MSGID.displayNoneAtAll;
  } else {
    text = VMSG.wrongDisplay(display, system, coding.code ?? '', valid, dc.langs.summary, hd.whitespace);
    messageId = hd.whitespace ? MSGID.displayWrongWhitespace : MSGID.displayWrong;
  }
  addDisplayFinding(dc, path, severity, text, messageId);
}

/**
 * The display is a designation of the code, but not a current one. The tx-ecosystem IG (Inactive
 * Codes) says what follows: "an inactive display causes a warning that the display is no longer
 * current (but it is valid)". So it is a warning whatever `lenient-display-validation` says, it
 * does not make the answer false, and like other warnings it stays out of `message`.
 */
function reportInactiveDisplay(dc: DisplayCheck, path: string, coding: Coding, list: DisplayList): void {
  const display = coding.display as string;
  const current = list.valid(dc.langs.tags, true).map((d) => d.value);
  dc.findings.add({
    severity: 'warning',
    code: 'invalid',
    txType: 'display-comment',
    text: VMSG.inactiveDisplay(display, coding.code ?? '', current, list.statusOf(display) ?? 'inactive'),
    expression: addToPath(path, 'display'),
    messageId: MSGID.displayInactive,
  });
}
