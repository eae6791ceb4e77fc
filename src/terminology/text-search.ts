/**
 * The text search of $expand (`filter`): every word of the filter must start a word of the code,
 * the display or a designation of an entry (case-insensitive), which is how the tx-ecosystem search
 * tests read it.
 *
 * A compose result searched more than once (compose.ts caches them per value set, day and options)
 * gets a word index, so that a search is a binary search rather than a scan of every entry. The
 * index is built in the background, a slice of entries per turn of the event loop, so that building
 * it for a large code system (NLK: 11,000 codes, some 60 ms of work) never stalls other requests;
 * until it is ready, searches scan, charging the request's work budget (budget.ts).
 */

import { arrayOf } from './arrays.ts';
import { spendActive } from './budget.ts';
import { designationSources } from './code-systems.ts';
import { type IndexedConcept, indexCodeSystem } from './codesystem-index.ts';
import type { ComposeResult, ExpansionEntry } from './compose.ts';

const WORD = /[\p{L}\p{N}]+/gu;

/** The lower-cased words of a text (letters and digits). */
export function words(text: string | undefined): string[] {
  return text ? (text.toLowerCase().match(WORD) ?? []) : [];
}

/** Search words of a code system concept (code, display, designations), built once per concept. */
const conceptWords = new WeakMap<IndexedConcept, string[]>();

function wordsOfConcept(concept: IndexedConcept): string[] {
  let w = conceptWords.get(concept);
  if (!w) {
    const set = new Set<string>([...words(concept.code), ...words(concept.display)]);
    for (const d of concept.designation) for (const x of words(d.value)) set.add(x);
    w = [...set];
    conceptWords.set(concept, w);
  }
  return w;
}

/** The words an entry is found by: its concept's, the value set's own display and designations, supplements'. */
function entryWords(entry: ExpansionEntry): string[] {
  const own = entry.concept ? wordsOfConcept(entry.concept) : words(entry.code);
  const sources = entry.source ? designationSources(entry.source) : [];
  if (!entry.contains && !entry.vsConcept && sources.length === 0) return own;
  const out = [...own];
  if (entry.contains) out.push(...words(entry.contains.display));
  if (entry.vsConcept) {
    out.push(...words(entry.vsConcept.display));
    for (const d of arrayOf(entry.vsConcept.designation)) out.push(...words(d?.value));
  }
  for (const sup of sources) {
    const sc = indexCodeSystem(sup).get(entry.code);
    if (!sc) continue;
    out.push(...words(sc.display));
    for (const d of sc.designation) out.push(...words(d.value));
  }
  return out;
}

/** Every filter word must be the start of a word of the entry. */
export function matchesTextFilter(entry: ExpansionEntry, filterWords: readonly string[]): boolean {
  if (filterWords.length === 0) return true;
  const own = entryWords(entry);
  return filterWords.every((fw) => own.some((w) => w.startsWith(fw)));
}

/**
 * A sorted word index: `words[i]` is a word of entry `entry[i]`; the words ascending. `keys` are the
 * distinct starts of the words as numbers (prefixKey), ascending, and the words with `keys[k]` are
 * at positions `keyStart[k]` to `keyStart[k + 1]`. A search narrows the range in this small array of
 * numbers (NLK: 2,437 keys for the 54,830 words of its codes) and compares strings only within the
 * few words that share a key, rather than visiting a string at every step of a search over all the
 * words (each a separate object in memory, seldom in the CPU's caches).
 */
interface WordIndex {
  words: string[];
  entry: Int32Array;
  keys: Float64Array;
  keyStart: Int32Array;
}

/** How many UTF-16 code units of a word its key holds: three, 16 bits each, exact in a double. */
const KEY_UNITS = 3;

/**
 * The first KEY_UNITS code units of a word as one number, a missing unit counted as `fill`: words
 * sort as their keys do (with fill 0; a word holds no U+0000), and the words that begin with a
 * prefix of at most KEY_UNITS units have keys from prefixKey(p, 0) to prefixKey(p, 0xffff).
 */
function prefixKey(word: string, fill: number): number {
  let key = 0;
  for (let i = 0; i < KEY_UNITS; i++) key = key * 65536 + (i < word.length ? word.charCodeAt(i) : fill);
  return key;
}

/** Below this many entries a scan is as quick as an index. */
const INDEX_MIN_ENTRIES = 200;
/** Entries indexed per turn of the event loop (a few milliseconds of work). */
const INDEX_SLICE = 2000;
/** Entries scanned between two charges to the work budget. */
const SCAN_SLICE = 1024;

interface SearchState {
  index?: WordIndex;
  building?: boolean;
}

/** The search state of each compose result searched: first search marks it, the second starts the index. */
const searchState = new WeakMap<ComposeResult, SearchState>();

/** The entries of a compose result that match a text filter, in expansion order. */
export function searchEntries(composed: ComposeResult, filterWords: readonly string[]): ExpansionEntry[] {
  const entries = composed.entries;
  if (entries.length < INDEX_MIN_ENTRIES) return scan(entries, filterWords);
  const state = searchState.get(composed);
  if (state === undefined) {
    // searched once: perhaps never again (a value set given in the request is composed afresh)
    searchState.set(composed, {});
    return scan(entries, filterWords);
  }
  if (state.index) return indexed(state.index, entries, filterWords);
  if (!state.building) {
    state.building = true;
    buildInBackground(entries).then(
      (index) => {
        state.index = index;
        state.building = false;
      },
      () => {
        // an entry that cannot be read (it was read for the scan as well): searches keep scanning
        state.building = false;
      },
    );
  }
  return scan(entries, filterWords);
}

