import type { InputParams } from '../http/params.ts';
import { splitCanonical, versionMatches } from './versions.ts';

/**
 * The version-control parameters shared by $expand and $validate-code
 * (http://hl7.org/fhir/R4/valueset-operation-expand.html, and the tx-ecosystem IG):
 * - `system-version` (url|version): the version to use when the value set or coding does not say;
 * - `check-system-version` (url|version): the version used must match (wildcards allowed), else error;
 * - `force-system-version` (url|version): use this version whatever the value set or coding says.
 */
export interface VersionRules {
  defaults: Map<string, string>;
  checks: Map<string, string>;
  forces: Map<string, string>;
}

function collect(params: InputParams, name: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const value of params.strings(name)) {
    const { url, version } = splitCanonical(value);
    if (version !== undefined) out.set(url, version);
  }
  return out;
}

export function parseVersionRules(params: InputParams): VersionRules {
  return {
    defaults: collect(params, 'system-version'),
    checks: collect(params, 'check-system-version'),
    forces: collect(params, 'force-system-version'),
  };
}

/**
 * default-valueset-version / check-valueset-version / force-valueset-version (url|version each).
 * `valueset-version` is read as default-valueset-version: the HL7 tests' default-valueset-version
 * suite sends it to $validate-code, and the reference server honours it.
 */
export function parseValueSetVersionRules(params: InputParams): VersionRules {
  const defaults = collect(params, 'valueset-version');
  for (const [url, version] of collect(params, 'default-valueset-version')) defaults.set(url, version);
  return {
    defaults,
    checks: collect(params, 'check-valueset-version'),
    forces: collect(params, 'force-valueset-version'),
  };
}

export const NO_VERSION_RULES: VersionRules = { defaults: new Map(), checks: new Map(), forces: new Map() };

export type VersionSource = 'force' | 'specified' | 'default' | 'none';

/** Which version of `url` to use, given the version the value set or coding specified (if any). */
export function pickVersion(
  rules: VersionRules,
  url: string,
  specified: string | undefined,
): { version?: string; source: VersionSource } {
  const forced = rules.forces.get(url);
  if (forced !== undefined) return { version: forced, source: 'force' };
  if (specified !== undefined) return { version: specified, source: 'specified' };
  const dflt = rules.defaults.get(url);
  if (dflt !== undefined) return { version: dflt, source: 'default' };
  return { source: 'none' };
}

/** The required version pattern when `check-system-version` names this system and `actual` does not match it. */
export function failedVersionCheck(rules: VersionRules, url: string, actual: string | undefined): string | undefined {
  const wanted = rules.checks.get(url);
  if (wanted === undefined) return undefined;
  return versionMatches(wanted, actual) ? undefined : wanted;
}

/**
 * The rules with the value set's own system-version parameters added (`valueset-expansion-parameter`
 * extensions, `own`: name to url|version), where the request named no version for that system: "a
 * default parameter to use when expanding this value set", which the client's parameter overrides.
 */
export function withValueSetDefaults(
  rules: VersionRules | undefined,
  own: ReadonlyMap<string, string>,
): VersionRules | undefined {
  const names: [string, keyof VersionRules][] = [
    ['system-version', 'defaults'],
    ['check-system-version', 'checks'],
    ['force-system-version', 'forces'],
  ];
  if (!names.some(([n]) => own.has(n))) return rules;
  const base = rules ?? NO_VERSION_RULES;
  const merged: VersionRules = {
    defaults: new Map(base.defaults),
    checks: new Map(base.checks),
    forces: new Map(base.forces),
  };
  for (const [n, kind] of names) {
    const { url, version } = splitCanonical(own.get(n) ?? '');
    if (version !== undefined && !merged[kind].has(url)) merged[kind].set(url, version);
  }
  return merged;
}
