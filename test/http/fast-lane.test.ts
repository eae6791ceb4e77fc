import { createServer, type ServerResponse } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { FastLane } from '../../src/http/fast-lane.ts';
import { badRequest } from '../../src/http/outcome.ts';
import { operations } from '../../src/operations/registry.ts';
import type { OperationDef } from '../../src/operations/types.ts';
import { expectValidFhir, startTestServer, type TestServer, testStore } from '../support/fhir.ts';
import { propertyRuns } from '../support/property.ts';
import { type RawAnswer, rawRequest } from '../support/raw-http.ts';

// The fast lane (src/http/fast-lane.ts) answers plain GET and POST operation calls without Express. Every
// request here goes to two servers over the same data, one with the lane and one without, and the
// answers must be the same: status, headers and body.

const NLK = 'urn:oid:2.16.578.1.12.4.1.1.7280';
const NLK_VS = 'https://no-fhir-facade.example/fhir/ValueSet/nlk-7280';
const q = encodeURIComponent;

/** A GET operation that counts its runs and fails with a 400: a handed-over request must not run twice. */
let failingRuns = 0;
const failing: OperationDef = {
  code: 'failing',
  definition: 'http://example.org/OperationDefinition/failing',
  resourceTypes: ['CodeSystem'],
  type: true,
  instance: false,
  get: true,
  parameters: [{ name: 'code', type: 'code' }],
  handler: () => {
    failingRuns++;
    throw badRequest('This operation always fails', 'code');
  },
};

/** Headers that differ between two identical answers: the time, and ids and lengths that follow from them. */
const PER_ANSWER = new Set(['date', 'x-request-id', 'content-length', 'keep-alive', 'connection']);

/** The body as text, decompressed. */
function decoded(r: RawAnswer): string {
  const encoding = r.headers['content-encoding'];
  const bytes = encoding === 'gzip' ? gunzipSync(r.body) : encoding === 'br' ? brotliDecompressSync(r.body) : r.body;
  return bytes.toString('utf8');
}

/** What differs between two runs of one operation on two servers blanked: ids, times, the server's address. */
function normalised(text: string, server: TestServer): string {
  return text
    .replaceAll(server.origin, 'http://server')
    .replace(/urn:uuid:[0-9a-f-]{36}/g, 'urn:uuid:-')
    .replace(/"timestamp":\s*"[^"]*"/g, '"timestamp":"-"');
}

function lane(server: TestServer): FastLane {
  return server.app.locals.fastLane as FastLane;
}

/** The operation paths the property tests call, with random parameters. */
const OPERATION_PATHS = fc.constantFrom(
  '/fhir/CodeSystem/$validate-code',
  '/fhir/CodeSystem/$lookup',
  '/fhir/ValueSet/$expand',
  '/fhir/ValueSet/$validate-code',
);

/** A small body limit, so that a body over it is cheap to send. */
const MAX_BODY_BYTES = 64 * 1024;

let fast: TestServer;
let plain: TestServer;
beforeAll(async () => {
  const ops = [...operations, failing];
  const config = { maxBodyBytes: MAX_BODY_BYTES };
  [fast, plain] = await Promise.all([
    startTestServer({ operations: ops, config }),
    startTestServer({ operations: ops, config, fastLane: false }),
  ]);
});
afterAll(async () => Promise.all([fast.close(), plain.close()]));

/**
 * Sends the request to both servers and expects the same answer; returns how the fast server's lane
 * dealt with it.
 */
