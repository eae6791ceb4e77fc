/**
 * The V8 flags the service is started with (`npm start`, `npm run demo`, `.ci/run`, the benchmarks).
 *
 * `--no-memory-pool-share-memory-on-teardown`: since V8 14 (Node 26), the heap of a worker thread
 * that ends is handed to a process-wide pool and given back to the system only at a garbage
 * collection of another thread some seconds later. A server that has just loaded a large code
 * system in a worker (terminology/large-codesystems.ts) and then sits idle would keep the loader's
 * whole heap (hundreds of MB for a million concepts) until traffic comes; so would a replaced
 * offload worker. With the flag, an ended thread's memory is returned when it ends.
 * V8 flags cannot be set through NODE_OPTIONS nor after start-up, so they go on the command line.
 */
export const NODE_FLAGS: readonly string[] = ['--no-memory-pool-share-memory-on-teardown'];

/** The flags of NODE_FLAGS this process was started without. */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return NODE_FLAGS.filter((f) => !execArgv.includes(f));
}
