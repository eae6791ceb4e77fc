import type { CodeSystem, CodeSystemConcept, Coding } from '@medplum/fhirtypes';
import {
  DATA_SOURCE_TAG_SYSTEM,
  FACADE_PUBLISHER,
  JURISDICTION_NO,
  licenceExtension,
  SYNTHETIC_DATA_TAG,
  URN_IETF_RFC_3986,
} from './systems.ts';

/**
 * A code system of the Volven register that no complete public copy was found for (7426, 7704,
 * 7701, 7702, 8655, the municipality list 3402, …), built from the codes the directory's upstreams
 * (HPR, FNSP) return, as `content: fragment` (pure). Issue 10, item 3: the service must answer for
 * every code it emits, and where no complete source is available the code system is built from what
 * HPR and FNSP return and says so.
 *
 * What it says of itself:
 * - `content` is `fragment`: it holds only the codes seen, so a code it does not hold is not
 *   declared invalid (the engine answers that it may be valid in another fragment); there is no
 *   `count`, since the size of the whole code system is not known here; no `version`, since the
 *   upstreams do not say which one;
 * - `meta.source` and the `meta.tag` codes name the upstream the codes came from, the `meta`
 *   extension source-licence its licence; `description` says that it is a fragment, built from
 *   which upstream, and that the code list is kept in Volven by its owner;
 * - codes and texts are the upstream's, unchanged: the first text seen is the display and a
 *   different text seen later is a designation, so every coding the service emitted stays valid;
 * - built from synthetic data (the demo), it carries `HTEST` and says so, like the data.
 */

/** One upstream the codes were seen in. */
export interface ObservedOrigin {
  /** short name, e.g. `hpr` or `fnsp` (the datakilde code) */
  name: string;
  /** the upstream as a reader should know it, e.g. "Helsepersonellregisteret (HPR)" */
  label: string;
  /** `meta.source`: the upstream API's public address (never a configured one) */
  source: string;
  /** the source tags its resources carry (`meta.tag`) */
  tags: readonly Coding[];
  licence?: string;
  synthetic: boolean;
}

export interface ObservedConcept {
  code: string;
  /** the texts seen, first first */
  displays: readonly string[];
}

export interface ObservedCodeSystemInput {
  /** the system as codings carry it: `urn:oid:2.16.578.1.12.4.1.1.<n>` */
  system: string;
  concepts: readonly ObservedConcept[];
  /** the upstreams the codes came from, in the order first seen */
  origins: readonly ObservedOrigin[];
}

/** The origin of codes from directory resources of one upstream, by their provenance. */
export function directoryOrigin(
  name: string,
  label: string,
  p: { source: string; tag: readonly Coding[]; licence?: string },
  synthetic: boolean,
): ObservedOrigin {
  return { name, label, source: p.source, tags: p.tag, ...(p.licence ? { licence: p.licence } : {}), synthetic };
}

export const VOLVEN_OID_PREFIX = 'urn:oid:2.16.578.1.12.4.1.1.';

/**
 * The names of the Volven code lists the directory emits (research/norway-fhir.md: no-basis
 * profiles, HPR's `kodeverk.navn`, Tillitsrammeverket); another list is named by its number.
 */
const VOLVEN_TITLES: Readonly<Record<string, string>> = {
  '3402': 'Kommunenummer og regionale spesialkoder',
  '7426': 'HPR klassifikasjon av spesialiteter',
  '7701': 'Rekvisisjonsrett',
  '7702': 'Tilleggskompetanse',
  '7704': 'Godkjenningstype HPR',
  '8655': 'Helsehjelpsområde',
};

/** The number of a Volven system (`7426`), or undefined for any other system. */
export function volvenNumber(system: string): string | undefined {
  if (!system.startsWith(VOLVEN_OID_PREFIX)) return undefined;
  const n = system.slice(VOLVEN_OID_PREFIX.length);
  return /^\d{1,9}$/.test(n) ? n : undefined;
}

function listOf(labels: string[]): string {
  return labels.length <= 1 ? labels.join('') : `${labels.slice(0, -1).join(', ')} og ${labels[labels.length - 1]}`;
}

export function observedCodeSystem(input: ObservedCodeSystemInput): CodeSystem {
  const n = volvenNumber(input.system);
  if (n === undefined) throw new Error(`not a Volven system: ${input.system}`);
  const synthetic = input.origins.some((o) => o.synthetic);
  const labels = [...new Set(input.origins.map((o) => o.label))];
  const licences = [...new Set(input.origins.flatMap((o) => (o.licence ? [o.licence] : [])))];
  const tags = [
    ...(synthetic ? [{ ...SYNTHETIC_DATA_TAG }] : []),
    ...input.origins.flatMap((o) => o.tags.filter((t) => t.system === DATA_SOURCE_TAG_SYSTEM)),
  ].filter((t, i, all) => all.findIndex((u) => u.system === t.system && u.code === t.code) === i);
  const title = VOLVEN_TITLES[n] ?? `Volven-kodeverk ${n}`;
  const concept: CodeSystemConcept[] = [...input.concepts]
    .sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0))
    .map((c) => ({
      code: c.code,
      ...(c.displays.length > 0 ? { display: c.displays[0] } : {}),
      ...(c.displays.length > 1 ? { designation: c.displays.slice(1).map((value) => ({ value })) } : {}),
    }));
  return {
    resourceType: 'CodeSystem',
    id: `volven-${n}-utdrag`,
    meta: {
      ...(licences.length > 0 ? { extension: licences.map(licenceExtension) } : {}),
      ...(input.origins.length > 0 ? { source: input.origins[0].source } : {}),
      // FHIR JSON has no empty arrays (json.html#json-representation-of-elements)
      ...(tags.length > 0 ? { tag: tags } : {}),
    },
    url: input.system,
    identifier: [{ system: URN_IETF_RFC_3986, value: input.system }],
    name: `Volven${n}Utdrag`,
    title: `${title} (utdrag: kodene ${listOf(labels)} har gitt)`,
    status: 'active',
    experimental: synthetic,
    publisher: `${FACADE_PUBLISHER} (data fra ${listOf(labels)})`,
    description:
      `Et utdrag (fragment) av kodeverket ${n} «${title}» i Volven: bare kodene ${listOf(labels)} har gitt denne ` +
      'tjenesten siden den startet, med kodene og tekstene slik kilden ga dem. Det er ikke hele kodeverket; en ' +
      'kode som mangler her, kan være gyldig. Kodeverket forvaltes i Volven (volven.no) av eieren; denne ' +
      'FHIR-ressursen er ikke utgitt eller godkjent av eieren eller av kilden.' +
      (synthetic ? ' Bygd av syntetiske testdata: kodene og tekstene er ikke nødvendigvis ekte.' : ''),
    jurisdiction: [JURISDICTION_NO],
    caseSensitive: true,
    content: 'fragment',
    concept,
  };
}
