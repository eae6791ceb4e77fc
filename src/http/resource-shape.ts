import { badRequest, type OperationOutcomeError } from './outcome.ts';

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
 * call stack before the depth limits below refuse it.
 */

/** How deeply concepts (CodeSystem.concept.concept, ValueSet.expansion.contains.contains, Parameters part.part) may nest. */
export const MAX_CONCEPT_DEPTH = 100;
/**
 * How deeply JSON may nest inside one checked value or resource (objects and arrays counted).
 * Room for MAX_CONCEPT_DEPTH levels of concepts (two JSON levels each) with their content, in a
 * resource inside a batch item's Parameters.
 */
export const MAX_JSON_DEPTH = 2 * MAX_CONCEPT_DEPTH + 56;
/** How many JSON values (objects, arrays, primitives) the checked parameters of one request may hold. */
export const MAX_REQUEST_ELEMENTS = 5_000_000;
/** Longest code, uri, canonical, id or version (FHIR sets no limit; nothing real comes near it). */
export const MAX_CODE_LENGTH = 64 * 1024;
/** Longest string (FHIR R4 datatypes.html#string: "Strings SHALL NOT exceed 1MB in size"). */
export const MAX_STRING_LENGTH = 1024 * 1024;

type Schema =
  | { kind: 'string'; max: number; format?: PrimitiveFormat }
  | { kind: 'boolean' }
  | { kind: 'integer' }
  | { kind: 'decimal' }
  | { kind: 'any' }
  | { kind: 'resource' }
  | ObjectSchema;

interface ObjectSchema {
  kind: 'object';
  /** FHIR type name, for messages */
  type: string;
  fields: Record<string, Field>;
  /** elements that must be present (or have their `_element` extension sibling) */
  required: readonly string[];
  /** whether the element has a choice `value[x]` (Extension, concept property, Parameters.parameter ...) */
  valueX: boolean;
  /**
   * whether elements not in `fields` are refused: so for the datatypes (Coding, Extension ...),
   * which no FHIR version extends, and whose unknown content would travel into answers; resources
   * and their backbone elements stay open to the elements of later versions
   */
  closed: boolean;
}

interface Field {
  schema: Schema;
  array: boolean;
  /** whether each level of this element counts towards MAX_CONCEPT_DEPTH */
  nests: boolean;
  /** an array element that may also be given as one item (the engine reads both) */
  single?: boolean;
}

/**
 * The lexical forms of FHIR R4 primitives (datatypes.html#primitive), as the R4 validator checks
 * them; an input of another form would make an answer that echoes it invalid.
 */
export const PRIMITIVE_FORMATS = {
  code: /^[^\s]+( [^\s]+)*$/,
  uri: /^\S*$/,
  id: /^[A-Za-z0-9\-.]{1,64}$/,
  date: /^(\d(\d(\d[1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2]\d|3[0-1]))?)?$/,
  dateTime:
    /^(\d(\d(\d[1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2]\d|3[0-1])(T([01]\d|2[0-3])(:[0-5]\d:([0-5]\d|60)(\.\d{1,9})?)?)?)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00)?)?)?$/,
  instant:
    /^(\d(\d(\d[1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2]\d|3[0-1])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))$/,
} as const;

export type PrimitiveFormat = keyof typeof PRIMITIVE_FORMATS;

/** version, id-like and other short strings without a format of their own */
const TOKEN: Schema = { kind: 'string', max: MAX_CODE_LENGTH };
const TEXT: Schema = { kind: 'string', max: MAX_STRING_LENGTH };
const CODE: Schema = { kind: 'string', max: MAX_CODE_LENGTH, format: 'code' };
/** uri, url, canonical, oid, uuid */
const URI: Schema = { kind: 'string', max: MAX_CODE_LENGTH, format: 'uri' };
const ID: Schema = { kind: 'string', max: MAX_CODE_LENGTH, format: 'id' };
const DATE: Schema = { kind: 'string', max: MAX_CODE_LENGTH, format: 'date' };
const DATE_TIME: Schema = { kind: 'string', max: MAX_CODE_LENGTH, format: 'dateTime' };
const INSTANT: Schema = { kind: 'string', max: MAX_CODE_LENGTH, format: 'instant' };
const BOOLEAN: Schema = { kind: 'boolean' };
const INTEGER: Schema = { kind: 'integer' };
const DECIMAL: Schema = { kind: 'decimal' };
const ANY: Schema = { kind: 'any' };
const RESOURCE: Schema = { kind: 'resource' };

