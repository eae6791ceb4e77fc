import type { CodeableConcept, Coding, Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import { badRequest } from './outcome.ts';

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

function valueKeyOf(p: ParametersParameter): string | undefined {
  for (const k of Object.keys(p)) if (k.startsWith('value')) return k;
  return undefined;
}

/**
 * Input parameters of an operation, from either a GET query or a POST Parameters body
 * (FHIR R4 §3.1.0.1 Operations: "parameters that are primitive may be passed in the URL").
 * Parameters the operation does not define are kept but ignored by handlers, as the
 * tx-ecosystem IG requires (the tests add a `uuid` parameter to every request).
 */
export class InputParams {
  readonly values: ParamValue[];
  private readonly defs: Map<string, ParamDef>;

  constructor(values: ParamValue[], defs: ParamDef[] = []) {
    this.values = values;
    this.defs = new Map(defs.map((d) => [d.name, d]));
  }

  static fromQuery(query: Record<string, unknown>, defs: ParamDef[]): InputParams {
    const values: ParamValue[] = [];
    for (const [name, raw] of Object.entries(query)) {
      const list = Array.isArray(raw) ? raw : [raw];
      for (const v of list) {
        if (typeof v !== 'string') continue;
        values.push({ name, value: v });
      }
    }
    const params = new InputParams(values, defs);
    params.checkCardinality();
    return params;
  }

  static fromParameters(body: Parameters, defs: ParamDef[]): InputParams {
    const values: ParamValue[] = [];
    for (const p of body.parameter ?? []) {
      if (!p || typeof p.name !== 'string')
        throw badRequest('Every Parameters.parameter needs a name', 'Parameters.parameter');
      const key = valueKeyOf(p);
      values.push({
        name: p.name,
        value: key ? (p as unknown as Record<string, unknown>)[key] : undefined,
        valueKey: key,
        resource: p.resource,
        part: p.part,
        raw: p,
      });
    }
    const params = new InputParams(values, defs);
    params.checkCardinality();
    return params;
  }

  private checkCardinality(): void {
    for (const def of this.defs.values()) {
      const n = this.values.filter((v) => v.name === def.name).length;
      const max = def.max ?? 1;
      if (max !== '*' && n > max) {
        throw badRequest(`Parameter '${def.name}' may occur at most ${max} time(s), found ${n}`, def.name);
      }
    }
  }

  has(name: string): boolean {
    return this.values.some((v) => v.name === name);
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

/** Builds an output Parameters resource; undefined values are left out. */
export class OutputParams {
  readonly parameter: ParametersParameter[] = [];

  add(name: string, valueKey: string, value: unknown): this {
    if (value === undefined || value === null) return this;
    this.parameter.push({ name, [valueKey]: value } as ParametersParameter);
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
