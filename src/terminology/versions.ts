/**
 * Version comparison for canonical resources. FHIR does not mandate an algorithm; like the
 * reference servers we compare dotted numeric parts numerically when both look like semver,
 * dates as strings, and otherwise fall back to plain string order.
 */
export function compareVersions(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  const n = Math.max(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x) ? Number(x) : Number.NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : Number.NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) {
      if (nx !== ny) return nx - ny;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

/**
 * Whether `actual` matches a version pattern. `x` or `*` segments are wildcards
 * (e.g. `1.x` matches `1.0.0` and `1.2`), as used by ValueSet version pinning in the tx tests.
 */
export function versionMatches(pattern: string, actual: string | undefined): boolean {
  if (actual === undefined) return false;
  if (pattern === actual) return true;
  if (!isWildcardVersion(pattern)) return false;
  const pp = pattern.split('.');
  const pa = actual.split('.');
  for (let i = 0; i < pp.length; i++) {
    const seg = pp[i];
    if (seg === 'x' || seg === '*' || seg === 'X') continue;
    if (pa[i] !== seg) return false;
  }
  return true;
}

export function isWildcardVersion(v: string): boolean {
  return v.split('.').some((s) => s === 'x' || s === '*' || s === 'X');
}

/** Splits `url|version` canonical references. */
export function splitCanonical(canonical: string): { url: string; version?: string } {
  // a canonical that is not a string (malformed input the edge refuses) names nothing
  if (typeof canonical !== 'string') return { url: '' };
  const i = canonical.indexOf('|');
  if (i < 0) return { url: canonical };
  const version = canonical.slice(i + 1);
  return { url: canonical.slice(0, i), version: version === '' ? undefined : version };
}
