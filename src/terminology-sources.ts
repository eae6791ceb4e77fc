import type { Config } from './config.ts';
import { type EmbeddedHelserefusjon, loadEmbeddedHelserefusjon } from './helserefusjon/embedded.ts';
import type { Logger } from './http/log.ts';
import { loadTerminology } from './terminology/loader.ts';
import type { TerminologyStore } from './terminology/store.ts';

/** What the service serves, and where each part came from (for /readyz and the logs). */
export interface ServedTerminology {
  store: TerminologyStore;
  helserefusjon: EmbeddedHelserefusjon['provenance'];
}

/**
 * Builds the store the service answers from: the FHIR resources of TERMINOLOGY_DATA_DIR (with the
 * FHIR R4 core terminology) and the Helserefusjon code systems built from the data embedded in the
 * repository (HELSEREFUSJON_DATA_DIR). Throws when a data file cannot be used.
 */
export function loadServedTerminology(config: Config, logger?: Logger): ServedTerminology {
  const store = loadTerminology(config.terminologyDataDir);
  const h = loadEmbeddedHelserefusjon(config.helserefusjonDataDir);
  for (const r of [...h.codeSystems, ...h.valueSets, ...h.conceptMaps]) store.add(r);
  for (const a of h.aliases) store.addAlias(a.type, a.alias, a.url);
  for (const w of h.warnings) logger?.info('helserefusjon data', { note: w });
  return { store, helserefusjon: h.provenance };
}
