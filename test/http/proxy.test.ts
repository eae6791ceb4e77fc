import type { Bundle, CapabilityStatement } from '@medplum/fhirtypes';
import { MockAgent } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createDirectory } from '../../src/directory/directory.ts';
import { parseDirectoryConfig } from '../../src/directory/directory-config.ts';
import { fnspDirectoryEndpoints } from '../../src/directory/directory-routes.ts';
import { baseUrlResolver, forwardedBase, parseForwarded } from '../../src/http/base-url.ts';
import { fetchFhir, startTestServer, type TestServer } from '../support/fhir.ts';

// Behind a reverse proxy (issue 11, item 4): with TRUST_PROXY=true the links follow the address the
// client used; PUBLIC_BASE_URL still wins; without TRUST_PROXY the headers are never read.

const headers = (h: Record<string, string>) => ({ get: (name: string) => h[name.toLowerCase()] }) as never;

describe('the forwarded base', () => {
  test('RFC 7239 Forwarded: the first element, quoted values, case-insensitive keys', () => {
    expect(parseForwarded('for=192.0.2.60;Proto=https;host="fhir.example.no", for=10.0.0.1;proto=http')).toEqual({
      proto: 'https',
      host: 'fhir.example.no',
    });
    expect(forwardedBase(headers({ forwarded: 'proto=https;host=fhir.example.no:8443' }))).toBe(
      'https://fhir.example.no:8443/fhir',
    );
  });

  test('X-Forwarded-Proto, -Host (first values) and -Prefix; the Host header when no host is forwarded', () => {
    expect(
      forwardedBase(
        headers({
          'x-forwarded-proto': 'https, http',
          'x-forwarded-host': 'api.helse.example, proxy.internal',
          'x-forwarded-prefix': '/terminologi/',
          host: 'internal:8080',
        }),
      ),
    ).toBe('https://api.helse.example/terminologi/fhir');
    expect(forwardedBase(headers({ host: 'internal:8080' }))).toBe('http://internal:8080/fhir');
  });

  test('values not of the strict form are not used', () => {
    const bad: Record<string, string>[] = [
      { 'x-forwarded-host': 'evil.example/"><script>' },
      { 'x-forwarded-host': 'a.example', 'x-forwarded-proto': 'javascript' },
      { 'x-forwarded-host': 'a.example', 'x-forwarded-prefix': '/a/../b' },
      { 'x-forwarded-host': 'a.example', 'x-forwarded-prefix': 'no-slash' },
      { forwarded: 'host="a.example?x=1"' },
    ];
    for (const h of bad) {
      expect(forwardedBase(headers(h))).toBeUndefined();
    }
    const resolve = baseUrlResolver({
      publicBaseUrl: 'http://localhost:8080/fhir',
      publicBaseUrlSet: false,
      trustProxy: true,
    });
    expect(resolve(headers({ 'x-forwarded-host': 'bad host' }))).toBe('http://localhost:8080/fhir');
  });

  test('PUBLIC_BASE_URL wins; without TRUST_PROXY no header is read', () => {
    const req = headers({ 'x-forwarded-host': 'proxy.example', 'x-forwarded-proto': 'https' }) as never;
    expect(
      baseUrlResolver({ publicBaseUrl: 'https://set.example/fhir', publicBaseUrlSet: true, trustProxy: true })(req),
    ).toBe('https://set.example/fhir');
    expect(
      baseUrlResolver({ publicBaseUrl: 'http://localhost:1/fhir', publicBaseUrlSet: false, trustProxy: false })(req),
    ).toBe('http://localhost:1/fhir');
  });
});

describe('through the app with TRUST_PROXY=true', () => {
  const agent = new MockAgent();
  agent.disableNetConnect();
  let server: TestServer;
  const proxy = {
    'X-Forwarded-Proto': 'https',
    'X-Forwarded-Host': 'fhir.helse.example',
    'X-Forwarded-Prefix': '/tx',
  };
  const base = 'https://fhir.helse.example/tx/fhir';

  beforeAll(async () => {
    const directory = createDirectory(parseDirectoryConfig({ FNSP_DEMO: 'true', BANDAGISTS_ENABLED: 'false' }), {
      dispatcher: agent,
    });
    server = await startTestServer({
      config: { trustProxy: true, publicBaseUrlSet: false },
      directory: (config) =>
        fnspDirectoryEndpoints({ directory, baseUrl: baseUrlResolver({ ...config, publicBaseUrlSet: false }) }),
    });
  });
  afterAll(async () => {
    await server.close();
    await agent.close();
  });

  test('search paging links and fullUrls follow the forwarded address', async () => {
    const res = await fetchFhir<Bundle>(`${server.baseUrl}/CodeSystem?_count=2`, { headers: proxy });
    expect(res.status).toBe(200);
    for (const l of res.body.link ?? []) expect(l.url.startsWith(`${base}/CodeSystem?`)).toBe(true);
    for (const e of res.body.entry ?? []) expect(e.fullUrl?.startsWith(`${base}/CodeSystem/`)).toBe(true);
  });

  test('directory searches too', async () => {
    const res = await fetchFhir<Bundle>(`${server.baseUrl}/Organization?_count=1`, { headers: proxy });
    expect(res.status).toBe(200);
    expect(res.body.link?.find((l) => l.relation === 'next')?.url.startsWith(`${base}/Organization?`)).toBe(true);
  });

  test('the CapabilityStatement names the forwarded base; without headers, the address reached', async () => {
    const proxied = await fetchFhir<CapabilityStatement>(`${server.baseUrl}/metadata`, { headers: proxy });
    expect(proxied.body.url).toBe(`${base}/metadata`);
    expect(proxied.body.implementation?.url).toBe(base);
    const direct = await fetchFhir<CapabilityStatement>(`${server.baseUrl}/metadata`);
    expect(direct.body.implementation?.url).toBe(server.baseUrl);
  });
});
