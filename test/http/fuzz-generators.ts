import type { Resource } from '@medplum/fhirtypes';
import fc from 'fast-check';
import type { ParamDef } from '../../src/http/params.ts';
import { MAX_CONCEPT_DEPTH } from '../../src/http/resource-schemas.ts';
import { toFhirXml } from '../../src/http/xml-write.ts';
import type { OperationDef } from '../../src/operations/types.ts';
import { GENDER_CS, GENDER_VS, KNOWN_IDS, ODD_IDS, ROUTES, templatesFor } from './fuzz-fixtures.ts';

/**
 * The fuzz suite's generators: seeded recipes for garbled values, headers, bodies (JSON and XML)
 * and query strings, and the functions that build a request's parts from a recipe.
 */

// --- garbling -------------------------------------------------------------------------------

/** Strings a careless or hostile client sends. */
const oddString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.constantFrom(
    '',
    ' ',
    '|',
    'a|',
    '|a',
    '%',
    '%zz',
    '\u0000',
    '\uD800',
    '\uFEFF',
    'æøå',
    '😀',
    '__proto__',
    'constructor',
    'toString',
    '(a+)+$',
    '.*',
    'null',
    'true',
    '-1',
    '1e400',
    '99999999999999999999',
    '2147483648',
    'http://',
    'urn:oid:',
  ),
);

const oddNumber = fc.constantFrom(0, -0, -1, 1.5, 2 ** 31, 2 ** 53 + 2, 1e308, -1e308, 2147483647, 1e21);

/** What replaces a value: small JSON, an odd primitive, a container swap, or something big. */
type Replacement =
  | { kind: 'json'; value: unknown }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  /** a value of the same JSON type: odd content that passes the shape checks and reaches the engine */
  | { kind: 'sameType'; text: string; number: number }
  | { kind: 'null' | 'emptyArray' | 'emptyObject' | 'wrap' | 'unwrap' | 'delete' | 'duplicate' }
  | { kind: 'long'; length: number }
  | { kind: 'deep'; depth: number; shape: 'concept' | 'contains' | 'array' | 'extension' };

const replacement: fc.Arbitrary<Replacement> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({ kind: fc.constant('sameType' as const), text: oddString, number: oddNumber }),
  },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((value) => ({ kind: 'json' as const, value })) },
  { weight: 3, arbitrary: oddString.map((value) => ({ kind: 'string' as const, value })) },
  { weight: 2, arbitrary: oddNumber.map((value) => ({ kind: 'number' as const, value })) },
  {
    weight: 8,
    arbitrary: fc
      .constantFrom('null', 'emptyArray', 'emptyObject', 'wrap', 'unwrap', 'delete', 'duplicate')
      .map((kind) => ({ kind }) as Replacement),
  },
  { weight: 1, arbitrary: fc.constantFrom(70_000, 1_100_000).map((length) => ({ kind: 'long' as const, length })) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('deep' as const),
      depth: fc.constantFrom(MAX_CONCEPT_DEPTH + 1, 300, 5_000),
      shape: fc.constantFrom('concept' as const, 'contains' as const, 'array' as const, 'extension' as const),
    }),
  },
);

/**
 * JSON text nested `depth` levels deep, built as text: JSON.stringify itself overflows the stack on
 * such values, so the mutations put a marker in their place (deepMarker) that is swapped for this.
 */
function deepJson(depth: number, shape: 'concept' | 'contains' | 'array' | 'extension'): string {
  if (shape === 'array') return `${'['.repeat(depth + 1)}${']'.repeat(depth + 1)}`;
  const open = shape === 'extension' ? '{"url":"x","extension":[' : `{"code":"c","${shape}":[`;
  return `[${open.repeat(depth)}{"code":"leaf","url":"x"}${']}'.repeat(depth)}]`;
}

export const deepMarker = (depth: number, shape: string) => `\u0001DEEP:${depth}:${shape}\u0001`;

