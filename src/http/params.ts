import type { CodeableConcept, Coding, Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import { badRequest } from './outcome.ts';
import { MAX_CODE_LENGTH, MAX_STRING_LENGTH, type PrimitiveFormat } from './resource-schemas.ts';
import {
  checkShape,
  describe,
  isInteger32,
  isPlainObject,
  ShapeBudget,
  stringProblem,
  truncate,
} from './resource-shape.ts';

/** FHIR data types an operation parameter may have (the subset terminology operations use). */
export type ParamType =
  | 'string'
  | 'code'
  | 'uri'
  | 'canonical'
  | 'boolean'
  | 'integer'
  | 'dateTime'
  | 'date'
  | 'Coding'
  | 'CodeableConcept'
  | 'Resource'
  | 'part';

export interface ParamDef {
  name: string;
  type: ParamType;
  min?: number;
  /** '*' or a number; default 1 */
  max?: number | '*';
  /** for type 'Resource': the resource types allowed (any when absent) */
  resourceTypes?: readonly string[];
}

/** One parameter value, normalised from a GET query string or a POST Parameters entry. */
export interface ParamValue {
  name: string;
  /** the JSON value of value[x] (or the resource, or undefined for part-only parameters) */
  value?: unknown;
  /** the value[x] key it came in (e.g. valueCode), undefined for query strings */
  valueKey?: string;
  resource?: Resource;
  part?: ParametersParameter[];
  /** the original POST entry, when there was one */
  raw?: ParametersParameter;
}

const PRIMITIVE_KEYS: Record<string, ParamType> = {
  valueString: 'string',
  valueCode: 'code',
  valueUri: 'uri',
  valueUrl: 'uri',
  valueCanonical: 'canonical',
  valueBoolean: 'boolean',
  valueInteger: 'integer',
  valueDecimal: 'string',
  valueDateTime: 'dateTime',
  valueDate: 'date',
  valueId: 'string',
  valueOid: 'uri',
  valueUuid: 'uri',
  valueInstant: 'dateTime',
  valueMarkdown: 'string',
  valuePositiveInt: 'integer',
  valueUnsignedInt: 'integer',
};

/** value[x] keys of string-compatible primitive types: FHIR lets these stand for one another. */
const STRING_KEYS = new Set([
  'valueString',
  'valueCode',
  'valueUri',
  'valueUrl',
  'valueCanonical',
  'valueId',
  'valueOid',
  'valueUuid',
  'valueMarkdown',
]);
const INTEGER_KEYS = new Set(['valueInteger', 'valuePositiveInt', 'valueUnsignedInt', 'valueDecimal']);
const DATE_KEYS = new Set(['valueDateTime', 'valueDate', 'valueInstant']);
/** An integer as text: optional sign, digits (FHIR integer's lexical form). */
const INTEGER_TEXT = /^[+-]?[0-9]+$/;

/** How each parameter type is named in messages and which value[x] it is expected as. */
const EXPECTED: Record<ParamType, string> = {
  string: 'a string (valueString)',
  code: 'a code (valueCode)',
  uri: 'a uri (valueUri)',
  canonical: 'a canonical (valueCanonical)',
  boolean: 'a boolean (valueBoolean)',
  integer: 'an integer (valueInteger)',
  dateTime: 'a dateTime (valueDateTime)',
  date: 'a date (valueDate)',
  Coding: 'a Coding (valueCoding)',
  CodeableConcept: 'a CodeableConcept (valueCodeableConcept)',
  Resource: 'a resource',
  part: 'parts (part)',
};

function valueKeysOf(p: Record<string, unknown>): string[] {
  return Object.keys(p).filter((k) => k.startsWith('value') && k.length > 5);
}

/** A short quote of a value for a message: control characters and unpaired surrogates escaped as in JSON. */
function quote(v: unknown): string {
  return typeof v === 'string' ? `'${JSON.stringify(truncate(v, 64)).slice(1, -1)}'` : describe(v);
}

/**
 * Input parameters of an operation, from either a GET query or a POST Parameters body
 * (FHIR R4 §3.1.0.1 Operations: "parameters that are primitive may be passed in the URL").
 * Each parameter the operation defines is checked against its ParamDef when the request is read:
 * its type (a 400 naming the parameter, the type expected and what was found), its cardinality,
 * and, for Coding, CodeableConcept and resource values, its shape (resource-shape.ts), so that the
 * handlers and the engine only see well-formed input. Parameters the operation does not define are
 * kept but not checked and ignored by handlers, as the tx-ecosystem IG requires (the tests add a
 * `uuid` parameter to every request).
 */
export class InputParams {
  readonly values: ParamValue[];
  private readonly defs: Map<string, ParamDef>;

  constructor(values: ParamValue[], defs: ParamDef[] = []) {
    this.values = values;
    this.defs = defsByName(defs);
  }

  static fromQuery(query: Record<string, unknown>, defs: ParamDef[]): InputParams {
    const values: ParamValue[] = [];
    // a parameter with no value is ignored, as FHIR search ignores empty parameters
    const take = (name: string, v: unknown): void => {
      if (typeof v === 'string' && v.trim() !== '') values.push({ name, value: v });
    };
    for (const name of Object.keys(query)) {
      const raw = query[name];
      if (Array.isArray(raw)) for (const v of raw) take(name, v);
      else take(name, raw);
    }
    const params = new InputParams(values, defs);
    params.checkCardinality();
    for (const v of values) {
      const def = params.defs.get(v.name);
      if (def) v.value = checkQueryValue(def, v.value as string);
    }
    return params;
  }

  static fromParameters(body: Parameters, defs: ParamDef[]): InputParams {
    const values: ParamValue[] = [];
    const entries: unknown[] = body.parameter ?? [];
    entries.forEach((p, i) => {
      if (!isPlainObject(p) || typeof p.name !== 'string')
        throw badRequest('Every Parameters.parameter needs a name', `Parameters.parameter[${i}].name`);
      const keys = valueKeysOf(p);
      const key = keys[0];
      values.push({
        name: p.name,
        value: key ? p[key] : undefined,
        valueKey: key,
        resource: p.resource as Resource | undefined,
        part: p.part as ParametersParameter[] | undefined,
        raw: p as unknown as ParametersParameter,
      });
    });
    const params = new InputParams(values, defs);
    params.checkCardinality();
    // one budget for the whole request: bounds the work of the checks and what reaches the engine
    const budget = new ShapeBudget();
    values.forEach((v, i) => {
      const def = params.defs.get(v.name);
      if (def)
        v.value = checkEntry(def, v.raw as unknown as Record<string, unknown>, `Parameters.parameter[${i}]`, budget);
    });
    return params;
  }

  private checkCardinality(): void {
    // only a name given more than once can break a cardinality (every max is 1 or more)
    const { values } = this;
    for (let i = 1; i < values.length; i++) {
      const name = values[i].name;
      let earlier = false;
      for (let j = 0; j < i && !earlier; j++) earlier = values[j].name === name;
      if (!earlier) continue;
      const def = this.defs.get(name);
      const max = def?.max ?? 1;
      if (def === undefined || max === '*') continue;
      const n = values.filter((v) => v.name === name).length;
      if (n > max) throw badRequest(`Parameter '${name}' may occur at most ${max} time(s), found ${n}`, name);
    }
  }

  has(name: string): boolean {
    return this.values.some((v) => v.name === name);
  }

  /** Whether the operation defines this parameter (and so its values were checked when read). */
  declares(name: string): boolean {
    return this.defs.has(name);
  }

  all(name: string): ParamValue[] {
    return this.values.filter((v) => v.name === name);
  }

  first(name: string): ParamValue | undefined {
    return this.values.find((v) => v.name === name);
  }

  /** A primitive parameter as a string (code, uri, string, canonical, dateTime ...). */
  string(name: string): string | undefined {
    const v = this.first(name);
    if (v === undefined || v.value === undefined) return undefined;
    if (typeof v.value === 'string') return v.value;
    if (typeof v.value === 'number' || typeof v.value === 'boolean') return String(v.value);
    throw badRequest(`Parameter '${name}' must be a primitive value`, name);
  }

  strings(name: string): string[] {
    const out: string[] = [];
    for (const v of this.all(name)) {
      if (typeof v.value === 'string') out.push(v.value);
      else if (typeof v.value === 'number' || typeof v.value === 'boolean') out.push(String(v.value));
    }
    return out;
  }

  boolean(name: string): boolean | undefined {
    const v = this.first(name);
    if (v === undefined || v.value === undefined) return undefined;
    if (typeof v.value === 'boolean') return v.value;
    if (v.value === 'true') return true;
    if (v.value === 'false') return false;
    throw badRequest(`Parameter '${name}' must be a boolean (true or false), found '${String(v.value)}'`, name);
  }

  integer(name: string): number | undefined {
    const v = this.first(name);
    if (v === undefined || v.value === undefined) return undefined;
    const n = typeof v.value === 'number' ? v.value : typeof v.value === 'string' ? Number(v.value) : Number.NaN;
    if (!Number.isInteger(n))
      throw badRequest(`Parameter '${name}' must be an integer, found '${String(v.value)}'`, name);
    return n;
  }

  /** A Coding parameter (POST only; GET cannot carry complex types). */
  coding(name: string): Coding | undefined {
    const v = this.first(name);
    if (v === undefined) return undefined;
    if (v.value === undefined || typeof v.value !== 'object' || v.value === null) {
      throw badRequest(`Parameter '${name}' must be a Coding`, name);
    }
    return v.value as Coding;
  }

  codings(name: string): Coding[] {
    return this.all(name)
      .map((v) => v.value)
      .filter((x): x is Coding => typeof x === 'object' && x !== null);
  }

  codeableConcept(name: string): CodeableConcept | undefined {
    const v = this.first(name);
    if (v === undefined) return undefined;
    if (v.value === undefined || typeof v.value !== 'object' || v.value === null) {
      throw badRequest(`Parameter '${name}' must be a CodeableConcept`, name);
    }
    return v.value as CodeableConcept;
  }

  resource(name: string): Resource | undefined {
    return this.first(name)?.resource;
  }

  resources(name: string): Resource[] {
    return this.all(name)
      .map((v) => v.resource)
      .filter((r): r is Resource => r !== undefined);
  }

  /** The primitive type a POSTed value came as (valueCode → 'code'), if known. */
  typeOf(name: string): ParamType | undefined {
    const k = this.first(name)?.valueKey;
    return k ? PRIMITIVE_KEYS[k] : undefined;
  }
}

/** The definitions by name, made once per list (an operation's list is made once, at start-up). */
const defMaps = new WeakMap<readonly ParamDef[], Map<string, ParamDef>>();

function defsByName(defs: readonly ParamDef[]): Map<string, ParamDef> {
  let map = defMaps.get(defs);
  if (!map) {
    map = new Map(defs.map((d) => [d.name, d]));
    defMaps.set(defs, map);
  }
  return map;
}

/** `a CodeSystem, ValueSet or ConceptMap` */
function oneOf(types: readonly string[]): string {
  const last = types[types.length - 1];
  return types.length === 1 ? `a ${last}` : `a ${types.slice(0, -1).join(', ')} or ${last}`;
}

/** Whether a parameter type is carried as text (and so may come as any string-compatible value[x]). */
function isTextual(type: ParamType): boolean {
  return type === 'string' || type === 'code' || type === 'uri' || type === 'canonical';
}

/** Longest value of a textual parameter: codes and identifiers are shorter than free text. */
function maxLength(type: ParamType): number {
  return type === 'string' ? MAX_STRING_LENGTH : MAX_CODE_LENGTH;
}

/**
 * The lexical form each primitive parameter type must have (datatypes.html#primitive). Dates are
 * read by the handlers (coding-params.ts dateParam, which says what form they take).
 */
const FORMAT_OF: Partial<Record<ParamType, PrimitiveFormat>> = { code: 'code', uri: 'uri', canonical: 'uri' };

/**
 * A textual value, checked: a 400 when it is too long, blank, not of its type's form or holds what
 * FHIR strings may not (resource-shape.ts). Returns it as the handlers are to see it: surrounding
 * whitespace is not part of a code, uri or date (the handlers trimmed it before; now they need not).
 */
function checkText(def: ParamDef, s: string, format: PrimitiveFormat | undefined = FORMAT_OF[def.type]): string {
  const value = format ? s.trim() : s;
  const problem = stringProblem(value, maxLength(def.type), format);
  if (problem) throw badRequest(`Parameter '${def.name}' ${problem}`, def.name);
  return value;
}

/**
 * A Coding in a query string, `system|code` (or a bare code): each part of its form. A missing part
 * is the handler's to report (it knows which the operation needs).
 */
function checkCodingText(def: ParamDef, s: string): void {
  const bar = s.lastIndexOf('|');
  const system = s.slice(0, Math.max(bar, 0));
  const code = s.slice(bar + 1);
  if (system.trim() !== '') checkText(def, system, 'uri');
  if (code.trim() !== '') checkText(def, code, 'code');
}

/**
 * A query-string value against its definition: query strings are text by nature, so booleans are
 * `true`/`false`, integers are digits, a Coding is `system|code` (coding-params.ts); resources and
 * parts cannot be given in a URL (operations.html#executing: only primitive parameters).
 */
function checkQueryValue(def: ParamDef, value: string): string {
  const found = () => `found ${quote(value)}`;
  switch (def.type) {
    case 'boolean':
      if (value !== 'true' && value !== 'false')
        throw badRequest(`Parameter '${def.name}' must be a boolean (true or false), ${found()}`, def.name);
      return value;
    case 'integer':
      if (!INTEGER_TEXT.test(value) || !isInteger32(Number(value)))
        throw badRequest(`Parameter '${def.name}' must be an integer, ${found()}`, def.name);
      return value;
    case 'Coding':
    case 'CodeableConcept':
      checkCodingText(def, value);
      return value;
    case 'Resource':
    case 'part':
      throw badRequest(
        `Parameter '${def.name}' must be ${EXPECTED[def.type]}, which cannot be given in a URL: POST a Parameters resource`,
        def.name,
      );
    default:
      return checkText(def, value);
  }
}

/**
 * A Parameters entry against its definition (parameters.html: one of value[x], resource or part).
 * FHIR's leniency holds: string-compatible types stand for one another, integers may come as any
 * integer type (or a decimal with an integral value) or as text, booleans as `true`/`false` text.
 * Returns the value[x] as handlers are to see it (a textual one normalised), undefined for
 * resources and parts.
 */
function checkEntry(def: ParamDef, p: Record<string, unknown>, at: string, budget: ShapeBudget): unknown {
  const label = `Parameter '${def.name}'`;
  const keys = valueKeysOf(p);
  if (keys.length > 1) {
    throw badRequest(`${label} has more than one value (${keys.slice(0, 4).join(', ')}): give one value[x]`, def.name);
  }
  const key = keys[0];
  const value = key === undefined ? undefined : p[key];
  // parameters.html inv-1: one of value[x], resource and part
  const given = [key, p.resource !== undefined ? 'a resource' : undefined, p.part !== undefined ? 'parts' : undefined];
  const found = given.filter((g) => g !== undefined).join(' and ') || 'no value';
  const mismatch = () => badRequest(`${label} must be ${EXPECTED[def.type]}, found ${found}`, def.name);
  const badValue = (expected: string) =>
    badRequest(`${label} must be ${expected}, found ${key} ${quote(value)}`, def.name);

  if (def.type === 'Resource') {
    const r = p.resource;
    const wanted = def.resourceTypes ? `${oneOf(def.resourceTypes)} resource` : 'a resource';
    if (key !== undefined || r === undefined)
      throw badRequest(`${label} must hold ${wanted}, found ${found}`, def.name);
    const type = isPlainObject(r) ? r.resourceType : undefined;
    if (typeof type === 'string' && def.resourceTypes && !def.resourceTypes.includes(type)) {
      throw badRequest(`${label} must hold ${wanted}, found ${truncate(type, 64)}`, def.name);
    }
    checkShape(r, 'Resource', `${at}.resource`, budget, label);
    return undefined;
  }
  if (def.type === 'part') {
    if (key !== undefined || p.resource !== undefined || p.part === undefined) throw mismatch();
    if (!Array.isArray(p.part))
      throw badRequest(`${label}: ${at}.part must be an array, found ${describe(p.part)}`, `${at}.part`);
    p.part.forEach((part, i) => {
      checkShape(part, 'ParametersParameter', `${at}.part[${i}]`, budget, label);
    });
    return undefined;
  }
  // every other type is a value[x]
  if (key === undefined || p.resource !== undefined || p.part !== undefined) throw mismatch();
  switch (def.type) {
    case 'Coding':
    case 'CodeableConcept':
      if (key !== `value${def.type}`) throw mismatch();
      checkShape(value, def.type, `${at}.${key}`, budget, label);
      return value;
    case 'boolean':
      // the JSON type is not insisted on: `"valueBoolean": "true"` is what some clients send (and
      // the tx-ecosystem batch tests expect to be accepted); the value must be a boolean still
      if (key !== 'valueBoolean' && !STRING_KEYS.has(key)) throw mismatch();
      if (typeof value !== 'boolean' && value !== 'true' && value !== 'false')
        throw badValue('a boolean (true or false)');
      return value;
    case 'integer':
      if (!INTEGER_KEYS.has(key) && !STRING_KEYS.has(key)) throw mismatch();
      if (!isInteger32(typeof value === 'string' && INTEGER_TEXT.test(value) ? Number(value) : value))
        throw badValue('an integer');
      return value;
    case 'dateTime':
    case 'date':
      if (!DATE_KEYS.has(key) && !STRING_KEYS.has(key)) throw mismatch();
      if (typeof value !== 'string') throw badValue(EXPECTED[def.type]);
      return checkText(def, value);
    default:
      if (!isTextual(def.type)) throw mismatch();
      if (!STRING_KEYS.has(key)) throw mismatch();
      if (typeof value !== 'string') throw badValue(EXPECTED[def.type]);
      return checkText(def, value);
  }
}

/** Builds an output Parameters resource; undefined values are left out. */
export class OutputParams {
  readonly parameter: ParametersParameter[] = [];

  add(name: string, valueKey: string, value: unknown): this {
    if (value === undefined || value === null) return this;
    // assigned rather than a computed key in the literal: V8 then gives the parameters of one
    // kind one shape, which is quicker to build and to serialise
    const p: Record<string, unknown> = { name };
    p[valueKey] = value;
    this.parameter.push(p as unknown as ParametersParameter);
    return this;
  }

  addResource(name: string, resource: Resource | undefined): this {
    if (resource) this.parameter.push({ name, resource });
    return this;
  }

  addPart(name: string, part: ParametersParameter[]): this {
    this.parameter.push({ name, part });
    return this;
  }

  toParameters(): Parameters {
    return { resourceType: 'Parameters', parameter: this.parameter };
  }
}
