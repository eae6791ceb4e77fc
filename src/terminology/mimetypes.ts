/**
 * Media types, `urn:ietf:bcp:13` (the system of `Attachment.contentType` and `Binary.contentType`,
 * bound to the core `mimetypes` value set), as a code system defined by a grammar
 * (grammar-systems.ts): RFC 6838 section 4.2 names, RFC 2045 parameters, and the IANA Media Types
 * registry as the npm package `mime-db` carries it (its entries whose source is IANA).
 *
 * - A code is `type/subtype`, optionally followed by `; attribute=value` parameters (a value is a
 *   token or a quoted string). The type must be one of the registered top-level types. A subtype of
 *   the standards tree must be registered; one of the vendor (`vnd.`), personal (`prs.`) or
 *   unregistered (`x.`, and the older `x-`) trees need only be well formed, as registration is
 *   not required of all of them and the registry copy cannot know the private ones.
 * - Names are case-insensitive (RFC 6838 section 4.2): the code system is too, and the canonical
 *   code has the type, subtype and parameter names in lower case (values are kept as written).
 * - The registry has no names for media types: the display is the code itself.
 * - Properties `type` and `subtype`, for filters.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { CodeSystem, CodeSystemConcept } from '@medplum/fhirtypes';
import { GrammarIndex, markGrammar } from './grammar-systems.ts';

export const BCP13_URL = 'urn:ietf:bcp:13';

/** The mime-db release in package.json and the date of that release (the code system's version). */
export const MIME_DB = { version: '1.54.0', date: '2025-03-17' };

/** The top-level media types of the IANA registry. */
const TOP_LEVEL = new Set([
  'application',
  'audio',
  'example',
  'font',
  'haptics',
  'image',
  'message',
  'model',
  'multipart',
  'text',
  'video',
]);

let registered: Set<string> | undefined;

/** The media types the IANA registry holds (mime-db entries whose source is IANA), lower case. */
export function registeredMediaTypes(): Set<string> {
  if (registered) return registered;
  const require = createRequire(import.meta.url);
  const db = JSON.parse(readFileSync(require.resolve('mime-db/db.json'), 'utf8')) as Record<
    string,
    { source?: string }
  >;
  registered = new Set(
    Object.entries(db)
      .filter(([, v]) => v.source === 'iana')
      .map(([k]) => k.toLowerCase()),
  );
  return registered;
}

const RESTRICTED_NAME = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;
/** RFC 2045 token characters: printable ASCII but space and tspecials. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;

/** A parsed media type: its canonical form, or why it is not valid. */
export type ParsedMediaType = { ok: true; code: string; type: string; subtype: string } | { ok: false; reason: string };

/** Parses and checks a media type (RFC 6838 4.2, RFC 2045 5.1). */
export function parseMediaType(code: string, known: Set<string> = registeredMediaTypes()): ParsedMediaType {
  const semi = code.indexOf(';');
  const name = semi < 0 ? code : code.slice(0, semi);
  const slash = name.indexOf('/');
  if (slash < 0) return { ok: false, reason: "a media type is 'type/subtype'" };
  const type = name.slice(0, slash).toLowerCase();
  const subtype = name.slice(slash + 1).toLowerCase();
  if (!TOP_LEVEL.has(type)) return { ok: false, reason: `'${type}' is not a registered top-level type` };
  if (!RESTRICTED_NAME.test(subtype)) return { ok: false, reason: `'${subtype}' is not a well-formed subtype` };
  const privateTree = /^(vnd|prs|x)\./.test(subtype) || subtype.startsWith('x-');
  if (!privateTree && !known.has(`${type}/${subtype}`)) {
    return { ok: false, reason: `'${type}/${subtype}' is not in the IANA registry` };
  }
  let canonical = `${type}/${subtype}`;
  let rest = semi < 0 ? '' : code.slice(semi);
  while (rest.length > 0) {
    // ";" OWS attribute "=" value, OWS before the next ";"
    const m = /^(;[ \t]*)([^=;\s]+)=/.exec(rest);
    if (!m || !TOKEN.test(m[2])) return { ok: false, reason: 'a parameter is attribute=value, after a semicolon' };
    canonical += `${m[1]}${m[2].toLowerCase()}=`;
    rest = rest.slice(m[0].length);
    let value: string;
    if (rest.startsWith('"')) {
      let i = 1;
      while (i < rest.length && rest[i] !== '"') i += rest[i] === '\\' ? 2 : 1;
      if (i >= rest.length) return { ok: false, reason: 'a quoted parameter value is not closed' };
      value = rest.slice(0, i + 1);
    } else {
      const end = rest.search(/[;\s]/);
      value = end < 0 ? rest : rest.slice(0, end);
      if (!TOKEN.test(value)) return { ok: false, reason: 'a parameter value is a token or a quoted string' };
    }
    rest = rest.slice(value.length);
    const ws = /^[ \t]*/.exec(rest)?.[0] ?? '';
    rest = rest.slice(ws.length);
    if (rest.length > 0 && !rest.startsWith(';'))
      return { ok: false, reason: 'parameters are separated by semicolons' };
    canonical += value + ws;
  }
  return { ok: true, code: canonical, type, subtype };
}

/** The BCP 13 grammar of a CodeSystem resource. */
export function attachMediaTypes(cs: CodeSystem): CodeSystem {
  const known = registeredMediaTypes();
  return markGrammar(
    cs,
    (resource) =>
      new GrammarIndex(resource, 'BCP 13 media types', (code): CodeSystemConcept | undefined => {
        const parsed = parseMediaType(code, known);
        if (!parsed.ok) return undefined;
        return {
          code: parsed.code,
          display: parsed.code,
          property: [
            { code: 'type', valueCode: parsed.type },
            { code: 'subtype', valueCode: parsed.subtype },
          ],
        };
      }),
  );
}

/** The CodeSystem resource of BCP 13, as this server serves it, with its grammar attached. */
export function mediaTypeCodeSystem(): CodeSystem {
  return attachMediaTypes({
    resourceType: 'CodeSystem',
    id: 'bcp-13',
    url: BCP13_URL,
    version: MIME_DB.date,
    name: 'BCP13',
    title: 'Media types (BCP 13)',
    status: 'active',
    experimental: false,
    publisher: 'IETF (RFC 6838); registered types from the IANA Media Types registry',
    description:
      'Media types as defined by BCP 13 (RFC 6838, parameters as in RFC 2045). The codes are not listed: each is ' +
      `parsed, and a type of the standards tree is checked against the IANA registry as of mime-db ${MIME_DB.version} ` +
      `(${MIME_DB.date}). The display is the code.`,
    caseSensitive: false,
    content: 'not-present',
    property: [
      { code: 'type', description: 'The top-level type', type: 'code' },
      { code: 'subtype', description: 'The subtype', type: 'code' },
    ],
  });
}

/** Where the registry copy comes from, for the resource's `meta` (loader.ts). */
export function mediaTypeProvenance(): { source: string; licence: string } {
  return {
    source: `https://www.npmjs.com/package/mime-db/v/${MIME_DB.version}`,
    licence:
      'IANA Media Types registry (https://www.iana.org/assignments/media-types), as copied in the npm package ' +
      `mime-db ${MIME_DB.version} (MIT); only its IANA entries are used.`,
  };
}
