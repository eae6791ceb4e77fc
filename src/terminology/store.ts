import type { CodeSystem, ConceptMap, ValueSet } from '@medplum/fhirtypes';
import { compareVersions } from './versions.ts';

export type TxResourceType = 'CodeSystem' | 'ValueSet' | 'ConceptMap';
export type TxResource = CodeSystem | ValueSet | ConceptMap;
export type TxResourceOf<T extends TxResourceType> = T extends 'CodeSystem'
  ? CodeSystem
  : T extends 'ValueSet'
    ? ValueSet
    : ConceptMap;

export const TX_RESOURCE_TYPES: readonly TxResourceType[] = ['CodeSystem', 'ValueSet', 'ConceptMap'];

export function isTxResource(r: unknown): r is TxResource {
  if (typeof r !== 'object' || r === null) return false;
  const t = (r as { resourceType?: unknown }).resourceType;
  return t === 'CodeSystem' || t === 'ValueSet' || t === 'ConceptMap';
}

/**
 * Holds CodeSystem, ValueSet and ConceptMap resources, several versions per canonical URL.
 * Resources are treated as immutable once added: indexes derived from them are cached by identity.
 */
export class TerminologyStore {
  private readonly byId = new Map<string, TxResource>();
  private readonly byUrl = new Map<string, TxResource[]>();
  private readonly aliases = new Map<string, string>();
  private seq = 0;
  private gen = 0;

  /** Changes whenever the content changes, so caches of derived answers can tell they are stale. */
  get generation(): number {
    return this.gen;
  }

  /** Declares `alias` as another canonical URL of `url` (e.g. the NLK OID and its web URLs). */
  addAlias(type: TxResourceType, alias: string, url: string): void {
    this.aliases.set(`${type}|${alias}`, url);
  }

  /** Every alias: [resource type, alias, canonical URL] (to rebuild the store elsewhere). */
  aliasList(): [string, string, string][] {
    return [...this.aliases].map(([key, url]) => {
      const bar = key.indexOf('|');
      return [key.slice(0, bar), key.slice(bar + 1), url];
    });
  }

  /** The canonical URL an alias stands for, or the URL itself (a resource's own url always wins). */
  canonicalUrl(type: TxResourceType, url: string): string {
    if (this.byUrl.has(`${type}|${url}`)) return url;
    return this.aliases.get(`${type}|${url}`) ?? url;
  }

  add(resource: TxResource): TxResource {
    let id = resource.id;
    if (!id || this.byId.has(`${resource.resourceType}/${id}`)) {
      const base = (id ?? resource.name ?? resource.resourceType).replace(/[^A-Za-z0-9\-.]/g, '-').slice(0, 50);
      do {
        id = `${base}-${++this.seq}`.slice(0, 64);
      } while (this.byId.has(`${resource.resourceType}/${id}`));
      resource = { ...resource, id } as TxResource;
    }
    this.gen++;
    this.byId.set(`${resource.resourceType}/${id}`, resource);
    if (resource.url) {
      const key = `${resource.resourceType}|${resource.url}`;
      const list = this.byUrl.get(key) ?? [];
      list.push(resource);
      // newest version first
      list.sort((a, b) => compareVersions(b.version, a.version));
      this.byUrl.set(key, list);
      // A resource's OID (identifier `urn:ietf:rfc:3986` = `urn:oid:...`) names it too: Norwegian
      // resources (no-basis) use the Volven OIDs as the system of codings. The first one stays.
      const type = resource.resourceType;
      const identifiers = (type === 'ConceptMap' ? [resource.identifier] : (resource.identifier ?? [])) as
        | ({ system?: string; value?: string } | undefined)[]
        | undefined;
      for (const ident of identifiers ?? []) {
        const alias = ident?.system === 'urn:ietf:rfc:3986' ? ident.value : undefined;
        if (alias?.startsWith('urn:oid:') && alias !== resource.url && !this.aliases.has(`${type}|${alias}`)) {
          this.aliases.set(`${type}|${alias}`, resource.url);
        }
      }
    }
    return resource;
  }

  get<T extends TxResourceType>(type: T, id: string): TxResourceOf<T> | undefined {
    return this.byId.get(`${type}/${id}`) as TxResourceOf<T> | undefined;
  }

  /** Every version of a canonical URL, newest first. */
  versions<T extends TxResourceType>(type: T, url: string): TxResourceOf<T>[] {
    return (this.byUrl.get(`${type}|${url}`) ?? []) as TxResourceOf<T>[];
  }

  all<T extends TxResourceType>(type: T): TxResourceOf<T>[] {
    const out: TxResourceOf<T>[] = [];
    for (const r of this.byId.values()) if (r.resourceType === type) out.push(r as TxResourceOf<T>);
    return out;
  }

  get size(): number {
    return this.byId.size;
  }
}
