import { Buffer } from 'node:buffer';
import type { CodeSystem, CodeSystemConcept } from '@medplum/fhirtypes';
import { arrayOf } from './arrays.ts';
import { CodeSystemIndex, INDEX_MAKER, type IndexedConcept, indexCodeSystem } from './codesystem-index.ts';

/**
 * The compact layout of a large code system (issue 12, item 3). The object layout
 * (codesystem-index.ts) holds the parsed JSON of every concept plus an entry object, two maps and
 * four arrays per concept: some 700 bytes a concept. Here a code system is a handful of typed arrays
 * and one UTF-8 text, all views on one SharedArrayBuffer:
 *
 * - every string (codes, displays, definitions, the JSON of concept elements that say more than
 *   code/display/definition, the search words) once in `text`, string i at `stringAt[i]`;
 * - per concept (definition order, distinct codes): the string ids of its code, display, definition
 *   and element JSON (-1: none);
 * - the hierarchy as two adjacency lists (parents, children), in the order the object layout links them;
 * - code look-up as open-addressing hash tables of concept numbers (exact, and lower-cased for
 *   systems that are not case sensitive);
 * - the text search words (code, display, designations: text-search.ts) sorted, each with the
 *   concepts it is a word of.
 *
 * The arrays are built once, by the process that parses the file (large-codesystem-reader.ts), and
 * streamed into the server's shared memory, which the threads that answer read without a copy (the
 * offload workers get the same memory). The engine reads concepts as it always did:
 * CompactCodeSystemIndex makes the entry of a concept when it is asked for one (with the object
 * layout's own makeEntry), and keeps the last few thousand made.
 */
export interface CompactData {
  count: number;
  text: Uint8Array;
  stringAt: Int32Array;
  code: Int32Array;
  display: Int32Array;
  definition: Int32Array;
  /** the concept element's JSON (without `concept`), or -1 when it says only code, display, definition */
  element: Int32Array;
  /** the concept the element was nested in (-1: top level), to give the resource back for reads */
  nestedIn: Int32Array;
  parentAt: Int32Array;
  parents: Int32Array;
  childAt: Int32Array;
  children: Int32Array;
  byCode: Int32Array;
  /** empty for case-sensitive systems (find() never looks codes up without case there) */
  byLowerCode: Int32Array;
  /** string ids of the search words, sorted by word */
  word: Int32Array;
  wordAt: Int32Array;
  wordConcepts: Int32Array;
}

/** Where a resource whose concepts live in a compact layout (no `concept` element) keeps them. */
const COMPACT = Symbol('compact concepts');

type CompactShell = CodeSystem & { [COMPACT]?: CompactData; [INDEX_MAKER]?: (cs: CodeSystem) => CodeSystemIndex };

/** The compact data of a stored code system, if it has them. */
export function compactDataOf(cs: CodeSystem): CompactData | undefined {
  return (cs as CompactShell)[COMPACT];
}

/** The CodeSystem without its concepts: what the store holds of a compact code system. */
export function shellOf(cs: CodeSystem): CodeSystem {
  const { concept: _concept, ...shell } = cs;
  return shell;
}

/**
 * A stored resource as a read gives it: a compact code system with its concepts made again
 * (nested as the file nested them); anything else as it is.
 */
export function readableResource<T>(resource: T): T {
  const r = resource as CodeSystem;
  if (r?.resourceType !== 'CodeSystem' || !compactDataOf(r)) return resource;
  return (indexCodeSystem(r) as CompactCodeSystemIndex).materialise() as T;
}

/**
 * Makes `shell` a compact code system: its index (indexCodeSystem) reads `data`. The keys are
 * symbols, so a copy of the shell made by spreading (the store's, provenance's) stays compact.
 */
export function attachCompact(shell: CodeSystem, data: CompactData): CodeSystem {
  const s = shell as CompactShell;
  s[COMPACT] = data;
  s[INDEX_MAKER] = (cs) => new CompactCodeSystemIndex(cs, data);
  return shell;
}

// FNV-1a over UTF-16 code units: the same in every thread
function hashOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A growable list of int32 (a temporary: the arrays kept are packed by `pack`). */
class Ints {
  buf = new Int32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Int32Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  values(): Int32Array {
    return this.buf.subarray(0, this.length);
  }
}

type Arrays = Omit<CompactData, 'count'>;

/**
 * Copies the arrays into one SharedArrayBuffer, as views on it: one block the size of the data,
 * which the reader sends as it is (large-codesystem-reader.ts) and the offload workers share.
 */