/** JSON.stringify, with the deep markers swapped for their JSON. */
export function serialise(body: unknown): string {
  return JSON.stringify(body).replace(/"\\u0001DEEP:(\d+):(\w+)\\u0001"/g, (_m, depth: string, shape: string) =>
    deepJson(Number(depth), shape as 'concept'),
  );
}

function replacementValue(r: Replacement, old: unknown): unknown {
  switch (r.kind) {
    case 'json':
    case 'string':
    case 'number':
      return r.value;
    case 'sameType':
      if (typeof old === 'string') return r.text;
      if (typeof old === 'number') return r.number;
      if (typeof old === 'boolean') return !old;
      return old;
    case 'null':
      return null;
    case 'emptyArray':
      return [];
    case 'emptyObject':
      return {};
    case 'wrap':
      return [old];
    case 'unwrap':
      return Array.isArray(old) ? old[0] : typeof old === 'object' && old !== null ? Object.values(old)[0] : old;
    case 'long':
      return 'x'.repeat(r.length);
    case 'deep':
      return deepMarker(r.depth, r.shape);
    default:
      return old;
  }
}

/** Every (container, key) in a JSON tree, in document order, the root's children first. */
function places(root: unknown): [Record<string, unknown> | unknown[], string | number][] {
  const out: [Record<string, unknown> | unknown[], string | number][] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        out.push([v, i]);
        stack.push(item);
      });
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, item] of Object.entries(v)) {
        out.push([v as Record<string, unknown>, k]);
        stack.push(item);
      }
    }
  }
  return out;
}

interface Mutation {
  /** which place (modulo the number of places) */
  at: number;
  what: Replacement;
}

function mutate(root: unknown, mutations: Mutation[]): unknown {
  for (const m of mutations) {
    const all = places(root);
    if (all.length === 0) return root;
    const [container, key] = all[m.at % all.length];
    const old = (container as Record<string | number, unknown>)[key];
    if (m.what.kind === 'delete') {
      if (Array.isArray(container)) container.splice(key as number, 1);
      else delete container[key as string];
    } else if (m.what.kind === 'duplicate' && Array.isArray(container)) {
      container.splice(key as number, 0, structuredClone(old));
    } else {
      (container as Record<string | number, unknown>)[key] = replacementValue(m.what, old);
    }
  }
  return root;
}

export const mutations = fc.array(fc.record({ at: fc.nat(), what: replacement }), { minLength: 1, maxLength: 3 });

/** Mostly odd content of the right JSON types: requests that pass the edge and exercise the engine. */
export const engineMutations = fc.array(
  fc.record({
    at: fc.nat(),
    what: fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({ kind: fc.constant('sameType' as const), text: oddString, number: oddNumber }),
      },
      { weight: 1, arbitrary: fc.constantFrom('duplicate', 'delete').map((kind) => ({ kind }) as Replacement) },
    ),
  }),
  { minLength: 1, maxLength: 4 },
);

// --- headers --------------------------------------------------------------------------------

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 40,
});

const contentType = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom('application/fhir+json', 'application/json', 'application/fhir+json; fhirVersion=4.0'),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'text/plain',
      'application/xml',
      'application/fhir+xml',
      'application/fhir+json; fhirVersion=3.0',
      'application/fhir+json; charset=latin1',
      'application/json; charset=utf-16',
      'multipart/form-data; boundary=x',
      'application/x-www-form-urlencoded',
      '*/*',
      ';;;',
      '',
    ),
  },
  { weight: 1, arbitrary: printable },
);

const accept = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('application/fhir+json', '*/*') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/fhir+xml',
      'text/html',
      'application/fhir+json;q=0',
      'application/fhir+json; fhirVersion=5.0',
      'application/*;q=0.1, */*;q=0.0',
      '',
    ),
  },
  { weight: 1, arbitrary: printable },
);

const acceptLanguage = fc.option(
  fc.oneof(fc.constantFrom('nb', 'en', 'nb-NO,nn;q=0.5,en;q=0.1', '*', 'x-klingon', ';q=', 'de-CH;q=2'), printable),
  { nil: undefined },
);

