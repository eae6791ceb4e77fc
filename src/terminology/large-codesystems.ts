import { Worker } from 'node:worker_threads';
import type { CodeSystem } from '@medplum/fhirtypes';
import { attachCompact, type CompactData } from './compact-codesystem.ts';
import { type LargeFile, TerminologyLoadError, withProvenance } from './loader.ts';
import type { TxResource } from './store.ts';

/**
 * The large files of TERMINOLOGY_DATA_DIR (TERMINOLOGY_LARGE_FILE and up), loaded after the server
 * listens (issue 12, item 2). Each file is parsed and indexed in a worker thread
 * (large-codesystem-worker.ts), one file at a time; its code system arrives in the compact layout on
 * shared memory and joins the served data when it is whole, indexed. Until every file is in,
 * `/readyz` answers 503 naming the files still being indexed, and the event loop keeps answering
 * `/healthz` and everything else from the data already in.
 */
export interface LargeLoadStatus {
  /** files not yet served (being indexed or waiting their turn) */
  indexing: string[];
  /** files that could not be loaded, with the reason */
  failed: { name: string; reason: string }[];
  loaded: { name: string; ms: number; concepts?: number }[];
}

export interface LargeLoaderOptions {
  /** adds a file's resources to the data served (throws TerminologyLoadError on a conflict) */
  add(resources: TxResource[]): void;
  /** told of each file loaded or failed (logs) */
  onFile?(note: { name: string; ms: number; concepts?: number; error?: string }): void;
}

const WORKER_URL = new URL('./large-codesystem-worker.ts', import.meta.url);

type WorkerAnswer =
  | { kind: 'compact'; shell: CodeSystem; data: CompactData }
  | { kind: 'resources'; resources: TxResource[] }
  | { kind: 'error'; message: string };

export class LargeCodeSystemLoader {
  private readonly files: readonly LargeFile[];
  private readonly options: LargeLoaderOptions;
  private readonly state: LargeLoadStatus;
  private running?: Promise<void>;

  constructor(files: readonly LargeFile[], options: LargeLoaderOptions) {
    this.files = files;
    this.options = options;
    this.state = { indexing: files.map((f) => f.name), failed: [], loaded: [] };
  }

  /** Whether every large file is served. */
  get ready(): boolean {
    return this.state.indexing.length === 0 && this.state.failed.length === 0;
  }

  status(): LargeLoadStatus {
    return { indexing: [...this.state.indexing], failed: [...this.state.failed], loaded: [...this.state.loaded] };
  }

  /**
   * Loads the files, one after another; resolves when all are in or failed (never rejects).
   * `settle` runs after each file joins the data and before it counts as ready (main.ts: the offload
   * workers take the new data, so that the first request after /readyz does not wait for that).
   */
  start(settle?: () => Promise<void>): Promise<void> {
    this.running ??= (async () => {
      for (const file of this.files) await this.loadOne(file, settle);
    })();
    return this.running;
  }

  private async loadOne(file: LargeFile, settle?: () => Promise<void>): Promise<void> {
    const started = performance.now();
    try {
      const answer = await readInWorker(file);
      if (answer.kind === 'error') throw new TerminologyLoadError(answer.message);
      let concepts: number | undefined;
      if (answer.kind === 'compact') {
        const shell = attachCompact(
          file.provenance ? withProvenance(answer.shell, file.provenance) : answer.shell,
          answer.data,
        );
        concepts = answer.data.count;
        this.options.add([shell]);
      } else {
        this.options.add(
          file.provenance ? answer.resources.map((r) => withProvenance(r, file.provenance!)) : answer.resources,
        );
      }
      await settle?.();
      const ms = Math.round(performance.now() - started);
      this.state.loaded.push({ name: file.name, ms, ...(concepts !== undefined ? { concepts } : {}) });
      this.options.onFile?.({ name: file.name, ms, ...(concepts !== undefined ? { concepts } : {}) });
    } catch (err) {
      const reason = (err as Error).message;
      this.state.failed.push({ name: file.name, reason });
      this.options.onFile?.({ name: file.name, ms: Math.round(performance.now() - started), error: reason });
    } finally {
      this.state.indexing = this.state.indexing.filter((n) => n !== file.name);
    }
  }
}

function readInWorker(file: LargeFile): Promise<WorkerAnswer> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_URL, { workerData: { path: file.path, name: file.name } });
    let answered = false;
    worker.once('message', (msg: WorkerAnswer) => {
      answered = true;
      resolve(msg);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`the loader thread stopped (exit code ${code})`));
    });
  });
}
