import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CodeSystem } from '@medplum/fhirtypes';
import { attachCompact, type CompactData } from './compact-codesystem.ts';
import type { ReaderHeader } from './large-codesystem-reader.ts';
import { type LargeFile, TerminologyLoadError, withProvenance } from './loader.ts';
import type { TxResource } from './store.ts';

/**
 * The large files of TERMINOLOGY_DATA_DIR (TERMINOLOGY_LARGE_FILE and up), loaded after the server
 * listens (issue 12, item 2). Each file is parsed and indexed in a process of its own
 * (large-codesystem-reader.ts), one file at a time; its code system arrives in the compact layout,
 * streamed into shared memory (which the offload workers then read without a copy), and joins the
 * served data when it is whole, indexed. A process rather than a worker thread: everything the
 * reading used returns to the system when it ends (a thread's heap and malloc arenas stayed resident,
 * some 60-300 MB for a million concepts). Until every file is in,
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

const READER = fileURLToPath(new URL('./large-codesystem-reader.ts', import.meta.url));

type ReadAnswer =
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
      const answer = await readInProcess(file);
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

/** Runs the reader on one file and takes its answer from stdout (large-codesystem-reader.ts). */
function readInProcess(file: LargeFile): Promise<ReadAnswer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [READER, file.path, file.name], { stdio: ['ignore', 'pipe', 'ignore'] });
    const head: Buffer[] = [];
    let headBytes = 0;
    let needed = -1;
    let header: ReaderHeader | undefined;
    let body: Uint8Array | undefined;
    let filled = 0;
    const take = (chunk: Buffer): void => {
      if (body) {
        const n = Math.min(chunk.length, body.length - filled);
        body.set(chunk.subarray(0, n), filled);
        filled += n;
        return;
      }
      head.push(chunk);
      headBytes += chunk.length;
      if (headBytes < 4) return;
      if (needed < 0) {
        const first = head.length === 1 ? head[0] : Buffer.concat(head);
        head.splice(0, head.length, first);
        needed = 4 + first.readUInt32BE(0);
      }
      // joined once, when the whole header is in (a Bundle's header can be many MB)
      if (headBytes < needed) return;
      const joined = Buffer.concat(head);
      head.length = 0;
      header = JSON.parse(joined.toString('utf8', 4, needed)) as ReaderHeader;
      // the arrays go to shared memory as they arrive: the offload workers read the same bytes
      if (header.kind === 'compact') {
        body = new Uint8Array(new SharedArrayBuffer(header.bytes));
        take(joined.subarray(needed));
      }
    };
    // a server that stops while a file is read does not leave the reader running
    const stop = (): void => {
      child.kill();
    };
    process.once('exit', stop);
    // an answer that cannot be read (it never should: the reader is ours) fails this file, not the server
    let unreadable = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (unreadable) return;
      try {
        take(chunk);
      } catch {
        unreadable = true;
        child.kill();
      }
    });
    child.once('error', reject);
    child.once('close', (code) => {
      process.off('exit', stop);
      if (unreadable) {
        reject(new Error('the loader process gave an answer that cannot be read'));
        return;
      }
      if (!header || (header.kind === 'compact' && filled !== body?.length)) {
        reject(new Error(`the loader process stopped before it answered (exit code ${code})`));
        return;
      }
      if (header.kind !== 'compact') {
        resolve(header as ReadAnswer);
        return;
      }
      try {
        resolve({ kind: 'compact', shell: header.shell, data: compactFrom(header, (body as Uint8Array).buffer) });
      } catch {
        reject(new Error('the loader process gave an answer that cannot be read'));
      }
    });
  });
}

/** The compact arrays as views on the bytes received, where the header says they lie. */
function compactFrom(header: Extract<ReaderHeader, { kind: 'compact' }>, buffer: ArrayBufferLike): CompactData {
  const data: Record<string, unknown> = { count: header.count };
  for (const [name, type, offset, length] of header.parts) {
    data[name] = type === 'u8' ? new Uint8Array(buffer, offset, length) : new Int32Array(buffer, offset, length);
  }
  return data as unknown as CompactData;
}
