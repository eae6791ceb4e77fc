// Plain-JSON helpers shared by the conformance runner. The runner works on untyped JSON
// (the test files are templates full of `$...$` markers, not valid FHIR), so everything is
// `Json` and narrowed with these guards.

import { readFileSync } from 'node:fs';

export type Json = null | boolean | number | string | Json[] | JsonObject;
export type JsonObject = { [key: string]: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isArray(v: unknown): v is Json[] {
  return Array.isArray(v);
}

export function isPrimitive(v: unknown): v is string | number | boolean | null {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** Deep copy of a JSON value (test files are reused by many tests, so never mutate them). */
export function clone<T extends Json>(v: T): T {
  return structuredClone(v);
}

/** Parse JSON text, tolerating a UTF-8 byte-order mark (several tx-ecosystem files carry one). */
export function parseJson(text: string): Json {
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return JSON.parse(t) as Json;
}

export function readJsonFile(path: string): Json {
  return parseJson(readFileSync(path, 'utf8'));
}

export function str(o: JsonObject, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}

/** The `value[x]` of a FHIR element (Parameters.parameter, Extension, property...). */
export function valueX(o: JsonObject): { key: string; value: Json } | undefined {
  for (const [k, v] of Object.entries(o)) {
    if (k.startsWith('value') && k.length > 5 && k[5] === k[5].toUpperCase()) return { key: k, value: v };
  }
  return undefined;
}

/** Cut a string to at most `max` characters, marking the cut. */
export function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** A short, single-line rendering of a JSON value for messages. */
export function preview(v: unknown, max = 120): string {
  let s: string;
  if (v === undefined) s = '(absent)';
  else s = JSON.stringify(v) ?? String(v);
  return truncate(s, max);
}
