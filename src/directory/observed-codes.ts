import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CodeSystem, Coding, Resource } from '@medplum/fhirtypes';
import {
  type ObservedOrigin,
  observedCodeSystem,
  VOLVEN_OID_PREFIX,
  volvenNumber,
} from '../../mappings/observed-codesystem.ts';
import { PROJECT_ROOT } from '../config.ts';
import type { Logger } from '../http/log.ts';
import { warmIndexes } from '../terminology/codesystem-index.ts';
import { compacted } from '../terminology/fast-json.ts';
import { readJson, TerminologyLoadError } from '../terminology/loader.ts';
import { TerminologyStore, TX_RESOURCE_TYPES, type TxResourceType } from '../terminology/store.ts';
import type { ServedTerminologyState, TerminologySource } from '../terminology-sources.ts';

/**
 * The Volven code systems the service emits but holds no complete copy of (issue 10, item 3), built
 * from the codes the directory's upstreams return (mappings/observed-codesystem.ts):
 * - `ObservedCodes` keeps, per Volven system, each code and the texts seen with it, from every
 *   Practitioner HPR gives and every FNSP dataset loaded, and which upstream they came from;
 * - `withObservedCodes` serves them: the terminology answered from is the underlying one plus these
 *   fragments, rebuilt (a new store and generation, so caches and worker threads follow) when a new
 *   code or text has been seen or the underlying data changed. A system the underlying terminology
 *   holds (9060, 8628, NLK, …) is never observed: its own code system answers.
 * The fragments start from the codes of HL7 Norway's no-basis examples (data/volven-utdrag), so the
 * lists are served before any upstream has answered, and live in memory: after a restart they grow
 * again as the upstreams are read. Their size is bounded (systems, codes per system); what is left
 * out is counted in /readyz.
 */

/** The published resources whose Volven codings are the fragments' first codes. */
export const VOLVEN_SEED_DIR = join(PROJECT_ROOT, 'data', 'volven-utdrag');

/** The id of a fragment this service built (never a code system loaded from a package). */
const OWN_FRAGMENT_ID = /^volven-\d+-utdrag$/;

export function isOwnFragment(cs: CodeSystem): boolean {
  return cs.content === 'fragment' && typeof cs.id === 'string' && OWN_FRAGMENT_ID.test(cs.id);
}

/**
 * The seed resources and where they come from (`provenance.json` of the folder: source and licence).
 * Throws a TerminologyLoadError when a file cannot be used: the data are part of the repository.
 */
export function volvenSeeds(dir: string = VOLVEN_SEED_DIR): { resources: Resource[]; origin: ObservedOrigin } {
  const provenance = readJson(join(dir, 'provenance.json'), 'volven-utdrag/provenance.json') as {
    source?: unknown;
    licence?: unknown;
  } | null;
  if (typeof provenance?.source !== 'string' || typeof provenance.licence !== 'string') {
    throw new TerminologyLoadError('volven-utdrag/provenance.json must name a source and a licence');
  }
  const resources = readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'provenance.json')
    .sort()
    .map((f) => readJson(join(dir, f), `volven-utdrag/${f}`) as Resource);
  return {
    resources,
    origin: {
      name: 'no-basis',
      label: 'eksemplene i HL7 Norways no-basis 2.2.2',
      source: provenance.source,
      tags: [],
      licence: provenance.licence,
      synthetic: false,
    },
  };
}

/** The fragments of the seed resources alone (the part of the base terminology they make). */
export function seedFragments(held: (system: string) => boolean, dir?: string): CodeSystem[] {
  const observed = new ObservedCodes();
  observed.setHeld(held);
  const { resources, origin } = volvenSeeds(dir);
  observed.record(resources, origin);
  return observed.codeSystems();
}

export const MAX_OBSERVED_SYSTEMS = 64;
export const MAX_OBSERVED_CODES = 20_000;
/** a text longer than this is not a display (a broken upstream row): the code is kept without it */
const MAX_DISPLAY_LENGTH = 1000;

interface SystemEntry {
  codes: Map<string, string[]>;
  origins: Map<string, ObservedOrigin>;
}

/** Every coding in a resource, wherever it sits (an object with a string `system` and `code`). */
function codingsIn(value: unknown, out: Coding[]): void {
  if (Array.isArray(value)) {
    for (const v of value) codingsIn(v, out);
  } else if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.system === 'string' && typeof o.code === 'string') out.push(o as Coding);
    for (const key in o) {
      const v = o[key];
      if (v !== null && typeof v === 'object') codingsIn(v, out);
    }
  }
}

export class ObservedCodes {
  private readonly systems = new Map<string, SystemEntry>();
  private changes = 0;
  private left = { systems: 0, codes: 0 };
  private built?: { at: number; resources: CodeSystem[] };
  /** whether the served terminology holds a system whole (then it is not observed) */
  private held: (system: string) => boolean = () => false;
  private readonly logger?: Logger;

