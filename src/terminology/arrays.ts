/**
 * An element that must be an array, read as one: anything else reads as empty. Requests are refused
 * at the edge when malformed (http/resource-shape.ts); the engine still reads only arrays, so that
 * data that skipped the edge (a loaded file, a worker's copy) cannot make it throw.
 */
export function arrayOf<T>(v: T[] | undefined): T[] {
  return Array.isArray(v) ? v : [];
}
