import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { OperationOutcome, Parameters } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../../src/http/log.ts';
import { operations } from '../../src/operations/registry.ts';
import type { OperationDef } from '../../src/operations/types.ts';
import {
  expectValidFhir,
  fetchFhir,
  fetchFhirXml,
  postJson,
  startTestServer,
  type TestServer,
} from '../support/fhir.ts';

/** A test-only operation that fails like a bug would, with something secret in its message. */
const explode: OperationDef = {
  code: 'explode',
  definition: 'http://example.org/OperationDefinition/explode',
  resourceTypes: [],
  type: false,
  instance: false,
  system: true,
  get: true,
  parameters: [],
  handler: () => {
    throw new Error('db password hunter2 leaked');
  },
};

const logLines: string[] = [];
let server: TestServer;
let small: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    operations: [...operations, explode],
    logger: createLogger('info', (line) => logLines.push(line)),
  });
  small = await startTestServer({ config: { maxBodyBytes: 1000 } });
});
afterAll(async () => {
  await server.close();
  await small.close();
});

/** A raw request, for headers fetch would add or change (Accept, Content-Length); FHIR bodies are validated. */
function raw(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => {
        // every FHIR body a test receives is validated
        if (res.headers['content-type']?.startsWith('application/fhir+json')) expectValidFhir(JSON.parse(body));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('content negotiation', () => {
  test.each([
    ['application/fhir+json'],
    ['application/json'],
    ['*/*'],
    ['application/*'],
    ['application/fhir+json; fhirVersion=4.0'],
    ['application/fhir+json; fhirVersion=4.0.1'],
    ['text/html;q=0.5, application/json'],
  ])('200 for Accept: %s', async (accept) => {
    const res = await fetchFhir(`${server.baseUrl}/$versions`, { headers: { Accept: accept } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
  });

  test('200 without an Accept header', async () => {
    const res = await raw(`${server.baseUrl}/$versions`, {});
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
  });

  test.each([
    ['application/fhir+json, application/fhir+xml'],
    ['application/fhir+xml;q=0.5, application/fhir+json'],
    ['application/fhir+xml;q=0.8, */*'],
    ['application/fhir+xml; fhirVersion=5.0, application/json'],
  ])('JSON for Accept: %s', async (accept) => {
    const res = await fetchFhir(`${server.baseUrl}/$versions`, { headers: { Accept: accept } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
  });

  test.each([
    ['application/fhir+xml'],
    ['application/fhir+xml; fhirVersion=4.0'],
    ['application/xml'],
    ['text/xml'],
    ['application/xml, text/xml'],
    ['application/xml+fhir'],
    ['application/fhir+json;q=0.5, application/fhir+xml'],
    ['*/*;q=0.1, application/xml'],
    ['text/html, application/fhir+xml'],
  ])('FHIR XML for Accept: %s', async (accept) => {
    const res = await fetchFhirXml(`${server.baseUrl}/$versions`, { headers: { Accept: accept } });
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('Parameters');
  });

  test.each([
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'],
    ['text/html'],
    ['text/html, application/xml'],
    ['application/xhtml+xml'],
  ])('an HTML page for Accept: %s (a browser)', async (accept) => {
    const res = await fetch(`${server.baseUrl}/$versions`, { headers: { Accept: accept } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("style-src 'unsafe-inline'");
    expect(await res.text()).toMatch(/^<!DOCTYPE html>/);
  });

  test.each([
    ['application/fhir+json; fhirVersion=5.0'],
    ['application/fhir+xml; fhirVersion=3.0'],
    ['application/fhir+json;q=0'],
  ])('406 for Accept: %s', async (accept) => {
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}/metadata`, { headers: { Accept: accept } });
    expect(res.status).toBe(406);
    expect(res.body.issue[0].code).toBe('not-supported');
  });

  test.each(['json', 'application/json', 'application/fhir%2Bjson', 'application/fhir+json'])(
    '200 for _format=%s',
    async (format) => {
      const res = await fetchFhir(`${server.baseUrl}/metadata?_format=${format}`, {
        headers: { Accept: 'application/fhir+xml' },
      });
      expect(res.status).toBe(200);
    },
  );

  test.each(['xml', 'application/fhir%2Bxml', 'application/fhir+xml', 'application/xml', 'text/xml'])(
    'FHIR XML for _format=%s, whatever Accept says',
    async (format) => {
      const res = await fetchFhirXml(`${server.baseUrl}/metadata?_format=${format}`, {
        headers: { Accept: 'application/fhir+json' },
      });
      expect(res.status).toBe(200);
      expect(res.body.resourceType).toBe('CapabilityStatement');
    },
  );

  test.each(['html', 'text/html'])('an HTML page for _format=%s, whatever Accept says', async (format) => {
    const res = await fetch(`${server.baseUrl}/metadata?_format=${format}`, {
      headers: { Accept: 'application/fhir+json' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
  });

  test.each(['ttl', 'json; fhirVersion=5.0'])('406 for _format=%s', async (format) => {
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}/metadata?_format=${format}`);
    expect(res.status).toBe(406);
  });

  test('406 names the formats there are', async () => {
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}/metadata?_format=ttl`);
    expect(res.body.issue[0].details?.text).toBe(
      "Format 'ttl' is not supported: this server produces FHIR JSON (application/fhir+json), FHIR XML (application/fhir+xml) and HTML pages (text/html)",
    );
  });

  test('the answer varies with Accept (and a large one with Accept-Encoding)', async () => {
    const res = await fetchFhir(`${server.baseUrl}/metadata`);
    expect(res.headers.get('vary')).toBe('Accept, Accept-Encoding');
    const op = await fetchFhir(`${server.baseUrl}/$versions`);
    expect(op.headers.get('vary')).toBe('Accept, Accept-Language');
  });

  test('_pretty=true indents the JSON', async () => {
    const pretty = await raw(`${server.baseUrl}/$versions?_pretty=true`, {});
    const plain = await raw(`${server.baseUrl}/$versions`, {});
    expect(pretty.body).toContain('\n  "parameter"');
    expect(plain.body).not.toContain('\n');
    expect(JSON.parse(pretty.body)).toEqual(JSON.parse(plain.body));
  });
});

describe('request bodies', () => {
  const url = () => `${server.baseUrl}/$versions`;
  const params = { resourceType: 'Parameters', parameter: [{ name: 'uuid', valueUuid: 'urn:uuid:1' }] };

  test.each([
    'application/fhir+json',
    'application/json',
    'application/fhir+json; fhirVersion=4.0',
    'application/fhir+json;charset=utf-8; fhirVersion=4.0.1',
    'application/json+fhir',
  ])('accepts Content-Type: %s', async (type) => {
    const res = await fetchFhir<Parameters>(url(), postJson(params, type));
    expect(res.status).toBe(200);
  });

  test.each([
    ['application/xhtml+xml', /Content-Type 'application\/xhtml\+xml' is not supported/],
    ['text/plain', /Content-Type 'text\/plain' is not supported/],
    ['application/x-www-form-urlencoded', /not supported/],
    ['application/fhir+json; fhirVersion=5.0', /FHIR version 5\.0 is not supported/],
    ['application/fhir+json; fhirVersion=3.0', /FHIR version 3\.0 is not supported/],
    ['application/json; charset=latin1', /charset/],
  ])('415 for Content-Type: %s', async (type, message) => {
    const res = await fetchFhir<OperationOutcome>(url(), postJson(params, type));
    expect(res.status).toBe(415);
    expect(res.body.issue[0].details?.text).toMatch(message);
  });

  test('accepts a gzip-compressed body', async () => {
    const res = await fetchFhir(url(), {
      method: 'POST',
      headers: { 'Content-Type': 'application/fhir+json', 'Content-Encoding': 'gzip' },
      body: gzipSync(JSON.stringify(params)),
    });
    expect(res.status).toBe(200);
  });

  test('415 for a body without Content-Type', async () => {
    const res = await raw(url(), { method: 'POST', body: '{}', headers: { 'Content-Length': '2' } });
    expect(res.status).toBe(415);
    expectValidFhir(JSON.parse(res.body));
  });

  test('413 when the body is over MAX_BODY_BYTES', async () => {
    const big = { resourceType: 'Parameters', parameter: [{ name: 'x', valueString: 'y'.repeat(2000) }] };
    const res = await fetchFhir<OperationOutcome>(`${small.baseUrl}/$versions`, postJson(big));
    expect(res.status).toBe(413);
    expect(res.body.issue[0].details?.text).toContain('1000 bytes');
  });

  test('413 also for a chunked body without Content-Length', async () => {
    const res = await raw(`${small.baseUrl}/$versions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/fhir+json', 'Transfer-Encoding': 'chunked' },
      body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'x', valueString: 'y'.repeat(2000) }] }),
    });
    expect(res.status).toBe(413);
  });

  test.each([
    ['truncated JSON', '{"resourceType":'],
    ['not JSON at all', 'hello'],
    ['a JSON string', '"Parameters"'],
  ])('400 for %s, without parser details', async (_name, body) => {
    const res = await raw(url(), { method: 'POST', headers: { 'Content-Type': 'application/fhir+json' }, body });
    expect(res.status).toBe(400);
    const oo = expectValidFhir<OperationOutcome>(JSON.parse(res.body));
    expect(oo.issue[0].details?.text).toBe('Request body is not valid JSON');
  });

  test.each([
    ['a Patient', { resourceType: 'Patient' }, /must be a Parameters resource, found a Patient/],
    ['an array', [{ resourceType: 'Parameters' }], /must be a Parameters resource/],
    ['no resourceType', { parameter: [] }, /found no resourceType/],
    ['a non-array parameter', { resourceType: 'Parameters', parameter: { name: 'x' } }, /must be an array/],
  ])('400 for a POST body that is %s', async (_name, body, message) => {
    const res = await fetchFhir<OperationOutcome>(url(), postJson(body));
    expect(res.status).toBe(400);
    expect(res.body.issue[0].details?.text).toMatch(message);
  });
});

