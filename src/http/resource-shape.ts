import { badRequest, type OperationOutcomeError } from './outcome.ts';
import {
  ANY,
  type Field,
  MAX_CONCEPT_DEPTH,
  MAX_JSON_DEPTH,
  MAX_REQUEST_ELEMENTS,
  MAX_STRING_LENGTH,
  type ObjectSchema,
  OTHER_RESOURCE,
  one,
  PRIMITIVE_FORMATS,
  type PrimitiveFormat,
  RESOURCE_SCHEMAS,
  type Schema,
  SHAPES,
  type ShapeName,
  VALUE_TYPES,
} from './resource-schemas.ts';

/**
 * Shape checks of what a request carries (issue 9, "input validation at the edge"): the
 * CodeSystem, ValueSet, ConceptMap and Parameters resources of `tx-resource`, `valueSet`,
 * `codeSystem`, `conceptMap` and `validation`, and Coding / CodeableConcept values. They run
 * before the terminology engine sees the input, so that a malformed resource is a 400
 * OperationOutcome naming the element (`Parameters.parameter[2].resource.compose.include[0]`)
 * instead of a TypeError deep in the engine.
 *
 * This is not a full FHIR validator. It checks, against the FHIR R4 structure
 * (http://hl7.org/fhir/R4/codesystem.html, valueset.html, conceptmap.html, parameters.html),
 * the elements the engine reads and the metadata it echoes (arrays are arrays, objects are
 * objects, primitives have their JSON type, no nulls, the elements the engine cannot do
 * without are there), and bounds what any request may hold (nesting, elements, string
 * lengths). Elements it does not know are walked for the bounds only and otherwise accepted:
 * a client may send elements of a later FHIR version, which the engine ignores.
 *
 * The walk is iterative (an explicit stack), so a hostile nesting depth cannot overflow the
 * call stack before the depth limits (resource-schemas.ts) refuse it. The structures themselves
 * are in resource-schemas.ts.
 */

/** What one request may still hold; shared by every check of the request. */
export class ShapeBudget {
  elements: number;
  constructor(elements: number = MAX_REQUEST_ELEMENTS) {
    this.elements = elements;
  }
}

interface Frame {
  value: unknown;
  schema: Schema;
  /** the value must be an array of `schema` */
  array: boolean;
  /** ... or may be one `schema` */
  single?: boolean;
  parent: Frame | undefined;
  /** the property name or array index under the parent; the root's is its whole path */
  key: string | number;
  depth: number;
  nesting: number;
}

/**
 * Checks `value` against a shape; throws a 400 OperationOutcomeError naming the first element at
 * fault with a FHIRPath-like expression that starts at `path` (e.g. `Parameters.parameter[2].resource`).
 * `label` starts the message (e.g. "Parameter 'tx-resource'").
 */
