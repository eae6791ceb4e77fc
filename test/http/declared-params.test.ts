import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { InputParams } from '../../src/http/params.ts';
import { fetchFhir, postJson, startTestServer, type TestServer } from '../support/fhir.ts';
import { ROUTES, templatesFor } from './fuzz-fixtures.ts';

/**
 * A handler reads only the parameters its operation defines. A value is checked against its
 * definition when the request is read (type, form, cardinality); a parameter read without one
 * reaches the engine unchecked and may come back in the answer as invalid FHIR (a `system` of
 * "! !" was echoed as a valueUri by CodeSystem/$validate-code). Every operation route is called
 * with its realistic Parameters (POSTed, and their primitive values as a query string) while the
 * reads are watched.
 */

let server: TestServer;
const undeclared = new Set<string>();

beforeAll(async () => {
  server = await startTestServer();
  const watch = (params: InputParams, name: string) => {
    // tx-resource is read by the edge for every operation
    if (!params.declares(name) && name !== 'tx-resource') undeclared.add(name);
  };
  const { first, all } = InputParams.prototype;
  vi.spyOn(InputParams.prototype, 'first').mockImplementation(function (this: InputParams, name: string) {
    watch(this, name);
    return first.call(this, name);
  });
  vi.spyOn(InputParams.prototype, 'all').mockImplementation(function (this: InputParams, name: string) {
    watch(this, name);
    return all.call(this, name);
  });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await server.close();
});

/** The primitive values of a template, as a query string (complex values and resources cannot go in a URL). */
function queryOf(parameter: Record<string, unknown>[]): string {
  const pairs: string[] = [];
  for (const p of parameter) {
    const key = Object.keys(p).find((k) => k.startsWith('value'));
    const value = key ? p[key] : undefined;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      pairs.push(`${encodeURIComponent(String(p.name))}=${encodeURIComponent(String(value))}`);
  }
  return pairs.join('&');
}

const calls = ROUTES.filter((r) => !r.target.instance).flatMap((r) =>
  templatesFor(r.def.code, r.def.parameters).map((t, i) => [`${r.path} #${i + 1}`, r, t] as const),
);

test.each(calls)('%s reads only the parameters it defines', async (_name, route, template) => {
  undeclared.clear();
  const url = `${server.baseUrl}${route.path}`;
  const posted = await fetchFhir(url, postJson({ resourceType: 'Parameters', parameter: template }));
  expect(posted.status).toBeLessThan(500);
  if (route.def.get) {
    const got = await fetchFhir(`${url}?${queryOf(template)}`);
    expect(got.status).toBeLessThan(500);
  }
  expect([...undeclared]).toEqual([]);
});

test('the watch sees an undeclared read', () => {
  undeclared.clear();
  new InputParams([{ name: 'x', value: 'y' }], [{ name: 'code', type: 'code' }]).first('x');
  expect([...undeclared]).toEqual(['x']);
});
