import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  Bundle,
  HealthcareService,
  Identifier,
  Location,
  OperationOutcome,
  Organization,
  Resource,
} from '@medplum/fhirtypes';
import express from 'express';
import { expect } from 'vitest';
import { directoryRouter } from '../../src/directory/directory-routes.ts';
import type { DirectoryService } from '../../src/directory/directory-service.ts';
import { errorHandler, unknownRoute } from '../../src/http/errors.ts';
import { createLogger } from '../../src/http/log.ts';
import { fetchFhir } from '../support/fhir.ts';

/**
 * A small Express app for HTTP-level directory tests: the directory routers under /fhir plus the
 * project's 404 and error handlers, as the lead will mount them in createApp (app.ts is not ours to
 * edit). Listens on 127.0.0.1; paging links use the real address.
 */

export interface DirectoryTestApp {
  /** e.g. http://127.0.0.1:41234/fhir */
  baseUrl: string;
  get<T extends Resource = Resource>(
    path: string,
    init?: RequestInit,
  ): Promise<{ status: number; headers: Headers; body: T }>;
  close(): Promise<void>;
}

export async function startDirectoryApp(directory: DirectoryService): Promise<DirectoryTestApp> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}/fhir`;
  const app = express();
  app.set('query parser', 'simple');
  app.set('case sensitive routing', true);
  app.use('/fhir', directoryRouter({ directory, baseUrl }));
  app.use(unknownRoute());
  app.use(errorHandler(createLogger('silent')));
  server.on('request', app);
  return {
    baseUrl,
    get: (path, init) => fetchFhir(path.startsWith('http') ? path : `${baseUrl}${path}`, init),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

// --- Assertions ------------------------------------------------------------------------------

export const ENH = 'urn:oid:2.16.578.1.12.4.1.4.101';
export const RESH = 'urn:oid:2.16.578.1.12.4.1.4.102';
const NO_BASIS = 'http://hl7.no/fhir/StructureDefinition/no-basis-';
const VOLVEN_8628 = 'urn:oid:2.16.578.1.12.4.1.1.8628';
const VOLVEN_8624 = 'urn:oid:2.16.578.1.12.4.1.1.8624';
const VOLVEN_8655 = 'urn:oid:2.16.578.1.12.4.1.1.8655';
const MUNICIPALITY = 'http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode';

export const matches = <T extends Resource>(b: Bundle): T[] =>
  (b.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource as T);
export const included = (b: Bundle): Resource[] =>
  (b.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => e.resource as Resource);
export const outcomes = (b: Bundle): OperationOutcome[] =>
  (b.entry ?? []).filter((e) => e.search?.mode === 'outcome').map((e) => e.resource as OperationOutcome);
export const ids = (rs: readonly Resource[]): string[] => rs.map((r) => r.id as string).sort();
export const links = (b: Bundle): Record<string, string> =>
  Object.fromEntries((b.link ?? []).map((l) => [l.relation, l.url]));

function checkIdentifiers(ids: Identifier[] | undefined, what: string): void {
  for (const i of ids ?? []) {
    // the ENH and RSH slices: system fixed, system and value 1..1
    if (i.system === ENH) expect(i.value, `${what}: ENH value`).toMatch(/^\d{9}$/);
    if (i.system === RESH) expect(i.value, `${what}: RSH value`).toMatch(/^\S+$/);
  }
}

/** The no-basis-Organization constraints (research/norway-fhir.md §1.2), explicitly. */
export function expectNoBasisOrganization(o: Organization): void {
  expect(o.meta?.profile).toContain(`${NO_BASIS}Organization`);
  expect((o.identifier ?? []).length > 0 || o.name !== undefined, 'org-1: a name or an identifier').toBe(true);
  checkIdentifiers(o.identifier, `Organization/${o.id}`);
  for (const t of o.type ?? []) {
    for (const c of t.coding ?? []) {
      if (c.system === VOLVEN_8628) expect(['1', '2', '3', '9']).toContain(c.code);
      if (c.system === VOLVEN_8624) expect(c.code).toMatch(/^\d{2}$/);
    }
  }
  if (o.partOf) expect(o.partOf.reference).toMatch(/^Organization\/[A-Za-z0-9\-.]{1,64}$/);
  for (const a of o.address ?? []) expectNoBasisAddress(a);
}

/** no-basis-HealthcareService: providedBy with an ENH or RESH identifier; 8655 codings with a code; Location refs. */
export function expectNoBasisHealthcareService(h: HealthcareService): void {
  expect(h.meta?.profile).toContain(`${NO_BASIS}HealthcareService`);
  // invariants no-basis-providedBy-identifier and no-basis-identifier-system
  expect(h.providedBy?.reference).toMatch(/^Organization\//);
  expect([ENH, RESH]).toContain(h.providedBy?.identifier?.system);
  expect(h.providedBy?.identifier?.value).toBeTruthy();
  for (const s of h.specialty ?? []) {
    for (const c of s.coding ?? []) if (c.system === VOLVEN_8655) expect(c.code).toMatch(/^S\d+$/);
  }
  for (const l of h.location ?? []) expect(l.reference).toMatch(/^Location\//);
  for (const t of h.type ?? []) for (const c of t.coding ?? []) expect(c.system).toBe('http://snomed.info/sct');
}

/** no-basis-Location: address a no-basis-Address; managingOrganization version-specific. */
export function expectNoBasisLocation(l: Location): void {
  expect(l.meta?.profile).toContain(`${NO_BASIS}Location`);
  if (l.address) expectNoBasisAddress(l.address);
  expect(l.managingOrganization?.reference).toMatch(/^Organization\/[A-Za-z0-9\-.]+\/_history\/[0-9a-f]{16}$/);
}

/** no-basis-Address: 4-digit postnummer, city = poststed, municipalitycode on district (one, a Coding with a 4-digit code). */
export function expectNoBasisAddress(a: NonNullable<Location['address']>): void {
  if (a.postalCode !== undefined) expect(a.postalCode).toMatch(/^\d{4}$/);
  if (a.postalCode !== undefined) expect(a.city).toBeTruthy();
  const ext = (a as { _district?: { extension?: { url: string; valueCoding?: { system?: string; code?: string } }[] } })
    ._district?.extension;
  const codes = (ext ?? []).filter((e) => e.url === MUNICIPALITY);
  expect(codes.length).toBeLessThanOrEqual(1);
  for (const e of codes) {
    expect(e.valueCoding?.system).toBe('urn:oid:2.16.578.1.12.4.1.1.3402');
    expect(e.valueCoding?.code).toMatch(/^\d{4}$/);
  }
}

/** Every directory resource names its source and licence and never claims to be published by us. */
export function expectSourceAndLicence(r: Resource, source: string, tagCode: string): void {
  expect(r.meta?.source).toBe(source);
  expect(r.meta?.tag).toContainEqual(
    expect.objectContaining({ system: 'https://no-fhir-facade.example/fhir/CodeSystem/datakilde', code: tagCode }),
  );
  expect(r.meta?.extension).toContainEqual({
    url: 'https://no-fhir-facade.example/fhir/StructureDefinition/source-licence',
    valueString: 'Norsk lisens for offentlige data (NLOD) 2.0 (https://data.norge.no/nlod/no/2.0)',
  });
  expect(r.meta?.tag?.some((t) => t.code === 'HTEST' || t.code === 'synthetic')).toBe(false);
  expect((r as { publisher?: string }).publisher).toBeUndefined();
}

/** Every resource of a search, following `next` links. */
export async function allPages<T extends Resource>(app: DirectoryTestApp, path: string): Promise<T[]> {
  const out: T[] = [];
  let url: string | undefined = `${app.baseUrl}${path}`;
  while (url) {
    const res: { status: number; body: Bundle } = await app.get<Bundle>(url);
    expect(res.status).toBe(200);
    out.push(...matches<T>(res.body));
    url = links(res.body).next;
  }
  return out;
}