export function checkShape(
  value: unknown,
  shape: ShapeName,
  path: string,
  budget: ShapeBudget = new ShapeBudget(),
  label?: string,
): void {
  const fail = (frame: Frame, problem: string): OperationOutcomeError => {
    const at = renderPath(frame);
    return badRequest(`${label ? `${label}: ` : ''}${at} ${problem}`, at);
  };
  const stack: Frame[] = [
    { value, schema: SHAPES[shape], array: false, parent: undefined, key: path, depth: 0, nesting: 0 },
  ];
  /**
   * A primitive (or null) met where `schema` is expected, checked at once rather than stacked: most
   * of a large resource is strings. Throws for the element `key` under `parent` when it is wrong.
   */
  const leaf = (parent: Frame, key: string | number, v: unknown, schema: Schema): void => {
    if (--budget.elements < 0) {
      throw fail(
        child(parent, key, v, schema),
        `is past the limit of ${MAX_REQUEST_ELEMENTS} elements a request may hold`,
      );
    }
    const problem = leafProblem(v, schema);
    if (problem) throw fail(child(parent, key, v, schema), problem);
  };
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    if (--budget.elements < 0) {
      throw fail(frame, `is past the limit of ${MAX_REQUEST_ELEMENTS} elements a request may hold`);
    }
    if (frame.depth > MAX_JSON_DEPTH) throw fail(frame, `is nested more than ${MAX_JSON_DEPTH} levels deep`);
    const v = frame.value;
    const { schema } = frame;
    if (schema.kind === 'any') {
      // unknown content: only the bounds (depth, element count, string length) apply
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) {
          if (isLeafValue(v[i])) leaf(frame, i, v[i], ANY);
          else stack.push(child(frame, i, v[i], ANY));
        }
      } else if (isPlainObject(v)) {
        const keys = Object.keys(v);
        for (let i = keys.length - 1; i >= 0; i--) {
          const item = v[keys[i]];
          if (isLeafValue(item)) leaf(frame, keys[i], item, ANY);
          else stack.push(child(frame, keys[i], item, ANY));
        }
      } else {
        const problem = leafProblem(v, ANY);
        if (problem) throw fail(frame, problem);
      }
      continue;
    }
    if (v === null) throw fail(frame, 'must not be null');
    if (frame.array) {
      if (!Array.isArray(v)) {
        if (!frame.single) throw fail(frame, `must be an array, found ${describe(v)}`);
        // the one item, in the element's own place
        stack.push({ ...frame, array: false });
        budget.elements++;
        continue;
      }
      for (let i = v.length - 1; i >= 0; i--) {
        if (isLeafValue(v[i])) leaf(frame, i, v[i], schema);
        else stack.push(child(frame, i, v[i], schema));
      }
      continue;
    }
    switch (schema.kind) {
      case 'resource': {
        if (!isPlainObject(v)) throw fail(frame, `must be a resource (a JSON object), found ${describe(v)}`);
        const type = v.resourceType;
        if (typeof type !== 'string') {
          throw fail(frame, `must be a resource with a resourceType, found ${describe(type)}`);
        }
        // the same place, checked as the resource it says it is
        stack.push({ ...frame, schema: RESOURCE_SCHEMAS[type] ?? OTHER_RESOURCE });
        budget.elements++;
        break;
      }
      case 'object': {
        if (!isPlainObject(v))
          throw fail(frame, `must be ${article(schema.type)} (a JSON object), found ${describe(v)}`);
        const keys = Object.keys(v);
        // json.html: "objects are never empty"; an empty one would travel into answers that echo it
        if (keys.length === 0) throw fail(frame, `must not be empty (${article(schema.type)} with no content)`);
        for (const name of schema.required) {
          if (v[name] === undefined && v[`_${name}`] === undefined) {
            throw fail(frame, `has no ${name}, which ${article(schema.type)} must have`);
          }
        }
        for (let i = keys.length - 1; i >= 0; i--) {
          const key = keys[i];
          const item = v[key];
          let field = schema.fields[key] ?? (schema.valueX ? valueField(key) : undefined);
          if (field === undefined) {
            if (schema.closed && !isExtraKey(schema, key)) {
              throw fail(child(frame, key, item, ANY), `is not an element of ${schema.type}`);
            }
            field = ANY_FIELD;
          }
          if (!field.array && isLeafValue(item)) {
            leaf(frame, key, item, field.schema);
            continue;
          }
          const next = child(frame, key, item, field.schema);
          next.array = field.array;
          next.single = field.single;
          if (field.nests) {
            next.nesting = frame.nesting + 1;
            if (next.nesting > MAX_CONCEPT_DEPTH) {
              throw fail(next, `is nested more than ${MAX_CONCEPT_DEPTH} levels deep`);
            }
          }
          stack.push(next);
        }
        break;
      }
      default: {
        // a container where a primitive belongs
        const problem = leafProblem(v, schema);
        if (problem) throw fail(frame, problem);
      }
    }
  }
}

/** A JSON value with nothing inside it: a primitive or null. */
function isLeafValue(v: unknown): boolean {
  return v === null || typeof v !== 'object';
}

/** What is wrong with a value (a primitive, null, or a container where a primitive belongs) as `schema`. */
function leafProblem(v: unknown, schema: Schema): string | undefined {
  switch (schema.kind) {
    case 'any':
      return typeof v === 'string' ? stringProblem(v, MAX_STRING_LENGTH) : undefined;
    case 'string':
      if (typeof v !== 'string') return v === null ? 'must not be null' : `must be a string, found ${describe(v)}`;
      return stringProblem(v, schema.max, schema.format);
    case 'boolean':
      if (typeof v !== 'boolean') return v === null ? 'must not be null' : `must be a boolean, found ${describe(v)}`;
      return undefined;
    case 'integer':
      if (!isInteger32(v)) return v === null ? 'must not be null' : `must be an integer, found ${describe(v)}`;
      return undefined;
    case 'decimal':
      if (typeof v !== 'number' || !Number.isFinite(v))
        return v === null ? 'must not be null' : `must be a number, found ${describe(v)}`;
      return undefined;
    case 'resource':
      return v === null ? 'must not be null' : `must be a resource (a JSON object), found ${describe(v)}`;
    case 'object':
      return v === null ? 'must not be null' : `must be ${article(schema.type)} (a JSON object), found ${describe(v)}`;
  }
}