export const headers = fc
  .record({ contentType, accept, acceptLanguage, noCache: fc.boolean() })
  .map(({ contentType, accept, acceptLanguage, noCache }) => {
    const h: Record<string, string> = { 'Content-Type': contentType, Accept: accept };
    if (acceptLanguage !== undefined) h['Accept-Language'] = acceptLanguage;
    if (noCache) h['Cache-Control'] = 'no-cache';
    return h;
  });

// --- recipes --------------------------------------------------------------------------------

/** A route (by its index, so that a failing case prints short) with `:id` filled in. */
export const route = fc.record({ r: fc.nat(ROUTES.length - 1), id: fc.nat(), odd: fc.boolean() });

export function routeOf({ r, id, odd }: { r: number; id: number; odd: boolean }): { path: string; def: OperationDef } {
  const { path, def, target } = ROUTES[r];
  const known = KNOWN_IDS[target.resourceType ?? ''] ?? [];
  const ids = odd || known.length === 0 ? ODD_IDS : known;
  return { path: path.replace(':id', ids[id % ids.length]), def };
}

/** A POST body: a template garbled, random Parameters, something else, or not JSON at all. */
type BodyRecipe =
  | { kind: 'template'; template: number; mutations: Mutation[] }
  | { kind: 'random'; entries: { name: number; key: string; value: unknown }[] }
  | { kind: 'json'; value: unknown }
  | { kind: 'text'; value: string };

const VALUE_KEYS = [
  'valueString',
  'valueCode',
  'valueUri',
  'valueCanonical',
  'valueBoolean',
  'valueInteger',
  'valueDecimal',
  'valueDateTime',
  'valueCoding',
  'valueCodeableConcept',
  'resource',
  'part',
  'valueFoo',
];

/** XML bodies: well-formed or not, FHIR or not, with the things a careful XML reader refuses. */
const XML_TEXTS = [
  '<Parameters xmlns="http://hl7.org/fhir"/>',
  '<Parameters xmlns="http://hl7.org/fhir">',
  '<?xml version="1.0" encoding="ISO-8859-1"?><Parameters xmlns="http://hl7.org/fhir"/>',
  '<!DOCTYPE p [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><Parameters xmlns="http://hl7.org/fhir">&b;</Parameters>',
  '<!DOCTYPE p SYSTEM "file:///etc/passwd"><Parameters xmlns="http://hl7.org/fhir"/>',
  '<Parameters xmlns="http://hl7.org/fhir"><parameter><name value="x"/><valueBoolean value="maybe"/></parameter></Parameters>',
  '<Parameters xmlns="http://hl7.org/fhir"><parameter><name value="x" value="y"/></parameter></Parameters>',
  '<Parameters xmlns="http://hl7.org/fhir"><foo/></Parameters>',
  '<Parameters xmlns="http://hl7.org/fhir">text</Parameters>',
  '<Parameters xmlns="http://hl7.org/fhir"><parameter><name value="&nbsp;"/></parameter></Parameters>',
  '<Patient xmlns="http://hl7.org/fhir"/>',
  '<Parameters xmlns="urn:other"/>',
  '<Parameters xmlns="http://hl7.org/fhir"/><Parameters xmlns="http://hl7.org/fhir"/>',
  `<Parameters xmlns="http://hl7.org/fhir">${'<parameter><part>'.repeat(400)}</Parameters>`,
];

export const bodyRecipe: fc.Arbitrary<BodyRecipe> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('template' as const), template: fc.nat(), mutations }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('random' as const),
      entries: fc.array(
        fc.record({
          name: fc.nat(),
          key: fc.constantFrom(...VALUE_KEYS),
          value: fc.oneof(fc.jsonValue({ maxDepth: 3 }), oddString, oddNumber),
        }),
        { maxLength: 6 },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.constantFrom(
          { resourceType: 'Parameters', parameter: {} },
          { resourceType: 'Parameters', parameter: 'x' },
          { resourceType: 'Parameters', parameter: [null, 1, 'x', []] },
          { resourceType: 'Parameters', parameter: [{ name: 5 }] },
          { resourceType: 'Bundle', entry: [] },
          { resourceType: ['Parameters'] },
        ),
      )
      .map((value) => ({ kind: 'json' as const, value })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        '',
        '{',
        '{"resourceType":',
        'null',
        '\uFEFF{}',
        '[]',
        '{"a":1}{"b":2}',
        '<Parameters/>',
        'a=b&c=d',
        ...XML_TEXTS,
      )
      .map((value) => ({ kind: 'text' as const, value })),
  },
);

