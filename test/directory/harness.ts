import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Agent } from 'undici';
import { parseHprConfig } from '../../src/directory/hpr-config.ts';
import { practitionerRouter } from '../../src/directory/practitioner-routes.ts';
import { createPractitionerService, type PractitionerService } from '../../src/directory/practitioner-service.ts';
import { errorHandler, unknownRoute } from '../../src/http/errors.ts';
import { createLogger, type Logger } from '../../src/http/log.ts';
import type { RawHprPerson } from '../fakes/hpr-persons.ts';
import {
  type FakeHprOptions,
  type FakeHprServer,
  fakeHprEnv,
  startFakeHpr,
  type TestClientKey,
  testClientKey,
} from '../fakes/hpr-server.ts';

/**
 * The Practitioner directory against the fake Maskinporten + HPR, on one injected clock (so TTLs,
 * the bucket and token expiry move only when a test moves them), optionally behind a small Express
 * app that mounts the router at /fhir/Practitioner with the project's error handler, as the lead
 * will mount it in app.ts.
 */

export const START = Date.UTC(2026, 0, 15, 9, 0, 0);

export interface Harness {
  clock: { t: number };
  fake: FakeHprServer;
  key: TestClientKey;
  service: PractitionerService;
  agent: Agent;
  logLines: string[];
  /** the FHIR base of the test app, when `http` was asked for */
  baseUrl: string;
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  persons?: Iterable<RawHprPerson>;
  bucket?: FakeHprOptions['bucket'];
  scopes?: readonly string[];
  /** no credentials: an unconfigured service */
  unconfigured?: boolean;
  http?: boolean;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = { t: START };
  const now = () => clock.t;
  const key = testClientKey({ scopes: options.scopes });
  const fake = await startFakeHpr({
    now,
    clients: [key.client],
    persons: options.persons,
    bucket: options.bucket,
    tokenLifetimeS: 120,
  });
  const agent = new Agent();
  const logLines: string[] = [];
  const logger: Logger = createLogger('debug', (line) => {
    logLines.push(line);
  });
  const env = options.unconfigured ? { ...options.env } : fakeHprEnv(fake, key, options.env);
  const service = createPractitionerService(parseHprConfig(env), {
    dispatcher: agent,
    now,
    logger,
    sleep: async () => {},
  });

  let server: Server | undefined;
  let baseUrl = '';
  if (options.http) {
    server = createServer();
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    baseUrl = `http://127.0.0.1:${port}/fhir`;
    const app = express();
    app.set('query parser', 'simple');
    app.set('case sensitive routing', true);
    app.use('/fhir/Practitioner', practitionerRouter(service, { baseUrl }));
    app.use(unknownRoute());
    app.use(errorHandler(createLogger('silent')));
    server.on('request', app);
  }

  return {
    clock,
    fake,
    key,
    service,
    agent,
    logLines,
    baseUrl,
    async close() {
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server?.close(() => resolve()));
      }
      await fake.close();
      await agent.close();
    },
  };
}
