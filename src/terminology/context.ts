import type { CodeSystem, ConceptMap, ValueSet } from '@medplum/fhirtypes';
import type { TerminologyStore, TxResource, TxResourceOf, TxResourceType } from './store.ts';
import { compareVersions, isWildcardVersion, splitCanonical, versionMatches } from './versions.ts';

/**
 * The view of terminology one request sees: the stored resources plus the request's
 * `tx-resource` parameters as a read-only overlay that is never persisted
 * (tx-ecosystem IG, "CodeSystemAsParameter"). Overlay resources win over stored ones of the
 * same `url|version`; a plain `url` resolves to the newest version, overlay first.
 */
export class TxContext {
  readonly store: TerminologyStore;
  private readonly overlay: Map<string, TxResource[]>;
  /**
   * The tx-resource parameters as given, duplicates of one `url|version` included: $translate
   * considers every ConceptMap the client sent, as tx.fhir.org does (the translate suite sends
   * two maps with the same canonical).
   */
  readonly overlayResources: readonly TxResource[];

  constructor(store: TerminologyStore, overlay: TxResource[] = []) {
    this.store = store;
    this.overlayResources = [...overlay];
    this.overlay = new Map();
    for (const r of overlay) {
      if (!r.url) continue;
      const key = `${r.resourceType}|${r.url}`;
      const list = this.overlay.get(key) ?? [];
      // a later tx-resource with the same url|version replaces an earlier one
      const same = list.findIndex((x) => x.version === r.version);
      if (same >= 0) list[same] = r;
      else list.push(r);
      list.sort((a, b) => compareVersions(b.version, a.version));
      this.overlay.set(key, list);
    }
  }

  /** Every known version of a canonical, newest first, overlay versions replacing stored ones. */
  versions<T extends TxResourceType>(type: T, url: string): TxResourceOf<T>[] {
    const canonicalUrl = this.store.canonicalUrl(type, url);
    const mine = (this.overlay.get(`${type}|${canonicalUrl}`) ?? []) as TxResourceOf<T>[];
    const stored = this.store.versions(type, canonicalUrl);
    if (mine.length === 0) return stored;
    const seen = new Set(mine.map((r) => r.version ?? ''));
    const merged = [...mine, ...stored.filter((r) => !seen.has(r.version ?? ''))];
    return merged.sort((a, b) => compareVersions(b.version, a.version));
  }

  /**
   * Resolves a canonical reference (`url`, `url|version`, or `url` plus an explicit version,
   * which may be a wildcard pattern such as `1.x`).
   */
  resolve<T extends TxResourceType>(type: T, canonical: string, version?: string): TxResourceOf<T> | undefined {
    const split = splitCanonical(canonical);
    const wanted = version ?? split.version;
    const url = this.store.canonicalUrl(type, split.url);
    if (wanted === undefined) {
      const mine = this.overlay.get(`${type}|${url}`);
      if (mine && mine.length > 0) return mine[0] as TxResourceOf<T>;
      return this.store.versions(type, url)[0];
    }
    const all = this.versions(type, url);
    const exact = all.find((r) => r.version === wanted);
    if (exact) return exact;
    if (isWildcardVersion(wanted)) return all.find((r) => versionMatches(wanted, r.version));
    return undefined;
  }

  codeSystem(canonical: string, version?: string): CodeSystem | undefined {
    return this.resolve('CodeSystem', canonical, version);
  }

  valueSet(canonical: string, version?: string): ValueSet | undefined {
    return this.resolve('ValueSet', canonical, version);
  }

  conceptMap(canonical: string, version?: string): ConceptMap | undefined {
    return this.resolve('ConceptMap', canonical, version);
  }

  /** All resources of a type visible to this request (overlay first). */
  all<T extends TxResourceType>(type: T): TxResourceOf<T>[] {
    const out: TxResourceOf<T>[] = [];
    for (const [key, list] of this.overlay) if (key.startsWith(`${type}|`)) out.push(...(list as TxResourceOf<T>[]));
    const shadowed = new Set(out.map((r) => `${r.url}|${r.version ?? ''}`));
    for (const r of this.store.all(type)) if (!shadowed.has(`${r.url}|${r.version ?? ''}`)) out.push(r);
    return out;
  }

  /** CodeSystem supplements that target the given code system (`CodeSystem.supplements`). */
  supplementsFor(url: string, version?: string): CodeSystem[] {
    return this.all('CodeSystem').filter((cs) => {
      if (cs.content !== 'supplement' || !cs.supplements) return false;
      const target = splitCanonical(cs.supplements);
      if (target.url !== url) return false;
      return target.version === undefined || version === undefined || versionMatches(target.version, version);
    });
  }
}