const one = (schema: Schema): Field => ({ schema, array: false, nests: false });
const many = (schema: Schema): Field => ({ schema, array: true, nests: false });
const nested = (schema: Schema): Field => ({ schema, array: true, nests: true });
/** An object whose inner structure is not checked (only that it is an object, and the bounds). */
const opaque = (type: string): ObjectSchema => object(type, {});

interface ObjectOptions {
  required?: readonly string[];
  valueX?: boolean;
  closed?: boolean;
}

function object(type: string, fields: Record<string, Field>, opts: ObjectOptions = {}): ObjectSchema {
  return {
    kind: 'object',
    type,
    fields,
    required: opts.required ?? [],
    valueX: opts.valueX ?? false,
    closed: opts.closed ?? false,
  };
}

/** A datatype (datatypes.html): Element.id and Element.extension, and nothing it does not define. */
function datatype(type: string, fields: Record<string, Field>, opts: ObjectOptions = {}): ObjectSchema {
  return object(type, { id: one(TOKEN), extension: many(EXTENSION), ...fields }, { ...opts, closed: true });
}

// --- datatypes (http://hl7.org/fhir/R4/datatypes.html) ------------------------------------------

const EXTENSION = object('Extension', { id: one(TOKEN), url: one(URI) }, { valueX: true, closed: true });
EXTENSION.fields.extension = many(EXTENSION);

/** Element.id and Element.extension, and BackboneElement.modifierExtension, on every element. */
function element(type: string, fields: Record<string, Field>, opts: ObjectOptions = {}): ObjectSchema {
  return object(
    type,
    { id: one(TOKEN), extension: many(EXTENSION), modifierExtension: many(EXTENSION), ...fields },
    opts,
  );
}

const CODING = datatype('Coding', {
  system: one(URI),
  version: one(TOKEN),
  code: one(CODE),
  display: one(TEXT),
  userSelected: one(BOOLEAN),
});
const CODEABLE_CONCEPT = datatype('CodeableConcept', { coding: many(CODING), text: one(TEXT) });
const PERIOD = datatype('Period', { start: one(DATE_TIME), end: one(DATE_TIME) });
const IDENTIFIER = datatype('Identifier', {
  use: one(CODE),
  type: one(CODEABLE_CONCEPT),
  system: one(URI),
  value: one(TEXT),
  period: one(PERIOD),
  assigner: one(opaque('Reference')),
});
const CONTACT_POINT = datatype('ContactPoint', {
  system: one(CODE),
  value: one(TEXT),
  use: one(CODE),
  rank: one(INTEGER),
  period: one(PERIOD),
});
const CONTACT_DETAIL = datatype('ContactDetail', { name: one(TEXT), telecom: many(CONTACT_POINT) });
const USAGE_CONTEXT = datatype('UsageContext', { code: one(CODING) }, { valueX: true });
const NARRATIVE = datatype('Narrative', { status: one(CODE), div: one(TEXT) });
const META = datatype('Meta', {
  versionId: one(ID),
  lastUpdated: one(INSTANT),
  source: one(URI),
  profile: many(URI),
  security: many(CODING),
  tag: many(CODING),
});