/** How an XML body is spoilt: not at all, cut short, or a byte of its markup changed. */
/** Where in a body, as a fraction of its length (fast-check favours small numbers, which would all hit the start). */
const at = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

export const xmlDamage = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), at }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('byte' as const),
      at,
      c: fc.constantFrom('<', '>', '"', '&', '/'),
    }),
  },
);

type XmlDamage = { kind: 'none' } | { kind: 'cut'; at: number } | { kind: 'byte'; at: number; c: string };

/** A template's Parameters, garbled, as FHIR XML where XML can carry it (else the JSON), then spoilt. */
export function buildXmlBody(
  template: number,
  m: Mutation[],
  damage: XmlDamage,
  code: string,
  defs: ParamDef[],
): string {
  const json = buildBody({ kind: 'template', template, mutations: m }, code, defs);
  let text: string;
  try {
    text = toFhirXml(JSON.parse(json) as Resource);
  } catch {
    text = json;
  }
  const where = damage.kind === 'none' ? 0 : Math.floor(damage.at * text.length);
  if (damage.kind === 'cut') return text.slice(0, where);
  if (damage.kind === 'byte') return `${text.slice(0, where)}${damage.c}${text.slice(where + 1)}`;
  return text;
}

export function buildBody(recipe: BodyRecipe, code: string, defs: ParamDef[]): string {
  switch (recipe.kind) {
    case 'template': {
      const templates = templatesFor(code, defs);
      const parameter = structuredClone(templates[recipe.template % templates.length]);
      const body = mutate({ resourceType: 'Parameters', parameter }, recipe.mutations);
      return serialise(body);
    }
    case 'random': {
      const names = [...defs.map((d) => d.name), 'tx-resource', 'uuid', ''];
      const parameter = recipe.entries.map((e) => ({ name: names[e.name % names.length], [e.key]: e.value }));
      return JSON.stringify({ resourceType: 'Parameters', parameter });
    }
    case 'json':
      return JSON.stringify(recipe.value);
    case 'text':
      return recipe.value;
  }
}

interface QueryRecipe {
  pairs: { name: number; value: string }[];
  raw: string | undefined;
}

/** A query string: the operation's parameters (and others) with plausible or odd values, sometimes raw. */
export const queryRecipe: fc.Arbitrary<QueryRecipe> = fc.record({
  pairs: fc.array(
    fc.record({
      name: fc.nat(),
      value: fc.oneof(
        fc.constantFrom(GENDER_CS, GENDER_VS, 'male', `${GENDER_CS}|male`, 'true', 'false', '10', '0'),
        oddString,
        oddNumber.map(String),
      ),
    }),
    { maxLength: 6 },
  ),
  raw: fc.option(
    fc.constantFrom('%', '%zz', '&&&', '==', 'a[b]=c', 'a[]=1&a[]=2', '%00=%00', `count=${'9'.repeat(400)}`),
    {
      nil: undefined,
    },
  ),
});

const COMMON_QUERY_NAMES = ['_format', '_pretty', '_summary', '_elements', '_count', 'uuid', '', 'x'];

export function buildQuery(recipe: QueryRecipe, names: string[]): string {
  const all = [...names, ...COMMON_QUERY_NAMES];
  const q = new URLSearchParams();
  for (const p of recipe.pairs) q.append(all[p.name % all.length], p.value);
  const parts = [q.toString(), recipe.raw].filter((s) => s !== undefined && s !== '');
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}