async function same(path: string, headers: Record<string, string> = {}, method = 'GET', body?: string | Buffer) {
  const before = { answered: lane(fast).answered, handedOver: lane(fast).handedOver };
  const [a, b] = await Promise.all([
    rawRequest(`${fast.origin}${path}`, headers, method, body),
    rawRequest(`${plain.origin}${path}`, headers, method, body),
  ]);
  expect(a.status, path).toBe(b.status);
  const shown = (r: RawAnswer) =>
    Object.fromEntries(Object.entries(r.headers).filter(([name]) => !PER_ANSWER.has(name)));
  expect(shown(a), path).toEqual(shown(b));
  for (const r of [a, b]) {
    expect(r.headers['x-request-id']).toMatch(/\S/);
    if (headers['x-request-id'] !== undefined) expect(r.headers['x-request-id']).toBe(headers['x-request-id']);
    if (method !== 'HEAD') expect(Number(r.headers['content-length'])).toBe(r.body.byteLength);
  }
  if (method === 'HEAD') {
    expect(a.body.byteLength + b.body.byteLength).toBe(0);
  } else {
    expect(normalised(decoded(a), fast), path).toBe(normalised(decoded(b), plain));
    if (String(a.headers['content-type']).startsWith('application/fhir+json')) expectValidFhir(JSON.parse(decoded(a)));
  }
  return {
    answered: lane(fast).answered - before.answered,
    handedOver: lane(fast).handedOver - before.handedOver,
    status: a.status,
  };
}

describe('answers through the lane are those of the Express edge', () => {
  const calls: [string, string][] = [
    ['valid code', `/fhir/CodeSystem/$validate-code?url=${q(NLK)}&code=NPU03230`],
    ['unknown code', `/fhir/CodeSystem/$validate-code?url=${q(NLK)}&code=NOPE-1`],
    ['wrong display', `/fhir/CodeSystem/$validate-code?url=${q(NLK)}&code=NPU03230&display=Wrong`],
    ['unknown system', `/fhir/CodeSystem/$validate-code?url=${q('http://unknown.example/cs')}&code=a`],
    ['look-up', `/fhir/CodeSystem/$lookup?system=${q(NLK)}&code=NPU03230`],
    ['look-up, pretty', `/fhir/CodeSystem/$lookup?system=${q(NLK)}&code=NPU03230&_pretty=true`],
    ['expand with a filter', `/fhir/ValueSet/$expand?url=${q(NLK_VS)}&filter=kalium&count=5`],
    ['a large expansion', `/fhir/ValueSet/$expand?url=${q(NLK_VS)}&count=400`],
    ['value set validate', `/fhir/ValueSet/$validate-code?url=${q(NLK_VS)}&system=${q(NLK)}&code=NPU03230`],
    ['versions', '/fhir/$versions'],
  ];
  const variants: [string, Record<string, string>][] = [
    ['no headers', {}],
    ['FHIR JSON', { accept: 'application/fhir+json; fhirVersion=4.0' }],
    ['any type', { accept: '*/*' }],
    ['gzip', { 'accept-encoding': 'gzip' }],
    ['br', { 'accept-encoding': 'gzip, br' }],
    ['a browser origin', { origin: 'https://epj.example' }],
    ['a request id', { 'x-request-id': 'txTests:fast/lane' }],
    ['a language', { 'accept-language': 'en' }],
    ['no-cache', { 'cache-control': 'no-cache' }],
    ['pragma', { pragma: 'no-cache' }],
  ];
  for (const [what, path] of calls) {
    test(`${what}: GET and HEAD, every variant of the headers, taken by the lane`, async () => {
      for (const [, headers] of variants) {
        for (const method of ['GET', 'HEAD']) {
          const seen = await same(path, headers, method);
          expect(seen.answered, `${method} ${path} ${JSON.stringify(headers)}`).toBe(1);
        }
      }
    });
  }

  test('an operation error is handed over to Express, which renders it; the operation runs once', async () => {
    const runs = failingRuns;
    const seen = await same('/fhir/CodeSystem/$failing?code=x', { 'x-request-id': 'txTests:fails' });
    expect(seen).toEqual({ answered: 0, handedOver: 1, status: 400 });
    // once on each server
    expect(failingRuns - runs).toBe(2);
  });

  test.each([
    ['missing parameters', '/fhir/CodeSystem/$validate-code', 400],
    ['a repeated parameter', `/fhir/CodeSystem/$lookup?system=${q(NLK)}&code=a&code=b`, 400],
    ['an integer that is not one', `/fhir/ValueSet/$expand?url=${q(NLK_VS)}&count=abc`, 400],
    ['an unknown value set', `/fhir/ValueSet/$expand?url=${q('http://unknown.example/vs')}`, 404],
  ])('%s: handed over, the same OperationOutcome', async (_what, path, status) => {
    const seen = await same(path);
    expect(seen).toEqual({ answered: 0, handedOver: 1, status });
  });

  test.each([
    ['FHIR XML by _format', `/fhir/CodeSystem/$lookup?system=${q(NLK)}&code=NPU03230&_format=xml`, {}],
    [
      'FHIR XML by Accept',
      `/fhir/CodeSystem/$lookup?system=${q(NLK)}&code=NPU03230`,
      { accept: 'application/fhir+xml' },
    ],
    ['a browser', `/fhir/CodeSystem/$lookup?system=${q(NLK)}&code=NPU03230`, { accept: 'text/html' }],
    ['an instance-level call', '/fhir/CodeSystem/nlk-7280/$lookup?code=NPU03230', {}],
    ['a trailing slash', `/fhir/CodeSystem/$lookup/?system=${q(NLK)}&code=NPU03230`, {}],
    ['an unacceptable type', `/fhir/CodeSystem/$lookup?system=${q(NLK)}&code=NPU03230`, { accept: 'image/png' }],
    ['a POST-only path', '/fhir/ValueSet/$batch-validate-code', {}],
  ])('%s: left to Express', async (_what, path, headers) => {
    const seen = await same(path, headers);
    expect(seen.answered + seen.handedOver).toBe(0);
  });

  test('for any query string: the same answer (property)', async () => {
    const names = fc.constantFrom(
      'url',
      'system',
      'code',
      'display',
      'version',
      'count',
      'filter',
      'offset',
      '_pretty',
      'x',
      '',
    );
    const values = fc.oneof(
      fc.constantFrom(NLK, NLK_VS, 'NPU03230', 'NPU01370', 'kalium', '5', '0', '-1', 'true', '', '%', '+', 'æøå'),
      fc.string({ maxLength: 12 }),
    );
    await fc.assert(
      fc.asyncProperty(OPERATION_PATHS, fc.array(fc.tuple(names, values), { maxLength: 5 }), async (p, params) => {
        const query = params.map(([n, v]) => `${q(n)}=${q(v)}`).join('&');
        await same(query ? `${p}?${query}` : p, { 'cache-control': 'no-cache' });
      }),
      propertyRuns(60),
    );
  });
});