/** value[x] by type suffix (valueString -> String). Unknown suffixes are not checked. */
const VALUE_TYPES: Record<string, Schema> = {
  Base64Binary: TEXT,
  Boolean: BOOLEAN,
  Canonical: URI,
  Code: CODE,
  Date: DATE,
  DateTime: DATE_TIME,
  Decimal: DECIMAL,
  Id: ID,
  Instant: INSTANT,
  Integer: INTEGER,
  Markdown: TEXT,
  Oid: URI,
  PositiveInt: INTEGER,
  String: TEXT,
  Time: TOKEN,
  UnsignedInt: INTEGER,
  Uri: URI,
  Url: URI,
  Uuid: URI,
  Coding: CODING,
  CodeableConcept: CODEABLE_CONCEPT,
  Period: PERIOD,
  Identifier: IDENTIFIER,
  ContactPoint: CONTACT_POINT,
  ContactDetail: CONTACT_DETAIL,
  UsageContext: USAGE_CONTEXT,
  Meta: META,
};
for (const t of [
  'Address',
  'Age',
  'Annotation',
  'Attachment',
  'Contributor',
  'Count',
  'DataRequirement',
  'Distance',
  'Dosage',
  'Duration',
  'Expression',
  'HumanName',
  'Money',
  'ParameterDefinition',
  'Quantity',
  'Range',
  'Ratio',
  'Reference',
  'RelatedArtifact',
  'SampledData',
  'Signature',
  'Timing',
  'TriggerDefinition',
]) {
  VALUE_TYPES[t] = opaque(t);
}

// --- resources -------------------------------------------------------------------------------

/** Resource and DomainResource elements (http://hl7.org/fhir/R4/domainresource.html). */
const RESOURCE_BASE: Record<string, Field> = {
  resourceType: one(TOKEN),
  id: one(ID),
  meta: one(META),
  implicitRules: one(URI),
  language: one(CODE),
  text: one(NARRATIVE),
  contained: many(RESOURCE),
  extension: many(EXTENSION),
  modifierExtension: many(EXTENSION),
};

/** The metadata elements CodeSystem, ValueSet and ConceptMap share (and $expand echoes). */
const CANONICAL_BASE: Record<string, Field> = {
  ...RESOURCE_BASE,
  url: one(URI),
  identifier: many(IDENTIFIER),
  version: one(TOKEN),
  name: one(TEXT),
  title: one(TEXT),
  status: one(CODE),
  experimental: one(BOOLEAN),
  date: one(DATE_TIME),
  publisher: one(TEXT),
  contact: many(CONTACT_DETAIL),
  description: one(TEXT),
  useContext: many(USAGE_CONTEXT),
  jurisdiction: many(CODEABLE_CONCEPT),
  purpose: one(TEXT),
  copyright: one(TEXT),
};

const DESIGNATION = element('designation', { language: one(CODE), use: one(CODING), value: one(TEXT) });

// CodeSystem (http://hl7.org/fhir/R4/codesystem.html)
const CS_CONCEPT = element(
  'CodeSystem.concept',
  {
    code: one(CODE),
    display: one(TEXT),
    definition: one(TEXT),
    designation: many(DESIGNATION),
    property: many(element('CodeSystem.concept.property', { code: one(CODE) }, { valueX: true })),
  },
  { required: ['code'] },
);
CS_CONCEPT.fields.concept = nested(CS_CONCEPT);

const CODE_SYSTEM = object('CodeSystem', {
  ...CANONICAL_BASE,
  caseSensitive: one(BOOLEAN),
  valueSet: one(URI),
  hierarchyMeaning: one(CODE),
  compositional: one(BOOLEAN),
  versionNeeded: one(BOOLEAN),
  content: one(CODE),
  supplements: one(URI),
  count: one(INTEGER),
  filter: many(
    element('CodeSystem.filter', {
      code: one(CODE),
      description: one(TEXT),
      operator: many(CODE),
      value: one(TEXT),
    }),
  ),
  property: many(
    element('CodeSystem.property', {
      code: one(CODE),
      uri: one(URI),
      description: one(TEXT),
      type: one(CODE),
    }),
  ),
  concept: nested(CS_CONCEPT),
});

// ValueSet (http://hl7.org/fhir/R4/valueset.html)
const CONCEPT_SET = element('ValueSet.compose.include', {
  system: one(URI),
  version: one(TOKEN),
  concept: many(
    element(
      'ValueSet.compose.include.concept',
      { code: one(CODE), display: one(TEXT), designation: many(DESIGNATION) },
      { required: ['code'] },
    ),
  ),
  filter: many(element('ValueSet.compose.include.filter', { property: one(CODE), op: one(CODE), value: one(TEXT) })),
  // some R3-era content has one canonical here, not a list; the engine reads both
  valueSet: { ...many(URI), single: true },
});

