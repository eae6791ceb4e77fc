import type { Dispatcher } from 'undici';
import type { Config } from '../config.ts';
import { baseUrlResolver } from '../http/base-url.ts';
import type { Logger } from '../http/log.ts';
import type { DirectoryEndpoint } from './endpoint.ts';
import type { ObservedCodes } from './observed-codes.ts';
import { practitionerCapability, practitionerRouter } from './practitioner-routes.ts';
import { createPractitionerService, type PractitionerService } from './practitioner-service.ts';

/** Practitioner from HPR, as the app mounts it: the service, its router and its capability entry. */
export function practitionerEndpoint(
  config: Config,
  deps: { dispatcher: Dispatcher; logger?: Logger; observed?: ObservedCodes },
): { endpoint: DirectoryEndpoint; service: PractitionerService } {
  const service = createPractitionerService(config.hpr, deps);
  return {
    service,
    endpoint: {
      type: 'Practitioner',
      router: practitionerRouter(service, { baseUrl: baseUrlResolver(config) }),
      capability: () => practitionerCapability(service.status),
    },
  };
}