/** A Parameters resource as a POST body. */
function parameters(...parameter: Record<string, unknown>[]): string {
  return JSON.stringify({ resourceType: 'Parameters', parameter });
}

const JSON_BODY = { 'content-type': 'application/fhir+json' };

describe('POST: answers through the lane are those of the Express edge', () => {
  // a value set of two NLK codes, sent with the request (tx-resource)
  const TWO_CODES = {
    resourceType: 'ValueSet',
    url: 'http://example.org/fhir/ValueSet/lane',
    status: 'active',
    compose: { include: [{ system: NLK, concept: [{ code: 'NPU03230' }, { code: 'NPU03787' }] }] },
  };
  const posts: [string, string, string][] = [
    [
      'valid code',
      '/fhir/CodeSystem/$validate-code',
      parameters({ name: 'url', valueUri: NLK }, { name: 'code', valueCode: 'NPU03230' }),
    ],
    [
      'unknown code in a CodeableConcept',
      '/fhir/ValueSet/$validate-code',
      parameters(
        { name: 'url', valueUri: NLK_VS },
        { name: 'codeableConcept', valueCodeableConcept: { coding: [{ system: NLK, code: 'NOPE-1' }] } },
      ),
    ],
    [
      'look-up',
      '/fhir/CodeSystem/$lookup',
      parameters({ name: 'system', valueUri: NLK }, { name: 'code', valueCode: 'NPU03230' }),
    ],
    [
      'expand with a filter',
      '/fhir/ValueSet/$expand',
      parameters(
        { name: 'url', valueUri: NLK_VS },
        { name: 'filter', valueString: 'kalium' },
        { name: 'count', valueInteger: 5 },
      ),
    ],
    [
      'a value set sent with the request',
      '/fhir/ValueSet/$validate-code',
      parameters(
        { name: 'url', valueUri: TWO_CODES.url },
        { name: 'coding', valueCoding: { system: NLK, code: 'NPU03787', display: 'Not this' } },
        { name: 'tx-resource', resource: TWO_CODES },
      ),
    ],
    [
      'a POST-only operation',
      '/fhir/ValueSet/$batch-validate-code',
      parameters({
        name: 'validation',
        resource: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'url', valueUri: NLK_VS },
            { name: 'coding', valueCoding: { system: NLK, code: 'NPU03230' } },
          ],
        },
      }),
    ],
  ];
  const variants: [string, Record<string, string>][] = [
    ['FHIR JSON', JSON_BODY],
    ['JSON', { 'content-type': 'application/json' }],
    ['with charset and version', { 'content-type': 'application/fhir+json; charset=UTF-8; fhirVersion=4.0' }],
    ['identity coding', { ...JSON_BODY, 'content-encoding': 'identity' }],
    ['br accepted', { ...JSON_BODY, 'accept-encoding': 'gzip, br' }],
    ['a browser origin', { ...JSON_BODY, origin: 'https://epj.example' }],
    ['a request id', { ...JSON_BODY, 'x-request-id': 'txTests:fast/post' }],
    ['a language', { ...JSON_BODY, 'accept-language': 'nb' }],
  ];
  for (const [what, path, body] of posts) {
    test(`${what}: every variant of the headers, taken by the lane`, async () => {
      for (const [, headers] of variants) {
        const seen = await same(path, headers, 'POST', body);
        expect(seen.answered, `${path} ${JSON.stringify(headers)}`).toBe(1);
      }
      const pretty = await same(`${path}?_pretty=true`, JSON_BODY, 'POST', body);
      expect(pretty.answered).toBe(1);
    });
  }

  test('a POST without a body: the operation has no parameters', async () => {
    expect(await same('/fhir/$versions', {}, 'POST')).toMatchObject({ answered: 1, status: 200 });
    expect(await same('/fhir/CodeSystem/$lookup', { 'content-length': '0' }, 'POST')).toMatchObject({
      answered: 0,
      handedOver: 1,
      status: 400,
    });
  });

  test.each([
    ['not JSON', '{"resourceType": "Parameters", ', 400],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 400],
    ['a JSON string', '"Parameters"', 400],
    ['an array', '[]', 400],
    ['not a Parameters', JSON.stringify({ resourceType: 'CodeSystem' }), 400],
    [
      'a wrongly typed parameter',
      parameters({ name: 'url', valueUri: NLK }, { name: 'code', valueCoding: { code: 'x' } }),
      400,
    ],
    [
      'an unknown code system',
      parameters({ name: 'url', valueUri: 'http://unknown.example/cs' }, { name: 'code', valueCode: 'a' }),
      200,
    ],
  ])('%s: the same answer (handed over when it fails)', async (_what, body, status) => {
    const seen = await same('/fhir/CodeSystem/$validate-code', JSON_BODY, 'POST', body);
    expect(seen.status).toBe(status);
    expect(seen.answered + seen.handedOver).toBe(1);
    if (status >= 400) expect(seen.handedOver).toBe(1);
  });

  test('an operation error is handed over after the body is read; the operation runs once', async () => {
    const runs = failingRuns;
    const seen = await same(
      '/fhir/CodeSystem/$failing',
      JSON_BODY,
      'POST',
      parameters({ name: 'code', valueCode: 'x' }),
    );
    expect(seen).toEqual({ answered: 0, handedOver: 1, status: 400 });
    expect(failingRuns - runs).toBe(2);
  });

  const lookup = parameters({ name: 'system', valueUri: NLK }, { name: 'code', valueCode: 'NPU03230' });
  test.each([
    ['FHIR XML', { 'content-type': 'application/fhir+xml' }, '<Parameters xmlns="http://hl7.org/fhir"/>', 400],
    ['a compressed body', { ...JSON_BODY, 'content-encoding': 'gzip' }, gzipSync(lookup), 200],
    ['a chunked body', { ...JSON_BODY, 'transfer-encoding': 'chunked' }, lookup, 200],
    ['no Content-Type', {}, lookup, 415],
    ['another media type', { 'content-type': 'text/plain' }, lookup, 415],
    ['another charset', { 'content-type': 'application/fhir+json; charset=latin1' }, lookup, 415],
    ['another FHIR version', { 'content-type': 'application/fhir+json; fhirVersion=3.0' }, lookup, 415],
    ['an unknown coding', { ...JSON_BODY, 'content-encoding': 'zstd' }, lookup, 415],
    ['a body over the limit', JSON_BODY, ' '.repeat(MAX_BODY_BYTES + 1), 413],
    ['an answer in XML', { ...JSON_BODY, accept: 'application/fhir+xml' }, lookup, 200],
  ])('%s: left to Express, unread', async (_what, headers, body, status) => {
    const seen = await same('/fhir/CodeSystem/$lookup', headers, 'POST', body);
    expect(seen).toEqual({ answered: 0, handedOver: 0, status });
  });

  test('a body cut off by the client: handed over, and the next call is answered', async () => {
    const before = lane(fast).handedOver;
    const socket = connect(Number(new URL(fast.origin).port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      [
        'POST /fhir/CodeSystem/$lookup HTTP/1.1',
        'Host: x',
        'Content-Type: application/fhir+json',
        'Content-Length: 100',
        '',
        '{"resourceType"',
      ].join('\r\n'),
    );
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    for (let i = 0; i < 100 && lane(fast).handedOver === before; i++) await new Promise((r) => setTimeout(r, 10));
    expect(lane(fast).handedOver).toBe(before + 1);
    expect(await same('/fhir/CodeSystem/$lookup', JSON_BODY, 'POST', lookup)).toMatchObject({
      answered: 1,
      status: 200,
    });
  });

  test('_format and an instance-level path: left to Express', async () => {
    expect(await same('/fhir/CodeSystem/$lookup?_format=json', JSON_BODY, 'POST', lookup)).toEqual({
      answered: 0,
      handedOver: 0,
      status: 200,
    });
    const instance = parameters({ name: 'code', valueCode: 'NPU03230' });
    const seen = await same('/fhir/CodeSystem/nlk-7280/$lookup', JSON_BODY, 'POST', instance);
    expect(seen.answered + seen.handedOver).toBe(0);
  });

  test('for any Parameters body: the same answer (property)', async () => {
    const names = fc.constantFrom('url', 'system', 'code', 'display', 'version', 'coding', 'count', 'filter', 'x');
    const value = fc.oneof(
      fc.constantFrom(NLK, NLK_VS, 'NPU03230', 'kalium', 'æøå', '').map((v) => ({ valueString: v })),
      fc.constantFrom(NLK, NLK_VS).map((v) => ({ valueUri: v })),
      fc.constantFrom('NPU03230', 'NOPE').map((v) => ({ valueCode: v })),
      fc.integer({ min: -1, max: 30 }).map((v) => ({ valueInteger: v })),
      fc.constantFrom('NPU03230', 'x').map((code) => ({ valueCoding: { system: NLK, code } })),
    );
    await fc.assert(
      fc.asyncProperty(OPERATION_PATHS, fc.array(fc.tuple(names, value), { maxLength: 4 }), async (p, list) => {
        const body = parameters(...list.map(([name, v]) => ({ name, ...v })));
        const seen = await same(p, JSON_BODY, 'POST', body);
        expect(seen.answered + seen.handedOver).toBe(1);
      }),
      propertyRuns(40),
    );
  });
});

describe('the lane and the server around the app', () => {
  test('headers set before the app answers (the drain: Connection: close) stay on a lane answer', async () => {
    const app = createApp({ ...loadConfig({}), logLevel: 'silent', loadShedLagMs: 0 }, { store: testStore() });
    const server = createServer();
    // as gracefulServer does while draining (src/http/shutdown.ts lastAnswer), before the app's listener
    server.prependListener('request', (_req, res: ServerResponse) => res.setHeader('Connection', 'close'));
    server.on('request', app);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      const { port } = server.address() as AddressInfo;
      const answered = (app.locals.fastLane as FastLane).answered;
      const r = await rawRequest(`http://127.0.0.1:${port}/fhir/CodeSystem/$lookup?system=${q(NLK)}&code=NPU03230`, {});
      expect(r.status).toBe(200);
      expect((app.locals.fastLane as FastLane).answered).toBe(answered + 1);
      expect(r.headers.connection).toBe('close');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expectValidFhir(JSON.parse(r.body.toString('utf8')));
    } finally {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    }
  });
});