function pack(parts: Arrays): Arrays {
  const entries = Object.entries(parts) as [keyof Arrays, Int32Array | Uint8Array][];
  let bytes = 0;
  const at = new Map<keyof Arrays, number>();
  for (const [name, array] of entries) {
    bytes = Math.ceil(bytes / 4) * 4;
    at.set(name, bytes);
    bytes += array.byteLength;
  }
  const buffer = new SharedArrayBuffer(bytes);
  const out: Partial<Record<keyof Arrays, Int32Array | Uint8Array>> = {};
  for (const [name, array] of entries) {
    const view =
      array instanceof Uint8Array
        ? new Uint8Array(buffer, at.get(name), array.length)
        : new Int32Array(buffer, at.get(name), array.length);
    view.set(array);
    out[name] = view;
  }
  return out as Arrays;
}

/** The words the text search finds a concept by (text-search.ts: lower-cased letters and digits). */
const WORD = /[\p{L}\p{N}]+/gu;

/**
 * Builds the compact layout of a code system, with the object layout's reading of it: concepts
 * depth first in definition order, a repeated code kept once (its first element), hierarchy from
 * nesting and then from `parent`/`child` properties, each link once.
 */
export function compactCodeSystem(cs: CodeSystem): CompactData {
  const plain = new CodeSystemIndex(shellOf(cs));
  const strings: string[] = [];
  const str = (s: string): number => {
    strings.push(s);
    return strings.length - 1;
  };
  const numberOf = new Map<string, number>();
  const elements: CodeSystemConcept[] = [];
  const code = new Ints();
  const display = new Ints();
  const definition = new Ints();
  const element = new Ints();
  const nestedIn = new Ints();
  const edgeFrom = new Ints();
  const edgeTo = new Ints();
  const edges = new Set<number>();
  const link = (p: number | undefined, c: number | undefined): void => {
    if (p === undefined || c === undefined) return;
    const key = p * 0x100000000 + c;
    if (edges.has(key)) return;
    edges.add(key);
    edgeFrom.push(p);
    edgeTo.push(c);
  };

  const stack: { list: CodeSystemConcept[]; at: number; parent: number | undefined }[] = [
    { list: arrayOf<CodeSystemConcept>(cs.concept), at: 0, parent: undefined },
  ];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    if (frame.at >= frame.list.length) {
      stack.pop();
      continue;
    }
    const c = frame.list[frame.at++];
    if (typeof c?.code !== 'string') continue;
    let n = numberOf.get(c.code);
    if (n === undefined) {
      n = elements.length;
      numberOf.set(c.code, n);
      elements.push(c);
      code.push(str(c.code));
      const { concept: _nested, ...own } = c;
      const plainOnly =
        Object.keys(own).every((k) => k === 'code' || k === 'display' || k === 'definition') &&
        (own.display === undefined || typeof own.display === 'string') &&
        (own.definition === undefined || typeof own.definition === 'string');
      display.push(typeof c.display === 'string' ? str(c.display) : -1);
      definition.push(typeof c.definition === 'string' ? str(c.definition) : -1);
      element.push(plainOnly ? -1 : str(JSON.stringify(own)));
      nestedIn.push(frame.parent ?? -1);
    }
    if (frame.parent !== undefined) link(frame.parent, n);
    const children = arrayOf(c.concept);
    if (children.length > 0) stack.push({ list: children, at: 0, parent: n });
  }
  const count = elements.length;
  const parentProp = plain.propertyCodeFor('parent') ?? 'parent';
  const childProp = plain.propertyCodeFor('child') ?? 'child';
  const words = new Map<string, number[]>();
  for (let i = 0; i < count; i++) {
    const c = elements[i];
    const property = arrayOf(c.property).filter((p) => p !== null && typeof p === 'object');
    for (const p of property) {
      if (p.code === parentProp && typeof p.valueCode === 'string') link(numberOf.get(p.valueCode), i);
      if (p.code === childProp && typeof p.valueCode === 'string') link(i, numberOf.get(p.valueCode));
    }
    const mine = new Set<string>();
    const add = (text: string | undefined) => {
      for (const w of text ? (text.toLowerCase().match(WORD) ?? []) : []) mine.add(w);
    };
    add(c.code);
    add(typeof c.display === 'string' ? c.display : undefined);
    for (const d of arrayOf(c.designation)) if (d !== null && typeof d === 'object') add(d.value);
    for (const w of mine) {
      const list = words.get(w);
      if (list) list.push(i);
      else words.set(w, [i]);
    }
  }
  edges.clear();

  const adjacency = (from: Ints, to: Ints): { at: Int32Array; list: Int32Array } => {
    const at = new Int32Array(count + 1);
    for (let e = 0; e < from.length; e++) at[from.buf[e] + 1]++;
    for (let i = 0; i < count; i++) at[i + 1] += at[i];
    const fill = at.slice(0, count);
    const list = new Int32Array(from.length);
    for (let e = 0; e < from.length; e++) list[fill[from.buf[e]]++] = to.buf[e];
    return { at, list };
  };
  const down = adjacency(edgeFrom, edgeTo);
  const up = adjacency(edgeTo, edgeFrom);

  const sortedWords = [...words.keys()].sort();
  const word = new Ints();
  const wordAtList = new Ints();
  const wordConcepts = new Ints();
  for (const w of sortedWords) {
    word.push(str(w));
    wordAtList.push(wordConcepts.length);
    for (const i of words.get(w) as number[]) wordConcepts.push(i);
  }
  wordAtList.push(wordConcepts.length);
  words.clear();

  // the strings, as one UTF-8 text
  const stringAt = new Int32Array(strings.length + 1);
  let bytes = 0;
  for (let i = 0; i < strings.length; i++) {
    stringAt[i] = bytes;
    bytes += Buffer.byteLength(strings[i], 'utf8');
  }
  stringAt[strings.length] = bytes;
  const text = new Uint8Array(bytes);
  const writer = Buffer.from(text.buffer, text.byteOffset, text.byteLength);
  for (let i = 0; i < strings.length; i++) writer.write(strings[i], stringAt[i], 'utf8');

  const table = (key: (i: number) => string | undefined): Int32Array => {
    let size = 16;
    while (size < count * 2) size *= 2;
    const t = new Int32Array(size).fill(-1);
    const mask = size - 1;
    const taken = new Set<string>();
    for (let i = 0; i < count; i++) {
      const k = key(i);
      if (k === undefined || taken.has(k)) continue;
      taken.add(k);
      let slot = hashOf(k) & mask;
      while (t[slot] !== -1) slot = (slot + 1) & mask;
      t[slot] = i;
    }
    return t;
  };
  const codeOf = (i: number) => elements[i].code as string;
  const byCode = table(codeOf);
  const byLowerCode = cs.caseSensitive === true ? new Int32Array(0) : table((i) => codeOf(i).toLowerCase());

  const arrays = pack({
    text,
    stringAt,
    code: code.values(),
    display: display.values(),
    definition: definition.values(),
    element: element.values(),
    nestedIn: nestedIn.values(),
    parentAt: up.at,
    parents: up.list,
    childAt: down.at,
    children: down.list,
    byCode,
    byLowerCode,
    word: word.values(),
    wordAt: wordAtList.values(),
    wordConcepts: wordConcepts.values(),
  });
  return { count, ...arrays };
}

