import type { CodeSystem, ConceptMap, ValueSet } from '@medplum/fhirtypes';
import { UNLIMITED_BUDGET, type WorkBudget } from './budget.ts';
import type { TerminologyStore, TxResource, TxResourceOf, TxResourceType } from './store.ts';
import { type DaySpan, effectivePeriod, spanCovers } from './validity.ts';
import { compareVersions, isWildcardVersion, splitCanonical, versionMatches } from './versions.ts';

export interface TxContextOptions {
  /**
   * The request's `date` (`yyyy-MM-dd`, validity.ts parseDateParameter): a versionless reference
   * resolves to the version in effect that day, and concepts are judged as on that day.
   */
  date?: string;
  /** the work budget of the request (budget.ts); unlimited when absent */
  budget?: WorkBudget;
}

/** A resource version with the effective period it states. */
export interface DatedVersion<T> {
  resource: T;
  version?: string;
  period: DaySpan;
}

/** Why a versionless reference found nothing on the request's date (TxContext.missAtDate). */
export interface MissAtDate {
  url: string;
  date: string;
  /** the versions that state a period, oldest first */
  versions: DatedVersion<TxResource>[];
}

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
  /** the request's `date`, `yyyy-MM-dd` (TxContextOptions) */
  readonly date?: string;
  /** the request's work budget: the engine spends units on it as it works */
  readonly budget: WorkBudget;

  constructor(store: TerminologyStore, overlay: TxResource[] = [], options: TxContextOptions = {}) {
    this.store = store;
    this.overlayResources = [...overlay];
    if (options.date !== undefined) this.date = options.date;
    this.budget = options.budget ?? UNLIMITED_BUDGET;
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

  /** This view of terminology as on another day (`undefined`: no date). */
  atDate(date: string | undefined): TxContext {
    if (date === this.date) return this;
    return new TxContext(this.store, [...this.overlayResources], {
      ...(date === undefined ? {} : { date }),
      budget: this.budget,
    });
  }

  /** This view with more `tx-resource`s (later ones win), on the same day. */
  withResources(extra: readonly TxResource[]): TxContext {
    return new TxContext(this.store, [...this.overlayResources, ...extra], {
      ...(this.date === undefined ? {} : { date: this.date }),
      budget: this.budget,
    });
  }

  /**
   * Resolves a canonical reference (`url`, `url|version`, or `url` plus an explicit version,
   * which may be a wildcard pattern such as `1.x`); a versionless one on the request's date
   * (resolveAt).
   */
  resolve<T extends TxResourceType>(type: T, canonical: string, version?: string): TxResourceOf<T> | undefined {
    return this.resolveAt(type, canonical, version, this.date);
  }

  /**
   * Resolves a canonical reference as on `date`. An explicit version wins over the date. Without
   * one, when the canonical's versions state effective periods (validity.ts), the date picks the
   * version whose period covers it (the newest, should several), and none covering it is no
   * version at all (missAtDate says why); versions without a period are then never picked. A
   * canonical none of whose versions states a period resolves as without a date: the newest
   * version, tx-resources first.
   */
  resolveAt<T extends TxResourceType>(
    type: T,
    canonical: string,
    version: string | undefined,
    date: string | undefined,
  ): TxResourceOf<T> | undefined {
    const split = splitCanonical(canonical);
    const wanted = version ?? split.version;
    const url = this.store.canonicalUrl(type, split.url);
    if (wanted === undefined) {
      if (date !== undefined) {
        const dated = this.datedVersions(type, url);
        if (dated.length > 0) return dated.find((d) => spanCovers(d.period, date))?.resource;
      }
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

  /** The versions of a canonical that state an effective period, newest first. */
  datedVersions<T extends TxResourceType>(type: T, url: string): DatedVersion<TxResourceOf<T>>[] {
    const out: DatedVersion<TxResourceOf<T>>[] = [];
    for (const resource of this.versions(type, url)) {
      const period = effectivePeriod(resource);
      if (!period) continue;
      out.push({ resource, ...(resource.version !== undefined ? { version: resource.version } : {}), period });
    }
    return out;
  }

  /**
   * Why a versionless `canonical` resolves to nothing on the request's date: its versions state
   * effective periods and none covers the date. Undefined when that is not the reason (no date,
   * an explicit version, no dated versions, or a version that does cover the date).
   */
  missAtDate(type: TxResourceType, canonical: string): MissAtDate | undefined {
    const date = this.date;
    if (date === undefined) return undefined;
    const split = splitCanonical(canonical);
    if (split.version !== undefined) return undefined;
    const url = this.store.canonicalUrl(type, split.url);
    const dated: DatedVersion<TxResource>[] = this.datedVersions(type, url);
    if (dated.length === 0 || dated.some((d) => spanCovers(d.period, date))) return undefined;
    return { url, date, versions: dated.reverse() };
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

  /** CodeSystem supplements that target the given code system (`CodeSystem.supplements`), sent ones first. */
  supplementsFor(url: string, version?: string): CodeSystem[] {
    const fits = (cs: CodeSystem): boolean => {
      if (!cs.supplements) return false;
      const target = splitCanonical(cs.supplements);
      if (this.store.canonicalUrl('CodeSystem', target.url) !== url) return false;
      return target.version === undefined || version === undefined || versionMatches(target.version, version);
    };
    const sent = this.overlayResources.filter((r): r is CodeSystem => r.resourceType === 'CodeSystem' && fits(r));
    const stored = this.store.supplementsOf(url).filter((cs) => fits(cs) && !sent.some((s) => s.url === cs.url));
    return [...sent, ...stored];
  }
}