/** Whether the word index of a compose result is built (tests; searches use it once it is). */
export function hasWordIndex(composed: ComposeResult): boolean {
  return searchState.get(composed)?.index !== undefined;
}

function scan(entries: readonly ExpansionEntry[], filterWords: readonly string[]): ExpansionEntry[] {
  const out: ExpansionEntry[] = [];
  for (let i = 0; i < entries.length; i++) {
    if (i % SCAN_SLICE === 0) spendActive(Math.min(SCAN_SLICE, entries.length - i));
    if (matchesTextFilter(entries[i], filterWords)) out.push(entries[i]);
  }
  return out;
}

/** The word index of `entries`, built a slice per turn of the event loop. */
function buildInBackground(entries: readonly ExpansionEntry[]): Promise<WordIndex> {
  return new Promise((resolve, reject) => {
    const byWord = new Map<string, number[]>();
    let next = 0;
    const slice = (): void => {
      try {
        const end = Math.min(entries.length, next + INDEX_SLICE);
        for (; next < end; next++) {
          for (const w of new Set(entryWords(entries[next]))) {
            const list = byWord.get(w);
            if (list) list.push(next);
            else byWord.set(w, [next]);
          }
        }
        if (next < entries.length) {
          setImmediate(slice);
          return;
        }
        resolve(flatten(byWord));
      } catch (err) {
        reject(err);
      }
    };
    setImmediate(slice);
  });
}

/** The word lists as one sorted index (the entries of one word stay ascending: they were added in order). */
function flatten(byWord: Map<string, number[]>): WordIndex {
  const sorted = [...byWord.keys()].sort();
  let size = 0;
  for (const list of byWord.values()) size += list.length;
  const words = new Array<string>(size);
  const entry = new Int32Array(size);
  const keys: number[] = [];
  const keyStart: number[] = [];
  let at = 0;
  for (const w of sorted) {
    const key = prefixKey(w, 0);
    if (keys.length === 0 || keys[keys.length - 1] !== key) {
      keys.push(key);
      keyStart.push(at);
    }
    for (const e of byWord.get(w) ?? []) {
      words[at] = w;
      entry[at++] = e;
    }
  }
  keyStart.push(at);
  return { words, entry, keys: Float64Array.from(keys), keyStart: Int32Array.from(keyStart) };
}

/** The first position in [from, to) whose word is not below `word` (the words ascending). */
function lowerBound(words: readonly string[], word: string, from: number, to: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (words[mid] < word) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first position in `keys` (ascending) whose key is not below `key`. */
function lowerBoundKey(keys: Float64Array, key: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The positions [from, to) of the words that begin with `prefix`. */
function prefixRange(index: WordIndex, prefix: string): [number, number] {
  // the words that share the prefix's first units: all of them, when that is the whole prefix
  const from = index.keyStart[lowerBoundKey(index.keys, prefixKey(prefix, 0))];
  const to = index.keyStart[lowerBoundKey(index.keys, prefixKey(prefix, 0xffff) + 1)];
  if (prefix.length <= KEY_UNITS) return [from, to];
  // the words that begin with the prefix sort from it to before it followed by the highest code unit
  const start = lowerBound(index.words, prefix, from, to);
  return [start, lowerBound(index.words, `${prefix}\uffff`, start, to)];
}

function indexed(
  index: WordIndex,
  entries: readonly ExpansionEntry[],
  filterWords: readonly string[],
): ExpansionEntry[] {
  // per filter word, the entries of the words it begins (sorted, each once); then those of every word
  let matches: Int32Array | undefined;
  for (const fw of filterWords) {
    const [from, to] = prefixRange(index, fw);
    // one word's entries are ascending already; several words' are merged by sorting
    const single = to - from <= 1 || index.words[from] === index.words[to - 1];
    const mine = single ? index.entry.slice(from, to) : uniqueSorted(index.entry.slice(from, to).sort());
    matches = matches === undefined ? mine : intersectSorted(matches, mine);
    if (matches.length === 0) break;
  }
  const out = new Array<ExpansionEntry>(matches?.length ?? 0);
  for (let i = 0; i < out.length; i++) out[i] = entries[(matches as Int32Array)[i]];
  return out;
}

/** A sorted list without its repeats (in place; the part that holds them is returned). */
function uniqueSorted(list: Int32Array): Int32Array {
  let n = 0;
  for (let i = 0; i < list.length; i++) if (i === 0 || list[i] !== list[i - 1]) list[n++] = list[i];
  return list.subarray(0, n);
}

/** The numbers two sorted lists (each without repeats) share, in order. */
function intersectSorted(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(Math.min(a.length, b.length));
  let n = 0;
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    if (a[i] < b[j]) i++;
    else if (a[i] > b[j]) j++;
    else {
      out[n++] = a[i];
      i++;
      j++;
    }
  }
  return out.subarray(0, n);
}
