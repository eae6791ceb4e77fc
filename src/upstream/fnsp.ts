import type { Dispatcher } from 'undici';
import { UpstreamError } from './errors.ts';
import {
  FNSP_DEFAULT_DATASET_PATH,
  FNSP_DEFAULT_SITES_PATH,
  FNSP_PROCEDURES_PATH,
  FNSP_UPSTREAM,
  type FnspDatasettDto,
  type FnspNettstedDto,
  type FnspProsedyreDto,
  type FnspProsedyreForetakDto,
  type FnspTilbudDto,
  type Parsed,
  parseDatasett,
  parseNettsteder,
  parseProsedyreForetak,
  parseProsedyrer,
  parseTilbud,
} from './fnsp-dto.ts';
import { getJson, type UpstreamHttpOptions } from './http.ts';

/**
 * Client of the FNSP open-data API (Felles nettløsning for spesialisthelsetjenesten; NLOD). Typed
 * DTOs in, no FHIR. The response shapes are assumptions kept in one module (fnsp-dto.ts); the
 * paths of the procedure endpoints are documented (seed 004), the dataset and sites paths are
 * configurable. The API key goes in the header the configuration names (FNSP_API_KEY_HEADER); it
 * never appears in a URL, an error message or a log line.
 */

export interface FnspClientOptions extends Omit<UpstreamHttpOptions, 'upstream' | 'dispatcher' | 'signal' | 'headers'> {
  dispatcher: Dispatcher;
  /** the API root, e.g. https://api.example/fnsp (no trailing slash needed) */
  baseUrl: string;
  apiKey: string;
  /** the header that carries the key, e.g. `Ocp-Apim-Subscription-Key` */
  apiKeyHeader: string;
  /** default FNSP_DEFAULT_DATASET_PATH */
  datasetPath?: string;
  /** default FNSP_DEFAULT_SITES_PATH */
  sitesPath?: string;
}

export interface FnspCallOptions {
  signal?: AbortSignal;
}

export interface FnspClient {
  /** `/prosedyrer`: every treatment and examination */
  prosedyrer(call?: FnspCallOptions): Promise<FnspProsedyreDto[]>;
  /** `/prosedyrer/{behandling}`: the trusts that offer it */
  prosedyreForetak(behandling: string, call?: FnspCallOptions): Promise<FnspProsedyreForetakDto>;
  /** `/prosedyrer/{behandling}/{foretak}`: the trust's page, or null when the trust does not offer it (404) */
  tilbud(behandling: string, foretak: string, call?: FnspCallOptions): Promise<FnspTilbudDto | null>;
  /** the sites (nettsteder) */
  nettsteder(call?: FnspCallOptions): Promise<FnspNettstedDto[]>;
  /** the full-dataset download, flattened to one row per procedure and trust; bad rows are warnings */
  datasett(call?: FnspCallOptions): Promise<Parsed<FnspDatasettDto>>;
}

export function createFnspClient(options: FnspClientOptions): FnspClient {
  const {
    baseUrl,
    apiKey,
    apiKeyHeader,
    datasetPath = FNSP_DEFAULT_DATASET_PATH,
    sitesPath = FNSP_DEFAULT_SITES_PATH,
    ...http
  } = options;
  const root = baseUrl.replace(/\/+$/, '');
  const headers = { [apiKeyHeader.toLowerCase()]: apiKey };

  async function get<T>(path: string, call: FnspCallOptions | undefined, parse: (json: unknown) => T): Promise<T> {
    const href = `${root}${path}`;
    const json = await getJson(href, { ...http, headers, upstream: FNSP_UPSTREAM, signal: call?.signal });
    try {
      return parse(json);
    } catch (err) {
      if (err instanceof UpstreamError) throw err.withDetails({ url: href });
      throw err;
    }
  }

  const segment = (s: string) => encodeURIComponent(s);

  return {
    prosedyrer: (call) => get(FNSP_PROCEDURES_PATH, call, parseProsedyrer),
    prosedyreForetak: (behandling, call) =>
      get(`${FNSP_PROCEDURES_PATH}/${segment(behandling)}`, call, parseProsedyreForetak),
    async tilbud(behandling, foretak, call) {
      try {
        return await get(`${FNSP_PROCEDURES_PATH}/${segment(behandling)}/${segment(foretak)}`, call, parseTilbud);
      } catch (err) {
        // [DOC] "kan du finne ut om en gitt prosedyre tilbys ved det aktuelle foretaket": not offered = 404 [ASSUMED]
        if (err instanceof UpstreamError && err.code === 'UPSTREAM_NOT_FOUND') return null;
        throw err;
      }
    },
    nettsteder: (call) => get(sitesPath, call, parseNettsteder),
    datasett: (call) => get(datasetPath, call, parseDatasett),
  };
}
