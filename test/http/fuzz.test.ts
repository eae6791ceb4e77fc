import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TX_RESOURCE_TYPES } from '../../src/terminology/store.ts';
import { KNOWN_IDS, ODD_IDS, ROUTES } from './fuzz-fixtures.ts';
import {
  bodyRecipe,
  buildBody,
  buildQuery,
  buildXmlBody,
  engineMutations,
  headers,
  mutations,
  queryRecipe,
  route,
  routeOf,
  xmlDamage,
} from './fuzz-generators.ts';
import { BATCH_TIMEOUT_MS, type FuzzServer, fuzz, startFuzzServer } from './fuzz-support.ts';

/**
 * A fuzz suite (issue 9 item 7): seeded, bounded generators of malformed and extreme requests
 * against every endpoint of the app (every operation route at type and instance level, GET and
 * POST; read and search; /metadata; the directory routes, unconfigured). For every answer:
 * no 5xx (but the documented 503 of an unconfigured directory), every error an OperationOutcome,
 * every 2xx valid FHIR R4, and /healthz answering between batches.
 *
 * The generators produce small recipes (what to send, how to garble it); the request is built from
 * the recipe, so that a failing case prints short even when it sends megabytes.
 *
 * This file holds the generated batches. The fixed cases (issue 9's, odd but well-formed input,
 * the engine without the edge) are in fuzz-cases.test.ts; the shared pieces are in fuzz-support.ts
 * (server, sending, checking), fuzz-fixtures.ts and fuzz-generators.ts.
 */

let app: FuzzServer;

beforeAll(async () => {
  app = await startFuzzServer();
});
afterAll(async () => {
  await app?.close();
});

// --- the suites -----------------------------------------------------------------------------

describe('fuzz', () => {
  test(
    'POST operations with garbled Parameters',
    async () => {
      await fuzz(
        app,
        fc.record({ route, body: bodyRecipe, headers }),
        ({ route: which, body, headers: h }) => {
          const r = routeOf(which);
          return { method: 'POST', path: r.path, headers: h, body: buildBody(body, r.def.code, r.def.parameters) };
        },
        900,
      );
    },
    BATCH_TIMEOUT_MS,
  );

  test(
    'POST operations with odd but well-typed content, to the engine',
    async () => {
      await fuzz(
        app,
        fc.record({
          route: fc.record({ r: fc.nat(ROUTES.length - 1), id: fc.nat(), odd: fc.constant(false) }),
          template: fc.nat(),
          mutations: engineMutations,
        }),
        ({ route: which, template, mutations: m }) => {
          const r = routeOf(which);
          return {
            method: 'POST',
            path: r.path,
            headers: { 'Content-Type': 'application/fhir+json', Accept: 'application/fhir+json' },
            body: buildBody({ kind: 'template', template, mutations: m }, r.def.code, r.def.parameters),
          };
        },
        900,
      );
    },
    BATCH_TIMEOUT_MS,
  );

  test(
    'POST operations with garbled Parameters as FHIR XML',
    async () => {
      await fuzz(
        app,
        fc.record({
          route,
          template: fc.nat(),
          // mostly well-typed changes, which XML can carry, so that most bodies reach the operation
          mutations: fc.oneof({ weight: 3, arbitrary: engineMutations }, { weight: 1, arbitrary: mutations }),
          damage: xmlDamage,
          contentType: fc.constantFrom('application/fhir+xml', 'application/xml; charset=utf-8', 'text/xml'),
          accept: fc.constantFrom('application/fhir+xml', 'application/fhir+json', '*/*'),
        }),
        ({ route: which, template, mutations: m, damage, contentType, accept }) => {
          const r = routeOf(which);
          return {
            method: 'POST',
            path: r.path,
            headers: { 'Content-Type': contentType, Accept: accept },
            body: buildXmlBody(template, m, damage, r.def.code, r.def.parameters),
          };
        },
        500,
      );
    },
    BATCH_TIMEOUT_MS,
  );

  test(
    'GET operations with odd query strings',
    async () => {
      await fuzz(
        app,
        fc.record({
          route,
          query: queryRecipe,
          headers,
          method: fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'PATCH'),
        }),
        ({ route: which, query, headers: h, method }) => {
          const r = routeOf(which);
          return {
            method,
            path: `${r.path}${buildQuery(
              query,
              r.def.parameters.map((d) => d.name),
            )}`,
            headers: h,
          };
        },
        600,
      );
    },
    BATCH_TIMEOUT_MS,
  );

  test(
    'read, search and metadata',
    async () => {
      const type = fc.constantFrom(...TX_RESOURCE_TYPES);
      const target = fc.oneof(
        type.map((t) => `/${t}`),
        fc.record({ t: type, i: fc.nat(), odd: fc.boolean() }).map(({ t, i, odd }) => {
          const ids = odd ? ODD_IDS : KNOWN_IDS[t];
          return `/${t}/${ids[i % ids.length]}`;
        }),
        fc.constantFrom(
          '/metadata',
          '/metadata?mode=terminology',
          '/metadata?mode=x',
          '/',
          '/Patient',
          '/%',
          '/$versions',
        ),
      );
      const searchNames = ['url', 'version', 'name', 'title', 'status', '_id', 'name:exact', 'title:contains', 'mode'];
      await fuzz(
        app,
        fc.record({
          target,
          query: queryRecipe,
          headers,
          method: fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT'),
        }),
        ({ target: t, query, headers: h, method }) => ({
          method,
          path: t.includes('?') ? t : `${t}${buildQuery(query, searchNames)}`,
          headers: h,
          ...(method === 'POST' || method === 'PUT' ? { body: '{"resourceType":"Parameters"}' } : {}),
        }),
        300,
      );
    },
    BATCH_TIMEOUT_MS,
  );

  test(
    'directory routes (unconfigured: 503)',
    async () => {
      const target = fc.constantFrom(
        '/Practitioner',
        '/Practitioner/9144900',
        '/Practitioner/x',
        '/Organization',
        '/Organization/x',
        '/HealthcareService',
        '/Location/%ZZ',
      );
      const names = ['identifier', 'family', 'birthdate', 'name', '_id', 'type', 'organization'];
      await fuzz(
        app,
        fc.record({ target, query: queryRecipe, headers, method: fc.constantFrom('GET', 'GET', 'POST', 'DELETE') }),
        ({ target: t, query, headers: h, method }) => ({
          method,
          path: `${t}${buildQuery(query, names)}`,
          headers: h,
          directory: true,
        }),
        100,
      );
    },
    BATCH_TIMEOUT_MS,
  );
});

test('no unhandled error was logged', () => {
  expect(app.logLines.filter((l) => l.includes('unhandled error'))).toEqual([]);
});
