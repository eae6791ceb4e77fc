import type { Dispatcher } from 'undici';
import type { Config } from '../config.ts';
import { baseUrlResolver } from '../http/base-url.ts';
import type { Logger } from '../http/log.ts';
import type { ServiceMetrics } from '../http/metrics.ts';
import type { SharedState } from '../shared/redis.ts';
import type { DirectoryEndpoint } from './endpoint.ts';
import type { ObservedCodes } from './observed-codes.ts';
import { practitionerCapability, practitionerRouter } from './practitioner-routes.ts';
import { createPractitionerService, type PractitionerService } from './practitioner-service.ts';

/**
 * Practitioner from HPR, as the app mounts it: the service, its router and its capability entry.
 * With `metrics`, the calls to Maskinporten and HPR are counted and the level of our copy of HPR's
 * token bucket is reported (while HPR is configured).
 */
export function practitionerEndpoint(
  config: Config,
  deps: {
    dispatcher: Dispatcher;
    logger?: Logger;
    observed?: ObservedCodes;
    metrics?: Pick<ServiceMetrics, 'upstreamCall' | 'watchRateLimit'>;
    /** the state shared with the other replicas (REDIS_URL) */
    shared?: SharedState;
  },
): { endpoint: DirectoryEndpoint; service: PractitionerService } {
  const { metrics, ...rest } = deps;
  const service = createPractitionerService(config.hpr, {
    ...rest,
    replicas: config.shared.replicas,
    ...(metrics ? { onUpstreamCall: metrics.upstreamCall } : {}),
  });
  if (metrics && config.hpr.status === 'configured') {
    const { capacity } = config.hpr.hpr.rateLimit;
    metrics.watchRateLimit('hpr', () => ({ available: service.stats().bucketAvailable, capacity }));
  }
  return {
    service,
    endpoint: {
      type: 'Practitioner',
      router: practitionerRouter(service, { baseUrl: baseUrlResolver(config) }),
      capability: () => practitionerCapability(service.status),
    },
  };
}