  constructor(options: { logger?: Logger } = {}) {
    this.logger = options.logger;
  }

  /** Changes whenever a code, a text or an origin was added. */
  get version(): number {
    return this.changes;
  }

  /** Set by the terminology that serves the fragments. */
  setHeld(held: (system: string) => boolean): void {
    this.held = held;
  }

  /** Notes the Volven codings of `resources`, which came from `origin`. */
  record(resources: Iterable<Resource>, origin: ObservedOrigin): void {
    const before = this.changes;
    const codings: Coding[] = [];
    for (const r of resources) codingsIn(r, codings);
    for (const c of codings) {
      const system = c.system as string;
      if (!system.startsWith(VOLVEN_OID_PREFIX) || volvenNumber(system) === undefined || this.held(system)) continue;
      this.note(system, c.code as string, c.display, origin);
    }
    if (this.changes !== before) {
      this.logger?.debug('observed codes', { origin: origin.name, changes: this.changes - before });
    }
  }

  private note(system: string, code: string, display: string | undefined, origin: ObservedOrigin): void {
    let entry = this.systems.get(system);
    if (!entry) {
      if (this.systems.size >= MAX_OBSERVED_SYSTEMS) {
        this.left.systems++;
        return;
      }
      entry = { codes: new Map(), origins: new Map() };
      this.systems.set(system, entry);
      this.changes++;
    }
    if (!entry.origins.has(origin.name)) {
      entry.origins.set(origin.name, origin);
      this.changes++;
    }
    let displays = entry.codes.get(code);
    if (!displays) {
      if (entry.codes.size >= MAX_OBSERVED_CODES || code.length === 0 || code.length > 256) {
        this.left.codes++;
        return;
      }
      displays = [];
      entry.codes.set(code, displays);
      this.changes++;
    }
    if (display && display.length <= MAX_DISPLAY_LENGTH && !displays.includes(display)) {
      displays.push(display);
      this.changes++;
    }
  }

  /** The fragments, as served (the same objects until something changes). */
  codeSystems(): CodeSystem[] {
    if (this.built?.at !== this.changes) {
      const resources = [...this.systems].map(([system, e]) =>
        observedCodeSystem({
          system,
          concepts: [...e.codes].map(([code, displays]) => ({ code, displays })),
          origins: [...e.origins.values()],
        }),
      );
      this.built = { at: this.changes, resources };
    }
    return this.built.resources;
  }

  /** For /readyz: the systems observed, their code counts, and what the bounds left out. */
  status(): Record<string, unknown> {
    return {
      systems: Object.fromEntries([...this.systems].map(([s, e]) => [s, e.codes.size])),
      ...(this.left.systems + this.left.codes > 0 ? { leftOut: { ...this.left } } : {}),
    };
  }
}

/**
 * The terminology of `inner` plus the fragments of `observed`. `current()` is taken once per request:
 * it compares three numbers and, only when something changed, builds the new state.
 */
export function withObservedCodes(inner: TerminologySource, observed: ObservedCodes): TerminologySource {
  let last: { store: TerminologyStore; generation: number; version: number } | undefined;
  let state: ServedTerminologyState | undefined;
  let generation = 0;

  // a code system held whole (or a fragment from a package) answers for itself; the fragments built
  // here (the seeds in the base terminology) are the registry's to extend
  const heldBy = (store: TerminologyStore) => (system: string) =>
    store.versions('CodeSystem', store.canonicalUrl('CodeSystem', system)).some((cs) => !isOwnFragment(cs));

  const current = (): ServedTerminologyState => {
    const now = inner.current();
    if (
      state !== undefined &&
      last !== undefined &&
      last.store === now.store &&
      last.generation === now.generation &&
      last.version === observed.version
    ) {
      return state;
    }
    observed.setHeld(heldBy(now.store));
    const fragments = observed
      .codeSystems()
      .filter((cs) => !heldBy(now.store)(cs.url as string))
      .map(compacted);
    let store = now.store;
    if (fragments.length > 0) {
      store = new TerminologyStore();
      const replaced = new Set(fragments.map((cs) => cs.url));
      for (const type of TX_RESOURCE_TYPES) {
        for (const r of now.store.all(type)) {
          if (r.resourceType === 'CodeSystem' && isOwnFragment(r) && replaced.has(r.url)) continue;
          store.add(r);
        }
      }
      for (const [type, alias, url] of now.store.aliasList()) store.addAlias(type as TxResourceType, alias, url);
      for (const cs of fragments) store.add(cs);
      // indexed before they serve (the others keep the indexes they have)
      warmIndexes({ all: () => fragments });
    }
    last = { store: now.store, generation: now.generation, version: observed.version };
    state = { store, generation: ++generation, dataSources: now.dataSources };
    return state;
  };

  // the registry learns now which systems are held
  current();
  return {
    current,
    status: () => ({ ...inner.status?.(), observedCodes: observed.status() }),
  };
}
