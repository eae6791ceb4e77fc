import type { CodeSystem, CodeSystemConcept, ConceptMap, ValueSet } from '@medplum/fhirtypes';
import { DATASET_NAMES, type DatasetName, type HelserefusjonResources } from './live-resources.ts';

/**
 * The checks a retrieval must pass before it is served (live.ts). A refresh that fails any of
 * them is rejected whole and the data served stay as they were.
 *
 * 1. Required datasets are not empty: fagområder, takstkoder and NLK. (Refusjonskategorier and
 *    APAT combinations are served "where the API gives them", so they may be empty.)
 * 2. No collapse: compared with the last retrieval served (live or snapshot; the embedded data are
 *    extracts, so they are no measure), no dataset may fall below `minRatio` (default half) of its
 *    distinct codes. A truncated or filtered answer is far likelier than half a code system
 *    disappearing between two refreshes.
 * 3. Every resource is structurally sound FHIR R4 JSON: no empty strings, arrays or objects and no
 *    nulls (json.html#primitive), ids and codes match the R4 regexes, every concept property is
 *    declared and has one value, counts match, ids and url|version are unique, every
 *    CodeSystem.valueSet names a ValueSet that is served. This is not the full StructureDefinition
 *    validation (the tests do that, @medplum/core takes seconds for ~1 500 resources and would hold
 *    up requests during a refresh); it catches what the mappings could do with odd upstream values.
 * Parse errors never get here: the client rejects a malformed answer (UPSTREAM_BAD_RESPONSE).
 */

export interface CheckOptions {
  /** default 0.5 */
  minRatio?: number;
}

/** A retrieval that failed the checks; `message` lists the first problems (no upstream URL). */
export class DatasetRejectedError extends Error {
  readonly code = 'DATA_REJECTED';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    const shown = problems.slice(0, 5).join('; ');
    super(
      `Helserefusjon data rejected: ${shown}${problems.length > 5 ? `; and ${problems.length - 5} more problems` : ''}`,
    );
    this.name = 'DatasetRejectedError';
    this.problems = problems;
  }
}

const REQUIRED: readonly DatasetName[] = ['fagomraader', 'takstkoder', 'nlk'];

