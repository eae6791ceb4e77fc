/**
 * The FHIR R4 structures the edge checks requests against (resource-shape.ts walks them): the
 * datatypes the engine reads (http://hl7.org/fhir/R4/datatypes.html), CodeSystem, ValueSet,
 * ConceptMap and Parameters as far as the engine reads them and echoes their metadata, the forms of
 * the primitives, and the bounds any request must keep. Data only: no checking happens here.
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

export type Schema =
  | { kind: 'string'; max: number; format?: PrimitiveFormat }
  | { kind: 'boolean' }
  | { kind: 'integer' }
  | { kind: 'decimal' }
  | { kind: 'any' }
  | { kind: 'resource' }
  | ObjectSchema;

export interface ObjectSchema {
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

export interface Field {
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
export const ANY: Schema = { kind: 'any' };
const RESOURCE: Schema = { kind: 'resource' };

export const one = (schema: Schema): Field => ({ schema, array: false, nests: false });
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
export const VALUE_TYPES: Record<string, Schema> = {
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
export const RESOURCE_SCHEMAS: Record<string, ObjectSchema> = {
  CodeSystem: CODE_SYSTEM,
  ValueSet: VALUE_SET,
  ConceptMap: CONCEPT_MAP,
  Parameters: PARAMETERS,
};
export const OTHER_RESOURCE = object('Resource', RESOURCE_BASE);

/** The shapes a parameter value may be checked against. */
export const SHAPES = {
  Coding: CODING,
  CodeableConcept: CODEABLE_CONCEPT,
  Resource: RESOURCE,
  /** Parameters.parameter, for the parts of a `part` parameter */
  ParametersParameter: PARAMETERS_PARAMETER,
} as const satisfies Record<string, Schema>;

export type ShapeName = keyof typeof SHAPES;