const ANY_FIELD: Field = one(ANY);
const VALUE_FIELDS = new Map(Object.entries(VALUE_TYPES).map(([type, schema]) => [`value${type}`, one(schema)]));

function valueField(key: string): Field | undefined {
  return VALUE_FIELDS.get(key);
}

/**
 * Keys a closed element may hold beyond its fields: the `_element` extension siblings of its
 * primitives (json.html#primitive), `fhir_comments`, and value[x] of types not checked here.
 */
function isExtraKey(schema: ObjectSchema, key: string): boolean {
  if (key === 'fhir_comments') return true;
  const name = key.startsWith('_') ? key.slice(1) : key;
  if (schema.valueX && /^value[A-Z]/.test(name)) return true;
  return key !== name && schema.fields[name] !== undefined;
}

function child(parent: Frame, key: string | number, value: unknown, schema: Schema): Frame {
  return { value, schema, array: false, parent, key, depth: parent.depth + 1, nesting: parent.nesting };
}

/** C0 control characters but tab, line feed and carriage return. */
const NON_BLANK = /\S/;
/** Control characters or surrogates: one pass over an ordinary string, the details only if one is there. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters looked for
const SUSPECT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters refused
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;

/**
 * What is wrong with a string as a FHIR string (and the primitive `format`), if anything: longer
 * than `max`, blank, not of the format, or holding what FHIR strings may not (datatypes.html#string:
 * no character points below 32 but tab, CR and LF; and it is Unicode, so no unpaired surrogate).
 * Such strings would otherwise travel into answers that echo the input, and make them invalid.
 */
export function stringProblem(s: string, max: number, format?: PrimitiveFormat): string | undefined {
  if (s.length > max) return `is too long (${s.length} characters, at most ${max}): ${describe(s)}`;
  // datatypes.html#primitive: "Strings SHALL have non-whitespace content"
  if (!NON_BLANK.test(s)) return `must not be empty or blank, found ${describe(s)}`;
  if (SUSPECT.test(s)) {
    const control = CONTROL.exec(s);
    if (control) {
      const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
      return `must not hold control characters (U+${code} at position ${control.index})`;
    }
    if (!s.isWellFormed()) return 'must be well-formed Unicode (it holds an unpaired surrogate)';
  }
  if (format && !PRIMITIVE_FORMATS[format].test(s)) return `must be a valid FHIR ${format}, found ${describe(s)}`;
  return undefined;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** FHIR integer: a 32-bit signed whole number (http://hl7.org/fhir/R4/datatypes.html#integer). */
export function isInteger32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= -2_147_483_648 && v <= 2_147_483_647;
}

function article(type: string): string {
  return /^[AEIOU]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** Longest expression shown; a deeper one keeps its start and end. */
const MAX_PATH_SHOWN = 240;
/** Longest property name shown in an expression. */
const MAX_KEY_SHOWN = 40;

/** The FHIRPath-like expression of a frame: root path, `.name` and `[index]` steps. */
function renderPath(frame: Frame): string {
  const steps: string[] = [];
  for (let f: Frame | undefined = frame; f !== undefined; f = f.parent) {
    if (typeof f.key === 'number') steps.push(`[${f.key}]`);
    else if (f.parent === undefined) steps.push(f.key);
    else steps.push(`.${truncate(f.key, MAX_KEY_SHOWN)}`);
  }
  const path = steps.reverse().join('');
  if (path.length <= MAX_PATH_SHOWN) return path;
  const half = MAX_PATH_SHOWN / 2;
  return `${path.slice(0, half)}...${path.slice(-half)}`;
}

/** At most `max` code points of `s`, with `...` when cut (never half a surrogate pair). */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  const points = Array.from(s.slice(0, max * 2)).slice(0, max);
  return `${points.join('')}...`;
}

/** What a value is, for messages: its JSON type and, for primitives, a short quote. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return `a string ${JSON.stringify(truncate(v, 32))}`;
    case 'number':
      return `a number (${String(v)})`;
    case 'boolean':
      return `a boolean (${String(v)})`;
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}