/** The problems of `next` (empty when it may be served); `previous` is the retrieval served now. */
export function checkDataset(
  next: HelserefusjonResources,
  previous: HelserefusjonResources | undefined,
  options: CheckOptions = {},
): string[] {
  const problems: string[] = [];
  const minRatio = options.minRatio ?? 0.5;
  const counts = next.counts;
  if (counts) {
    for (const name of REQUIRED) if (counts[name] === 0) problems.push(`${name}: no codes`);
    const before = previous?.provenance.mode === 'embedded' ? undefined : previous?.counts;
    if (before) {
      for (const name of DATASET_NAMES) {
        if (before[name] > 0 && counts[name] < before[name] * minRatio) {
          problems.push(
            `${name}: ${counts[name]} codes, down from ${before[name]} (less than ${Math.round(minRatio * 100)} %)`,
          );
        }
      }
    }
  }
  problems.push(...structuralProblems([...next.codeSystems, ...next.valueSets, ...next.conceptMaps]));
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Structure

// FHIR R4 datatypes.html regexes
const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const CODE = /^[^\s]+( [^\s]+)*$/;
const DATE_TIME =
  /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$/;
const URI = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;
const STATUS = new Set(['draft', 'active', 'retired', 'unknown']);
const CONTENT = new Set(['not-present', 'example', 'fragment', 'complete', 'supplement']);
const EQUIVALENCE = new Set([
  'relatedto',
  'equivalent',
  'equal',
  'wider',
  'subsumes',
  'narrower',
  'specializes',
  'inexact',
  'unmatched',
  'disjoint',
]);

type Resource = CodeSystem | ValueSet | ConceptMap;

/** The structural problems of a set of resources served together (at most `limit`). */
export function structuralProblems(resources: readonly Resource[], limit = 20): string[] {
  const problems: string[] = [];
  const add = (where: string, problem: string) => {
    if (problems.length < limit) problems.push(`${where}: ${problem}`);
  };
  const ids = new Set<string>();
  const canonicals = new Set<string>();
  const valueSets = new Set(resources.filter((r) => r.resourceType === 'ValueSet').map((r) => `${r.url}|${r.version}`));

  for (const r of resources) {
    const where = `${r.resourceType}/${r.id ?? '?'}`;
    jsonProblems(r, where, (path, problem) => add(path, problem));
    if (!r.id || !ID.test(r.id)) add(where, 'id missing or invalid');
    const key = `${r.resourceType}/${r.id}`;
    if (ids.has(key)) add(where, 'id used twice');
    ids.add(key);
    if (!r.url || !URI.test(r.url)) add(where, 'url missing or not absolute');
    if (typeof r.version !== 'string') add(where, 'no version');
    const canonical = `${r.resourceType}|${r.url}|${r.version}`;
    if (canonicals.has(canonical)) add(where, `${r.url}|${r.version} used twice`);
    canonicals.add(canonical);
    if (!STATUS.has(r.status)) add(where, `status '${r.status}'`);
    for (const e of r.extension ?? []) if (!e.url) add(where, 'extension without url');

    if (r.resourceType === 'CodeSystem') codeSystemProblems(r, where, add, valueSets);
    else if (r.resourceType === 'ValueSet') {
      for (const inc of r.compose?.include ?? []) {
        if (!inc.system && !inc.valueSet?.length) add(where, 'compose.include without system or valueSet');
      }
    } else conceptMapProblems(r, where, add);
  }
  return problems;
}

type Add = (where: string, problem: string) => void;

function codeSystemProblems(cs: CodeSystem, where: string, add: Add, valueSets: ReadonlySet<string>): void {
  if (!CONTENT.has(cs.content)) add(where, `content '${cs.content}'`);
  if (cs.valueSet && !valueSets.has(cs.valueSet)) add(where, `valueSet ${cs.valueSet} is not served`);
  const declared = new Map((cs.property ?? []).map((p) => [p.code, p.type]));
  const codes = new Set<string>();
  let total = 0;
  const visit = (concepts: readonly CodeSystemConcept[]) => {
    for (const c of concepts) {
      total++;
      if (typeof c.code !== 'string' || !CODE.test(c.code)) {
        add(where, `concept code ${JSON.stringify(c.code)} is not a valid code`);
        continue;
      }
      if (codes.has(c.code)) add(where, `concept ${c.code} twice`);
      codes.add(c.code);
      for (const p of c.property ?? []) {
        const values = Object.keys(p).filter((k) => k.startsWith('value'));
        if (values.length !== 1) add(where, `concept ${c.code} property ${p.code}: ${values.length} values`);
        if (!declared.has(p.code)) add(where, `concept ${c.code} property ${p.code} is not declared`);
        if (p.valueDateTime !== undefined && !DATE_TIME.test(p.valueDateTime)) {
          add(where, `concept ${c.code} property ${p.code}: '${p.valueDateTime}' is not a dateTime`);
        }
        if (p.valueCode !== undefined && !CODE.test(p.valueCode)) {
          add(where, `concept ${c.code} property ${p.code}: '${p.valueCode}' is not a code`);
        }
        if (p.valueInteger !== undefined && !Number.isInteger(p.valueInteger)) {
          add(where, `concept ${c.code} property ${p.code}: not an integer`);
        }
        if (p.valueCoding !== undefined && (!p.valueCoding.code || !CODE.test(p.valueCoding.code))) {
          add(where, `concept ${c.code} property ${p.code}: Coding without a valid code`);
        }
      }
      if (c.concept) visit(c.concept);
    }
  };
  visit(cs.concept ?? []);
  if (cs.count !== undefined && cs.count !== total) add(where, `count ${cs.count}, but ${total} concepts`);
}

function conceptMapProblems(cm: ConceptMap, where: string, add: Add): void {
  for (const g of cm.group ?? []) {
    for (const el of g.element ?? []) {
      if (!el.code || !CODE.test(el.code)) add(where, `element code ${JSON.stringify(el.code)} is not a valid code`);
      for (const t of el.target ?? []) {
        if (!EQUIVALENCE.has(t.equivalence)) add(where, `element ${el.code}: equivalence '${t.equivalence}'`);
        if (t.code !== undefined && !CODE.test(t.code)) add(where, `element ${el.code}: target code '${t.code}'`);
      }
    }
  }
}

/**
 * FHIR JSON rules every element obeys (json.html): no null, no empty string, array or object;
 * numbers finite.
 */
function jsonProblems(value: unknown, path: string, add: Add): void {
  if (value === null) add(path, 'null');
  else if (typeof value === 'string') {
    if (value === '') add(path, 'empty string');
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) add(path, 'not a finite number');
  } else if (Array.isArray(value)) {
    if (value.length === 0) add(path, 'empty array');
    for (let i = 0; i < value.length; i++) jsonProblems(value[i], `${path}[${i}]`, add);
  } else if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) add(path, 'empty object');
    for (const [k, v] of entries) if (v !== undefined) jsonProblems(v, `${path}.${k}`, add);
  }
}