describe('unknown routes', () => {
  test.each([
    ['GET', '/fhir/nope/1/2/3', /Unknown path GET \/fhir\/nope\/1\/2\/3/],
    ['GET', '/fhir/codesystem', /Unknown path/],
    ['POST', '/fhir/whatever', /Unknown path POST/],
    ['DELETE', '/', /Unknown path DELETE \/$/],
    ['GET', '/fhir/Patient', /Resource type Patient is not supported/],
    ['GET', '/fhir/Practitioner/123', /Resource type Practitioner is not supported/],
    ['GET', '/fhir/CodeSystem/$nope', /Operation \$nope is not supported on CodeSystem/],
    ['POST', '/fhir/ValueSet/abc/$nope', /Operation \$nope is not supported on ValueSet instances/],
    ['GET', '/fhir/$nope', /Operation \$nope is not supported at system level/],
  ])('404 OperationOutcome for %s %s', async (method, path, message) => {
    const res = await fetchFhir<OperationOutcome>(`${server.origin}${path}`, { method });
    expect(res.status).toBe(404);
    expect(res.body.issue[0].code).toBe('not-found');
    expect(res.body.issue[0].details?.text).toMatch(message);
  });

  test('400 for a path that is not valid percent-encoding', async () => {
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}/CodeSystem/%E0%A4%A`);
    expect(res.status).toBe(400);
    expect(res.body.issue[0].details?.text).toBe('The request path is not valid percent-encoding');
  });

  test('404 does not echo a huge path', async () => {
    const res = await fetchFhir<OperationOutcome>(`${server.origin}/fhir/${'x'.repeat(5000)}`);
    expect(res.status).toBe(404);
    expect(res.body.issue[0].details?.text?.length).toBeLessThan(300);
  });
});

describe('internal errors', () => {
  test('500 says only "Internal server error" and logs one JSON line', async () => {
    logLines.length = 0;
    const res = await fetch(`${server.baseUrl}/$explode`, { headers: { 'X-Request-Id': 'boom-1' } });
    const text = await res.text();
    expect(res.status).toBe(500);
    expect(text).not.toMatch(/hunter2|Error|at .*\.ts/);
    const oo = expectValidFhir<OperationOutcome>(JSON.parse(text));
    expect(oo.issue).toEqual([{ severity: 'error', code: 'exception', details: { text: 'Internal server error' } }]);
    const errors = logLines.map((l) => JSON.parse(l)).filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      msg: 'unhandled error',
      requestId: 'boom-1',
      path: '/fhir/$explode',
      status: 500,
    });
    for (const line of logLines) expect(line.trim().split('\n')).toHaveLength(1);
    // the error's class and message, but no stack trace and no stack frame
    expect(errors[0].error).toMatchObject({ name: 'Error' });
    expect(errors[0].error.stack).toBeUndefined();
    expect(errors[0].error.at).toBeUndefined();
    expect(JSON.stringify(errors[0])).not.toMatch(/\.ts:\d+|\\n\s+at /);
  });
});

describe('request log, request id, CORS, health', () => {
  test('one JSON line per request, without the query string', async () => {
    logLines.length = 0;
    await fetchFhir(`${server.baseUrl}/CodeSystem?name=secret-query`, { headers: { 'X-Request-Id': 'abc-123' } });
    const lines = logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ method: 'GET', path: '/fhir/CodeSystem', status: 200, requestId: 'abc-123' });
    expect(typeof lines[0].ms).toBe('number');
    expect(logLines.join('')).not.toContain('secret-query');
  });

  test.each([
    ['debug', ['debug', 'info', 'warn', 'error']],
    ['info', ['info', 'warn', 'error']],
    ['warn', ['warn', 'error']],
    ['silent', []],
  ] as const)('LOG_LEVEL=%s keeps %o', (level, kept) => {
    const lines: string[] = [];
    const log = createLogger(level, (l) => lines.push(l));
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(lines.map((l) => JSON.parse(l).level)).toEqual(kept);
  });

  test('echoes a plain X-Request-Id and makes one otherwise', async () => {
    const given = await fetchFhir(`${server.baseUrl}/metadata`, {
      headers: { 'X-Request-Id': 'txTests:metadata/metadata' },
    });
    expect(given.headers.get('x-request-id')).toBe('txTests:metadata/metadata');
    const made = await fetchFhir(`${server.baseUrl}/metadata`, { headers: { 'X-Request-Id': 'bad id with spaces' } });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('CORS headers on responses, preflight answered with 204', async () => {
    const res = await fetchFhir(`${server.baseUrl}/metadata`, { headers: { Origin: 'https://example.org' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toContain('Location');
    expect(res.headers.get('access-control-expose-headers')).toContain('X-Request-Id');
    const pre = await fetch(`${server.baseUrl}/ValueSet/$expand`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://example.org',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    // a fixed list of the headers the API reads, never an echo (see test/http/headers.test.ts)
    expect(pre.headers.get('access-control-allow-headers')).toContain('Content-Type');
  });

  test('/healthz and /readyz', async () => {
    const health = await fetch(`${server.origin}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${server.origin}/readyz`);
    const body = (await ready.json()) as Record<string, unknown>;
    expect(ready.status).toBe(200);
    // the 19 FHIR core ConceptMaps and the NLK replacements map
    expect(body).toMatchObject({ status: 'ready', conceptMaps: 20 });
    expect(body.codeSystems).toBeGreaterThan(500);
    expect(body.valueSets).toBeGreaterThan(500);
  });
});
