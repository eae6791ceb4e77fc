import type { CodeSystem, CodeSystemConcept, Coding } from '@medplum/fhirtypes';
import { BANDAGIST_TYPE } from './bandagist-organization.ts';
import { HPR_SOURCE_TAG, SYNTHETIC_HPR_TAG } from './hpr-practitioner.ts';
import {
  bandasjisterProvenance,
  DATA_SOURCE_TAG_SYSTEM,
  DIRECTORY_ORGANIZATION_TYPE_SYSTEM,
  FACADE_PUBLISHER,
  FNSP_OPEN_DATA_URL,
  fnspProvenance,
  JURISDICTION_NO,
  SYNTHETIC_SOURCE_TAG,
  syntheticFnspProvenance,
} from './systems.ts';

/**
 * The code systems this service defines itself and uses in the resources it emits (pure):
 * - `datakilde`: the source tags of directory resources (`meta.tag`);
 * - `directory-organization-type`: the roles of an Organization that no Volven list names.
 * They are built from the same codings the mappings emit, so a coding the service emits is always
 * valid against the code system it serves (a test walks the demo's resources). A code used with
 * more than one wording (the synthetic tags of HPR and FNSP) has the first as display and the others
 * as designations. These are the service's own resources: `publisher` is the service.
 */

interface OwnCodeSystem {
  url: string;
  id: string;
  name: string;
  title: string;
  description: string;
  codings: readonly Coding[];
}

function conceptsOf(codings: readonly Coding[], system: string): CodeSystemConcept[] {
  const byCode = new Map<string, CodeSystemConcept>();
  for (const c of codings) {
    if (c.system !== system || c.code === undefined) throw new Error(`a coding of another system: ${c.system}`);
    const known = byCode.get(c.code);
    if (!known) byCode.set(c.code, { code: c.code, ...(c.display !== undefined ? { display: c.display } : {}) });
    else if (c.display !== undefined && c.display !== known.display) {
      if (!known.designation?.some((d) => d.value === c.display)) {
        known.designation = [...(known.designation ?? []), { value: c.display }];
      }
    }
  }
  return [...byCode.values()];
}

function ownCodeSystem(o: OwnCodeSystem): CodeSystem {
  const concept = conceptsOf(o.codings, o.url);
  return {
    resourceType: 'CodeSystem',
    id: o.id,
    url: o.url,
    name: o.name,
    title: o.title,
    status: 'active',
    experimental: false,
    publisher: FACADE_PUBLISHER,
    description: o.description,
    jurisdiction: [JURISDICTION_NO],
    caseSensitive: true,
    content: 'complete',
    count: concept.length,
    concept,
  };
}

/** Every code system the service defines for its own codings. */
export function facadeCodeSystems(): CodeSystem[] {
  return [
    ownCodeSystem({
      url: DATA_SOURCE_TAG_SYSTEM,
      id: 'datakilde',
      name: 'Datakilde',
      title: 'Datakilde (kilden til dataene i en katalogressurs)',
      description:
        'Kodene i `meta.tag` som sier hvor dataene i en ressurs fra katalogen (Practitioner, Organization, ' +
        'Location, HealthcareService) kommer fra, og om de er syntetiske testdata. Teksten sier kilden og at ' +
        'FHIR-formen ikke er utgitt eller godkjent av kilden.',
      codings: [
        HPR_SOURCE_TAG,
        ...fnspProvenance(FNSP_OPEN_DATA_URL).tag,
        ...bandasjisterProvenance().tag,
        SYNTHETIC_SOURCE_TAG,
        SYNTHETIC_HPR_TAG,
        ...syntheticFnspProvenance().tag.filter((t) => t.system === DATA_SOURCE_TAG_SYSTEM),
      ],
    }),
    ownCodeSystem({
      url: DIRECTORY_ORGANIZATION_TYPE_SYSTEM,
      id: 'directory-organization-type',
      name: 'DirectoryOrganizationType',
      title: 'Organisasjonstyper i katalogen som ingen Volven-liste har',
      description:
        'Roller en Organization i katalogen har som ingen kodeliste i Volven dekker, for eksempel en bandasjist ' +
        'med direkte oppgjørsavtale med Helfo.',
      codings: [BANDAGIST_TYPE],
    }),
  ];
}
