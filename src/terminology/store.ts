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
  /** per type: canonical URL -> versions, newest first (maps per type: no key strings to build per look-up) */
  private readonly byUrl: Record<TxResourceType, Map<string, TxResource[]>> = {
    CodeSystem: new Map(),
    ValueSet: new Map(),
    ConceptMap: new Map(),
  };
  /** per type: alias -> canonical URL */
  private readonly aliases: Record<TxResourceType, Map<string, string>> = {
    CodeSystem: new Map(),
    ValueSet: new Map(),
    ConceptMap: new Map(),
  };
  private seq = 0;
  private gen = 0;

  /** Changes whenever the content changes, so caches of derived answers can tell they are stale. */
  get generation(): number {
    return this.gen;
  }

  /** Declares `alias` as another canonical URL of `url` (e.g. the NLK OID and its web URLs). */
  addAlias(type: TxResourceType, alias: string, url: string): void {
    if (this.aliases[type].get(alias) === url) return;
    // an alias changes answers (a coding's system may now be known): caches must see a new generation
    this.gen++;
    this.aliases[type].set(alias, url);
  }

  /** Every alias: [resource type, alias, canonical URL] (to rebuild the store elsewhere). */
  aliasList(): [string, string, string][] {
    const out: [string, string, string][] = [];
    for (const type of TX_RESOURCE_TYPES) for (const [alias, url] of this.aliases[type]) out.push([type, alias, url]);
    return out;
  }

  /** The canonical URL an alias stands for, or the URL itself (a resource's own url always wins). */
  canonicalUrl(type: TxResourceType, url: string): string {
    if (this.byUrl[type].has(url)) return url;
    return this.aliases[type].get(url) ?? url;
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
      const byUrl = this.byUrl[resource.resourceType];
      const list = byUrl.get(resource.url) ?? [];
      list.push(resource);
      // newest version first
      list.sort((a, b) => compareVersions(b.version, a.version));
      byUrl.set(resource.url, list);
      // A resource's OID (identifier `urn:ietf:rfc:3986` = `urn:oid:...`) names it too: Norwegian
      // resources (no-basis) use the Volven OIDs as the system of codings. The first one stays.
      const type = resource.resourceType;
      const identifiers = (type === 'ConceptMap' ? [resource.identifier] : (resource.identifier ?? [])) as
        | ({ system?: string; value?: string } | undefined)[]
        | undefined;
      for (const ident of identifiers ?? []) {
        const alias = ident?.system === 'urn:ietf:rfc:3986' ? ident.value : undefined;
        if (alias?.startsWith('urn:oid:') && alias !== resource.url && !this.aliases[type].has(alias)) {
          this.aliases[type].set(alias, resource.url);
        }
      }
    }
    return resource;
  }

  private supplementIndex?: { gen: number; map: Map<string, CodeSystem[]> };

  /** The supplements stored for a code system (`CodeSystem.supplements` naming `url`, any version). */
  supplementsOf(url: string): CodeSystem[] {
    if (this.supplementIndex?.gen !== this.gen) {
      const map = new Map<string, CodeSystem[]>();
      for (const cs of this.all('CodeSystem')) {
        if (typeof cs.supplements !== 'string') continue;
        const bar = cs.supplements.indexOf('|');
        const target = this.canonicalUrl('CodeSystem', bar < 0 ? cs.supplements : cs.supplements.slice(0, bar));
        const list = map.get(target) ?? [];
        list.push(cs);
        map.set(target, list);
      }
      this.supplementIndex = { gen: this.gen, map };
    }
    return this.supplementIndex.map.get(url) ?? [];
  }

  get<T extends TxResourceType>(type: T, id: string): TxResourceOf<T> | undefined {
    return this.byId.get(`${type}/${id}`) as TxResourceOf<T> | undefined;
  }

  /** Every version of a canonical URL, newest first. */
  versions<T extends TxResourceType>(type: T, url: string): TxResourceOf<T>[] {
    return (this.byUrl[type].get(url) ?? []) as TxResourceOf<T>[];
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
