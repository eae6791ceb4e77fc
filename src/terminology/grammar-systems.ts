/**
 * Code systems defined by a grammar rather than a list: language tags (BCP 47, bcp47.ts) and media
 * types (BCP 13, mimetypes.ts). Their CodeSystem resources list no codes (`content` = not-present)
 * and carry the GRAMMAR mark (codesystem-index.ts), so the engine answers for them; their index
 * answers each code by parsing it. Such codes cannot be listed: an expansion that would enumerate
 * the system (all of it, or a filter on it) is a 422 `too-costly`, which tells the FHIR validator to
 * check codes one by one; value sets that list their codes expand as usual.
 */
import type { CodeSystem, CodeSystemConcept } from '@medplum/fhirtypes';
import { makeIssue, OperationOutcomeError } from '../http/outcome.ts';
import { CodeSystemIndex, GRAMMAR, INDEX_MAKER, type IndexedConcept } from './codesystem-index.ts';

/** The error of a request that needs the codes of a grammar listed. */
export function notEnumerable(url: string, grammar: string): OperationOutcomeError {
  const text =
    `The code system ${url} is defined by a grammar (${grammar}): its codes cannot be listed, so a value set ` +
    'that includes all of it, or filters it, cannot be expanded. Its codes can be validated one by one';
  return new OperationOutcomeError(422, [makeIssue({ code: 'too-costly', text })]);
}

/** Longest code looked at. */
const MAX_CODE_LENGTH = 512;
/** How many parsed codes an index keeps. */
const KEPT = 4096;

/**
 * The index of a grammar code system. `conceptOf` parses a code (in any case, the code systems are
 * case-insensitive) and gives the concept element with the canonical code, or undefined when the
 * code is not valid.
 */
export class GrammarIndex extends CodeSystemIndex {
  private readonly conceptOf: (code: string) => CodeSystemConcept | undefined;
  private readonly grammar: string;
  private readonly made = new Map<string, IndexedConcept | null>();

  constructor(cs: CodeSystem, grammar: string, conceptOf: (code: string) => CodeSystemConcept | undefined) {
    super(cs);
    this.grammar = grammar;
    this.conceptOf = conceptOf;
  }

  /** The concept of a code in any case (its code is the canonical form), or undefined. */
  private lookup(code: string): IndexedConcept | undefined {
    if (typeof code !== 'string' || code.length === 0 || code.length > MAX_CODE_LENGTH) return undefined;
    const kept = this.made.get(code);
    if (kept !== undefined) return kept ?? undefined;
    const element = this.conceptOf(code);
    const entry = element ? this.makeEntry(element, element.code as string, 0, [], []) : null;
    if (this.made.size >= KEPT) this.made.delete(this.made.keys().next().value as string);
    this.made.set(code, entry);
    return entry ?? undefined;
  }

  override get(code: string): IndexedConcept | undefined {
    const found = this.lookup(code);
    return found && found.code === code ? found : undefined;
  }

  override find(code: string): IndexedConcept | undefined {
    return this.lookup(code);
  }

  override get concepts(): readonly IndexedConcept[] {
    throw notEnumerable(this.url ?? '', this.grammar);
  }

  override eachConcept(): Iterable<IndexedConcept> {
    throw notEnumerable(this.url ?? '', this.grammar);
  }
}

type Marked = CodeSystem & { [INDEX_MAKER]?: (cs: CodeSystem) => CodeSystemIndex; [GRAMMAR]?: true };

/** Marks `cs` as a grammar code system whose index `make` builds (again, after a copy that lost it). */
export function markGrammar(cs: CodeSystem, make: (cs: CodeSystem) => GrammarIndex): CodeSystem {
  const marked = cs as Marked;
  marked[INDEX_MAKER] = make;
  marked[GRAMMAR] = true;
  return cs;
}
