import type { ValueSetComposeIncludeFilter } from '@medplum/fhirtypes';
import type { CodeSystemIndex, IndexedConcept } from './codesystem-index.ts';
import { compileWholeMatch, PatternError, type WholeMatcher } from './safe-regex.ts';

/**
 * Evaluation of ValueSet.compose.include.filter against one code system
 * (http://hl7.org/fhir/R4/valueset-filter-operator.html, plus the R5 operators child-of and
 * descendent-leaf). A filter is compiled once into a predicate over concepts.
 */
export type ConceptPredicate = (concept: IndexedConcept) => boolean;

export class FilterError extends Error {
  readonly property: string;
  readonly op: string;
  constructor(message: string, property: string, op: string) {
    super(message);
    this.property = property;
    this.op = op;
  }
}

function propertyValuesAsStrings(concept: IndexedConcept, property: string): string[] {
  const out: string[] = [];
  for (const p of concept.property) {
    if (p.code !== property) continue;
    const v =
      p.valueCode ??
      p.valueString ??
      (p.valueBoolean !== undefined ? String(p.valueBoolean) : undefined) ??
      (p.valueInteger !== undefined ? String(p.valueInteger) : undefined) ??
      (p.valueDecimal !== undefined ? String(p.valueDecimal) : undefined) ??
      p.valueDateTime ??
      p.valueCoding?.code;
    if (v !== undefined) out.push(v);
  }
  // A concept without the property has no value for it: `notSelectable = false` does not select
  // concepts that do not state it (tx-ecosystem notSelectable/expand-prop-false expects codeS only).
  return out;
}

/** A FHIR regex (which must match the whole value), on the linear-time engine (safe-regex.ts). */
function wholeRegex(pattern: string, property: string): WholeMatcher {
  try {
    return compileWholeMatch(pattern);
  } catch (err) {
    if (err instanceof PatternError) throw new FilterError(err.message, property, 'regex');
    throw err;
  }
}

/** Values of a filter that take a comma-separated list (`in`, `not-in`). */
function listValues(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** `concept` (and `code`) filters work on the code and the is-a hierarchy. */
function isHierarchyProperty(property: string): boolean {
  return property === 'concept' || property === 'code';
}

/**
 * Compiles a filter. Throws FilterError when the filter cannot be evaluated on this code system
 * (unknown operator, unknown property, invalid regex). `at` is the request's `date`: the day
 * `status` and `inactive` are judged at for concepts with a validity (validity.ts).
 */
export function compileFilter(
  idx: CodeSystemIndex,
  filter: ValueSetComposeIncludeFilter,
  at?: string,
): ConceptPredicate {
  const property = filter.property ?? '';
  const op: string = filter.op ?? '';
  const value = filter.value ?? '';
  const onConcept = isHierarchyProperty(property);

  if (onConcept) {
    const target = idx.find(value)?.code ?? value;
    switch (op) {
      case '=':
        return (c) => c.code === target;
      // hierarchy filters work on sets computed once per compiled filter, not per concept
      case 'is-a': {
        const set = new Set([target, ...idx.descendants(target)]);
        return (c) => set.has(c.code);
      }
      case 'descendent-of': {
        const set = new Set(idx.descendants(target));
        return (c) => set.has(c.code);
      }
      case 'is-not-a': {
        const set = new Set([target, ...idx.descendants(target)]);
        return (c) => !set.has(c.code);
      }
      case 'generalizes': {
        const set = new Set([target, ...idx.ancestors(target)]);
        return (c) => set.has(c.code);
      }
      case 'child-of':
        return (c) => c.parents.includes(target);
      case 'descendent-leaf': {
        const set = new Set(idx.descendants(target));
        return (c) => c.children.length === 0 && set.has(c.code);
      }
      case 'in': {
        const set = new Set(listValues(value));
        return (c) => set.has(c.code);
      }
      case 'not-in': {
        const set = new Set(listValues(value));
        return (c) => !set.has(c.code);
      }
      case 'regex': {
        const re = wholeRegex(value, property);
        return (c) => re.test(c.code);
      }
      case 'exists':
        return () => value === 'true';
      default:
        throw new FilterError(`The filter operator '${op}' is not supported for property '${property}'`, property, op);
    }
  }

  const known =
    idx.propertyDefs.has(property) ||
    ['display', 'definition', 'status', 'inactive', 'notSelectable', 'parent', 'child'].includes(property);
  if (!known) {
    throw new FilterError(`The property '${property}' is not defined in the code system`, property, op);
  }
  // `parent` and `child` (concept-properties) are the hierarchy, stated by nesting or by properties
  const hierarchy =
    property === 'parent' || property === idx.propertyCodeFor('parent')
      ? 'parents'
      : property === 'child' || property === idx.propertyCodeFor('child')
        ? 'children'
        : undefined;
  const inactiveCode = idx.propertyCodeFor('inactive') ?? 'inactive';
  const statusCode = idx.propertyCodeFor('status') ?? 'status';
  const values = (c: IndexedConcept): string[] => {
    if (hierarchy) return c[hierarchy];
    if (property === 'display') return c.display !== undefined ? [c.display] : [];
    if (property === 'definition') return c.definition !== undefined ? [c.definition] : [];
    // `inactive` (http://hl7.org/fhir/concept-properties#inactive) is whether the concept is
    // inactive, as $validate-code and $expand judge it: the property where the concept states it,
    // else its status (retired, inactive, withdrawn) or validity on the day
    if (property === inactiveCode) return [String(idx.isInactive(c, at))];
    if (property === statusCode) {
      // a concept with a validity has a status of the day, not just the one stored (validity.ts)
      if (c.validity) {
        const status = idx.status(c, at);
        return status === undefined ? [] : [status];
      }
      // without a status property, the status its standards-status extension states
      const own = propertyValuesAsStrings(c, property);
      if (own.length > 0 || c.stored.status === undefined) return own;
      return [c.stored.status];
    }
    return propertyValuesAsStrings(c, property);
  };
  switch (op) {
    case '=':
      return (c) => values(c).includes(value);
    case 'in': {
      const set = new Set(listValues(value));
      return (c) => values(c).some((v) => set.has(v));
    }
    case 'not-in': {
      const set = new Set(listValues(value));
      return (c) => !values(c).some((v) => set.has(v));
    }
    case 'regex': {
      const re = wholeRegex(value, property);
      return (c) => values(c).some((v) => re.test(v));
    }
    case 'exists': {
      const want = value !== 'false';
      if (hierarchy) return (c) => c[hierarchy].length > 0 === want;
      return (c) => c.property.some((p) => p.code === property) === want;
    }
    default:
      throw new FilterError(`The filter operator '${op}' is not supported for property '${property}'`, property, op);
  }
}