const CONTAINS = element('ValueSet.expansion.contains', {
  system: one(URI),
  abstract: one(BOOLEAN),
  inactive: one(BOOLEAN),
  version: one(TOKEN),
  code: one(CODE),
  display: one(TEXT),
  designation: many(DESIGNATION),
});
CONTAINS.fields.contains = nested(CONTAINS);

const VALUE_SET = object('ValueSet', {
  ...CANONICAL_BASE,
  immutable: one(BOOLEAN),
  compose: one(
    element('ValueSet.compose', {
      lockedDate: one(DATE),
      inactive: one(BOOLEAN),
      include: many(CONCEPT_SET),
      exclude: many(CONCEPT_SET),
    }),
  ),
  expansion: one(
    element('ValueSet.expansion', {
      identifier: one(URI),
      timestamp: one(DATE_TIME),
      total: one(INTEGER),
      offset: one(INTEGER),
      parameter: many(element('ValueSet.expansion.parameter', { name: one(TOKEN) }, { valueX: true })),
      contains: nested(CONTAINS),
    }),
  ),
});

// ConceptMap (http://hl7.org/fhir/R4/conceptmap.html; `relationship` and `noMap` as R5 clients send them)
const DEPENDS_ON = element('ConceptMap.group.element.target.dependsOn', {
  property: one(URI),
  system: one(URI),
  value: one(TEXT),
  display: one(TEXT),
});
const CONCEPT_MAP = object('ConceptMap', {
  ...CANONICAL_BASE,
  identifier: one(IDENTIFIER),
  sourceUri: one(URI),
  sourceCanonical: one(URI),
  targetUri: one(URI),
  targetCanonical: one(URI),
  group: many(
    element('ConceptMap.group', {
      source: one(URI),
      sourceVersion: one(TOKEN),
      target: one(URI),
      targetVersion: one(TOKEN),
      element: many(
        element('ConceptMap.group.element', {
          code: one(CODE),
          display: one(TEXT),
          noMap: one(BOOLEAN),
          target: many(
            element('ConceptMap.group.element.target', {
              code: one(CODE),
              display: one(TEXT),
              equivalence: one(CODE),
              relationship: one(CODE),
              comment: one(TEXT),
              dependsOn: many(DEPENDS_ON),
              product: many(DEPENDS_ON),
            }),
          ),
        }),
      ),
      unmapped: one(
        element('ConceptMap.group.unmapped', {
          mode: one(CODE),
          code: one(CODE),
          display: one(TEXT),
          url: one(URI),
        }),
      ),
    }),
  ),
});

// Parameters (http://hl7.org/fhir/R4/parameters.html), as in $batch-validate-code's `validation`.
// Only the structure: the values and resources of each `validation` are checked by the
// operation's own definitions when it is read (InputParams), so that one bad item fails alone.
const PARAMETERS_PARAMETER = element('Parameters.parameter', { name: one(TEXT) }, { required: ['name'] });
PARAMETERS_PARAMETER.fields.part = nested(PARAMETERS_PARAMETER);
const PARAMETERS = object('Parameters', {
  resourceType: one(TOKEN),
  id: one(ID),
  meta: one(META),
  implicitRules: one(URI),
  language: one(CODE),
  parameter: many(PARAMETERS_PARAMETER),
});

/** Resources checked element by element; any other resource type only for the bounds and its base elements. */
const RESOURCE_SCHEMAS: Record<string, ObjectSchema> = {
  CodeSystem: CODE_SYSTEM,
  ValueSet: VALUE_SET,
  ConceptMap: CONCEPT_MAP,
  Parameters: PARAMETERS,
};
const OTHER_RESOURCE = object('Resource', RESOURCE_BASE);

/** The shapes a parameter value may be checked against. */
export const SHAPES = {
  Coding: CODING,
  CodeableConcept: CODEABLE_CONCEPT,
  Resource: RESOURCE,
  /** Parameters.parameter, for the parts of a `part` parameter */
  ParametersParameter: PARAMETERS_PARAMETER,
} as const satisfies Record<string, Schema>;

export type ShapeName = keyof typeof SHAPES;

// --- the walk --------------------------------------------------------------------------------

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