/** How many concept entries a compact index keeps made (the concepts of recent answers). */
const MADE_KEPT = 4096;

/** The index of a compact code system: the object layout's answers, read from the compact arrays. */
export class CompactCodeSystemIndex extends CodeSystemIndex {
  readonly data: CompactData;
  private readonly reader: Buffer;
  private readonly made = new Map<number, IndexedConcept>();
  private rootCodes?: string[];

  constructor(shell: CodeSystem, data: CompactData) {
    super(shell);
    this.data = data;
    this.reader = Buffer.from(data.text.buffer, data.text.byteOffset, data.text.byteLength);
  }

  /** String `id` of the text. */
  string(id: number): string {
    const at = this.data.stringAt;
    return this.reader.toString('utf8', at[id], at[id + 1]);
  }

  codeAt(i: number): string {
    return this.string(this.data.code[i]);
  }

  /** The number of a concept by its code (exactly, or lower-cased in the second table), or -1. */
  private numberOf(code: string, lower: boolean): number {
    const t = lower ? this.data.byLowerCode : this.data.byCode;
    if (t.length === 0) return -1;
    const mask = t.length - 1;
    for (let slot = hashOf(code) & mask; t[slot] !== -1; slot = (slot + 1) & mask) {
      const found = this.codeAt(t[slot]);
      if ((lower ? found.toLowerCase() : found) === code) return t[slot];
    }
    return -1;
  }

  /** The entry of concept number `i` (made from the arrays, as the object layout makes it). */
  at(i: number): IndexedConcept {
    const kept = this.made.get(i);
    if (kept) return kept;
    const d = this.data;
    const code = this.codeAt(i);
    let element: CodeSystemConcept;
    if (d.element[i] >= 0) element = JSON.parse(this.string(d.element[i])) as CodeSystemConcept;
    else {
      element = { code };
      if (d.display[i] >= 0) element.display = this.string(d.display[i]);
      if (d.definition[i] >= 0) element.definition = this.string(d.definition[i]);
    }
    const codes = (at: Int32Array, list: Int32Array) => {
      const out: string[] = [];
      for (let k = at[i]; k < at[i + 1]; k++) out.push(this.codeAt(list[k]));
      return out;
    };
    const entry = this.makeEntry(element, code, i, codes(d.parentAt, d.parents), codes(d.childAt, d.children));
    if (this.made.size >= MADE_KEPT) this.made.delete(this.made.keys().next().value as number);
    this.made.set(i, entry);
    return entry;
  }

