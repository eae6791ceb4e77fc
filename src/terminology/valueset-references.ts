/**
 * References from one value set to another (`compose.include.valueSet`, the `url` of an operation):
 * how they are read, pinned to a version by the value set version rules, and resolved (a contained
 * value set, a stored or request-scoped one, or the implicit value set of a code system). The value
 * set core (valueset-core.ts) follows them; the operations resolve their `url` the same way.
 */
import type { ValueSet, ValueSetComposeInclude } from '@medplum/fhirtypes';
import type { TxContext } from './context.ts';
import { resolveImplicitValueSet } from './implicit-valueset.ts';
import type { VersionRules } from './version-rules.ts';
import { splitCanonical, versionMatches } from './versions.ts';

/** Deepest chain of value set imports followed. */
export const MAX_IMPORT_DEPTH = 64;

/** A value set import that cannot be found. */
export class ImportNotFoundError extends Error {
  /** the reference as written (after the value set version rules) */
  readonly reference: string;
  readonly url: string;
  readonly version?: string;
  constructor(reference: string) {
    const { url, version } = splitCanonical(reference);
    super(`A definition for the value Set '${reference}' could not be found`);
    this.name = 'ImportNotFoundError';
    this.reference = reference;
    this.url = url;
    if (version !== undefined) this.version = version;
  }
}

/** The canonical of a value set for messages and parameters: `url|version`, `url`, or `#id`. */
export function valueSetCanonical(vs: ValueSet): string {
  if (vs.url) return vs.version ? `${vs.url}|${vs.version}` : vs.url;
  return vs.id ? `#${vs.id}` : '(unidentified)';
}

/** R4 reads `include.valueSet`; accept a lone string too (some R3-era content has one). */
export function includeValueSets(inc: ValueSetComposeInclude): string[] {
  const v = inc.valueSet as unknown;
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

/**
 * Resolves a value set reference made inside `container`: `#id` (a contained value set), a
 * canonical (`url`, `url|version`), or the implicit all-codes value set of a code system.
 */
export function resolveValueSetReference(
  ctx: TxContext,
  reference: string,
  container?: ValueSet,
): ValueSet | undefined {
  if (reference.startsWith('#')) {
    const id = reference.slice(1);
    if (!Array.isArray(container?.contained)) return undefined;
    return container.contained.find((r): r is ValueSet => r?.resourceType === 'ValueSet' && r.id === id);
  }
  const { url, version } = splitCanonical(reference);
  const contained = (Array.isArray(container?.contained) ? container.contained : []).find(
    (r): r is ValueSet =>
      r?.resourceType === 'ValueSet' && r.url === url && (version === undefined || versionMatches(version, r.version)),
  );
  if (contained) return contained;
  return ctx.valueSet(reference) ?? resolveImplicitValueSet(ctx, reference);
}

/** The version a value set reference asks for, the value set version rules applied. */
export function pinValueSetReference(rules: VersionRules, reference: string): string {
  if (reference.startsWith('#')) return reference;
  const { url, version } = splitCanonical(reference);
  const pinned = rules.forces.get(url) ?? version ?? rules.defaults.get(url) ?? rules.checks.get(url);
  return pinned !== undefined ? `${url}|${pinned}` : url;
}
