import type { Dispatcher } from 'undici';
import type { Logger } from '../http/log.ts';
import type { SharedRefresh } from '../shared/shared-refresh.ts';
import type { UpstreamCallObserver, UpstreamHttpOptions } from '../upstream/http.ts';
import { createBandagistSource } from './bandagist-source.ts';
import type { DirectoryConfig } from './directory-config.ts';
import { DirectoryService, type DirectorySource } from './directory-service.ts';
import { createFnspSource } from './fnsp-source.ts';
import type { ObservedCodes } from './observed-codes.ts';

/**
 * Builds the FNSP + bandagist directory from its configuration (the composition root the lead's
 * createApp/main use): the FNSP source (live, demo or unconfigured) and, unless
 * BANDAGISTS_ENABLED=false, the bandagist source. Nothing is fetched until `start()` (or the first
 * request).
 */

export interface DirectoryDeps {
  /** the shared undici dispatcher of the upstream clients */
  dispatcher: Dispatcher;
  logger?: Logger;
  /** the clock (epoch ms); default Date.now */
  now?: () => number;
  /** upstream request tuning for tests (retries, sleep) */
  http?: Pick<UpstreamHttpOptions, 'retries' | 'sleep' | 'random' | 'backoffBaseMs' | 'maxRetryAfterMs'>;
  /** how long a request waits for a source's first load before a 503 with Retry-After (default 15 s) */
  firstLoadWaitMs?: number;
  /** notes the Volven codes the directory emits (the code systems built from the upstreams' codes) */
  observed?: ObservedCodes;
  /** told of every call to FNSP and to Helserefusjon's bandagist list (metrics) */
  onUpstreamCall?: UpstreamCallObserver;
  /** with several replicas on Redis: one downloads (a lease), the others take its download */
  shared?: SharedRefresh;
}

export function createDirectory(config: DirectoryConfig, deps: DirectoryDeps): DirectoryService {
  const sources: DirectorySource[] = [createFnspSource(config.fnsp, deps)];
  if (config.bandagists.enabled) sources.push(createBandagistSource(config.bandagists, deps));
  return new DirectoryService(sources);
}