  override get(code: string): IndexedConcept | undefined {
    const i = this.numberOf(code, false);
    return i < 0 ? undefined : this.at(i);
  }

  override find(code: string): IndexedConcept | undefined {
    const exact = this.get(code);
    if (exact || this.caseSensitive) return exact;
    const i = this.numberOf(code.toLowerCase(), true);
    return i < 0 ? undefined : this.at(i);
  }

  /** Every concept made at once: costly for a large system (the engine uses eachConcept). */
  override get concepts(): readonly IndexedConcept[] {
    const out: IndexedConcept[] = [];
    for (const c of this.eachConcept()) out.push(c);
    return out;
  }

  override *eachConcept(): Generator<IndexedConcept> {
    for (let i = 0; i < this.data.count; i++) yield this.at(i);
  }

  override get conceptCount(): number {
    return this.data.count;
  }

  override get roots(): readonly string[] {
    if (!this.rootCodes) {
      const at = this.data.parentAt;
      const out: string[] = [];
      for (let i = 0; i < this.data.count; i++) if (at[i + 1] === at[i]) out.push(this.codeAt(i));
      this.rootCodes = out;
    }
    return this.rootCodes;
  }

  override hasMultipleParents(): boolean {
    const at = this.data.parentAt;
    for (let i = 0; i < this.data.count; i++) if (at[i + 1] - at[i] > 1) return true;
    return false;
  }

  override descendants(code: string): string[] {
    return this.walk(code, this.data.childAt, this.data.children);
  }

  override ancestors(code: string): string[] {
    return this.walk(code, this.data.parentAt, this.data.parents);
  }

  /** walkFrom of the object layout, on concept numbers: depth first in definition order, each once. */
  private walk(code: string, at: Int32Array, list: Int32Array): string[] {
    const out: string[] = [];
    const start = this.numberOf(code, false);
    if (start < 0) return out;
    const seen = new Set<number>([start]);
    const stack: number[] = [];
    for (let k = at[start + 1] - 1; k >= at[start]; k--) stack.push(list[k]);
    while (stack.length > 0) {
      const c = stack.pop() as number;
      if (seen.has(c)) continue;
      seen.add(c);
      out.push(this.codeAt(c));
      for (let k = at[c + 1] - 1; k >= at[c]; k--) if (!seen.has(list[k])) stack.push(list[k]);
    }
    return out;
  }

  /**
   * The concept numbers whose search words begin with every one of `filterWords`, ascending
   * (definition order): the word index of text-search.ts, built with the data.
   */
  searchWords(filterWords: readonly string[]): Int32Array {
    let matches: Int32Array | undefined;
    const d = this.data;
    for (const fw of filterWords) {
      let lo = 0;
      let hi = d.word.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.string(d.word[mid]) < fw) lo = mid + 1;
        else hi = mid;
      }
      const hits: number[] = [];
      for (let w = lo; w < d.word.length && this.string(d.word[w]).startsWith(fw); w++) {
        for (let k = d.wordAt[w]; k < d.wordAt[w + 1]; k++) hits.push(d.wordConcepts[k]);
      }
      const mine = Int32Array.from(new Set(hits)).sort();
      matches = matches === undefined ? mine : intersect(matches, mine);
      if (matches.length === 0) break;
    }
    return matches ?? new Int32Array(0);
  }

  /** The CodeSystem with its concepts, nested as the file nested them (a read of the resource). */
  materialise(): CodeSystem {
    const d = this.data;
    const elements: CodeSystemConcept[] = [];
    const top: CodeSystemConcept[] = [];
    for (let i = 0; i < d.count; i++) {
      const { concept: _nested, ...own } = this.at(i).source;
      const element: CodeSystemConcept = { ...own };
      elements.push(element);
      const parent = d.nestedIn[i];
      if (parent < 0) top.push(element);
      else {
        const p = elements[parent];
        if (p.concept) p.concept.push(element);
        else p.concept = [element];
      }
    }
    // own string keys only: the copy is a plain resource, not compact again
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(this.resource)) out[key] = (this.resource as unknown as Record<string, unknown>)[key];
    return { ...(out as unknown as CodeSystem), concept: top };
  }
}

function intersect(a: Int32Array, b: Int32Array): Int32Array {
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
