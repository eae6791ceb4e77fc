/**
 * The code systems defined outside FHIR that the server holds besides its data folder and the FHIR
 * core: language tags (bcp47.ts) and media types (mimetypes.ts), answered by their grammar, and the
 * ISO 3166-1 countries (iso3166.ts) and ISO 4217 currencies (iso4217.ts), built from lists kept in
 * the repository. Each names its source and licence (`meta`, loader.ts).
 */
import type { CodeSystem } from '@medplum/fhirtypes';
import { attachBcp47, BCP47_URL, bcp47CodeSystem, bcp47Provenance } from './bcp47.ts';
import { countryProvenance, loadCountryCodeSystem } from './iso3166.ts';
import { currencyProvenance, loadCurrencyCodeSystem } from './iso4217.ts';
import { attachMediaTypes, BCP13_URL, mediaTypeCodeSystem, mediaTypeProvenance } from './mimetypes.ts';

export interface BuiltIn {
  resource: CodeSystem;
  provenance: { source: string; licence: string };
}

/** The built-in code systems, made now. */
export function builtInCodeSystems(): BuiltIn[] {
  const currencies = loadCurrencyCodeSystem();
  return [
    { resource: bcp47CodeSystem(), provenance: bcp47Provenance() },
    { resource: mediaTypeCodeSystem(), provenance: mediaTypeProvenance() },
    { resource: loadCountryCodeSystem(), provenance: countryProvenance() },
    { resource: currencies, provenance: currencyProvenance(currencies.version ?? '') },
  ];
}

/**
 * Gives a code system of a grammar its grammar back after a copy that lost it (the worker's copy of
 * the served data, offload-worker.ts).
 */
export function attachGrammar(cs: CodeSystem): void {
  if (cs.url === BCP47_URL) attachBcp47(cs);
  else if (cs.url === BCP13_URL) attachMediaTypes(cs);
}
