import { Worker } from 'node:worker_threads';
import { answersByGrammar } from '../terminology/codesystem-index.ts';
import { type CompactData, compactDataOf } from '../terminology/compact-codesystem.ts';
import type { TerminologyStore, TxResource, TxResourceType } from '../terminology/store.ts';
import type { TerminologySource } from '../terminology-sources.ts';
import type { FhirFormat } from './content.ts';
import type { OperationCall } from './operation-handler.ts';
import { makeIssue, OperationOutcomeError } from './outcome.ts';

/**
 * Worker threads for operations that are too heavy for the event loop (issue 9: one request must
 * never stall the others). An operation first runs on the event loop under a short time budget
 * (operation-handler.ts); when that is spent, it runs again here, in a worker thread that holds
 * its own copy of the data, under the full budget. The event loop meanwhile keeps answering
 * `/healthz`, cached answers and light operations.
 *
 * - Data: the pool sends each worker the resources (and aliases) of the store served now, in
 *   chunks, and again whenever the served data change (a live refresh), before any job that needs
 *   the new data. Each worker holds one copy of the terminology (memory: see README).
 * - Queue: at most `queueLimit` jobs wait; beyond that the answer is 503 with Retry-After.
 * - Watchdog: a job that outlives its deadline by `graceMs` (work that never reached a budget
 *   check) ends its worker, which is replaced; the answer is 422 too-costly.
 */

export interface OffloadJob {
  /** the operation code (`expand`, `validate-code`, ...) */
  operation: string;
  resourceType?: TxResourceType;
  instance: boolean;
  call: OperationCall;
  /** the data generation the request was answered from */
  generation: number;
  /** `_pretty` */
  pretty: boolean;
  /** the format of the answer (default JSON) */
  format?: FhirFormat;
  /** the time the job may take (ms) */
  deadlineMs: number;
  /** the units of work it may spend */
  workLimit: number;
}

export interface OffloadAnswer {
  status: number;
  /**
   * The serialized FHIR body (JSON, or XML when the job asked for it): text, or for a large answer its UTF-8 bytes, encoded in the
   * worker and moved (not copied) to the event loop, which then neither copies nor encodes it.
   */
  body: string | Uint8Array;
}

/** Answers at least this long (characters) leave a worker as moved UTF-8 bytes rather than text. */
export const BYTES_ANSWER_CHARS = 64 * 1024;

export interface OffloadPoolOptions {
  size: number;
  source: TerminologySource;
  /** jobs that may wait for a worker (default 32) */
  queueLimit?: number;
  /** how long past its deadline a job may run before its worker is ended (default 5 s) */
  graceMs?: number;
}

/** Resources per data message: the copy to a worker is spread out, so it never holds the event loop long. */
const CHUNK = 64;

interface Pending {
  id: number;
  job: OffloadJob;
  resolve: (a: OffloadAnswer) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  /** the generation whose data the worker holds (or is receiving) */
  generation: number;
  busy?: Pending;
  timer?: NodeJS.Timeout;
  ready: Promise<void>;
  /** resolves the data being sent when the worker says it is ready */
  onReady?: () => void;
  /**
   * The resources the worker holds, each with the number it knows it by. Resources are immutable
   * once stored (store.ts), so a new generation sends only the resources the worker does not hold
   * and the numbers of those it should drop: a refresh, or a fragment that grew, costs what changed,
   * not a copy of everything (nor, in the worker, a second copy waiting for a garbage collection).
   */
  held: Map<TxResource, number>;
  nextNumber: number;
}

const WORKER_URL = new URL('./offload-worker.ts', import.meta.url);

export class OffloadPool {
  private readonly source: TerminologySource;
  private readonly size: number;
  private readonly queueLimit: number;
  private readonly graceMs: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  /** jobs run, jobs refused for a full queue, workers replaced */
  /** jobs run, refused (queue full), workers replaced, and resources sent to workers (data updates) */
  readonly stats = { run: 0, refused: 0, replaced: 0, resourcesSent: 0 };

  constructor(options: OffloadPoolOptions) {
    this.source = options.source;
    this.size = Math.max(1, options.size);
    this.queueLimit = options.queueLimit ?? 32;
    this.graceMs = options.graceMs ?? 5000;
  }

  /** Starts the workers and gives them the data; resolves when they are ready. */
  async start(): Promise<void> {
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn());
    await Promise.all(this.slots.map((s) => s.ready));
  }

  /** Gives the idle workers the data served now, if they hold older data; resolves when they have it. */
  async refresh(): Promise<void> {
    const generation = this.source.current().generation;
    for (const slot of this.slots) if (!slot.busy && slot.generation !== generation) this.update(slot);
    await Promise.all(this.slots.map((s) => s.ready));
  }

  /** Runs a job in a worker; rejects with a 503 OperationOutcomeError when the queue is full. */
  run(job: OffloadJob): Promise<OffloadAnswer> {
    if (this.closed) return Promise.reject(unavailable('The server is shutting down'));
    if (this.queue.length >= this.queueLimit) {
      this.stats.refused++;
      return Promise.reject(unavailable('Too many heavy requests are waiting; try again in a moment'));
    }
    return new Promise<OffloadAnswer>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, job, resolve, reject });
      this.dispatch();
    });
  }

  /** Jobs waiting and running. */
  get load(): { queued: number; running: number; workers: number } {
    return { queued: this.queue.length, running: this.slots.filter((s) => s.busy).length, workers: this.slots.length };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(unavailable('The server is shutting down'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL);
    worker.unref();
    const slot: Slot = { worker, generation: -1, ready: Promise.resolve(), held: new Map(), nextNumber: 0 };
    worker.on('message', (msg: WorkerMessage) => this.onMessage(slot, msg));
    worker.on('error', () => this.replace(slot, 'the worker failed'));
    worker.on('exit', () => {
      if (!this.closed && this.slots.includes(slot)) this.replace(slot, 'the worker stopped');
    });
    this.update(slot);
    return slot;
  }

  /**
   * Brings a worker to the data served now, after whatever it is receiving: one send at a time per
   * worker, so that two generations never interleave their messages.
   */
  private update(slot: Slot): Promise<void> {
    const run = slot.ready
      .catch(() => undefined)
      .then(() => (slot.generation === this.source.current().generation ? undefined : this.sendData(slot)));
    slot.ready = run;
    return run;
  }

  /**
   * Sends the current data to a worker: the resources it does not hold yet, a chunk at a time,
   * yielding the event loop between chunks; the numbers of those it should drop; and the order of
   * the whole store.
   */
  private async sendData(slot: Slot): Promise<void> {
    const { store, generation } = this.source.current();
    slot.generation = generation;
    const { resources, aliases } = exportStore(store);
    const held = new Map<TxResource, number>();
    const fresh: TxResource[] = [];
    const freshNumbers: number[] = [];
    const order: number[] = [];
    for (const r of resources) {
      let n = held.get(r) ?? slot.held.get(r);
      if (n === undefined) {
        n = slot.nextNumber++;
        fresh.push(r);
        freshNumbers.push(n);
      }
      held.set(r, n);
      order.push(n);
    }
    this.stats.resourcesSent += fresh.length;
    const kept = new Set(held.values());
    const dropped = [...slot.held.values()].filter((n) => !kept.has(n));
    slot.held = held;
    slot.worker.postMessage({ type: 'data-begin', generation, dropped });
    for (let i = 0; i < fresh.length; i += CHUNK) {
      const chunk = fresh.slice(i, i + CHUNK);
      // a large code system goes as its resource without concepts plus its compact arrays, which are
      // on shared memory: the worker reads the same memory, nothing is copied (compact-codesystem.ts)
      const compact: [number, CompactData][] = [];
      // a code system of a grammar loses it in the copy (a symbol): the worker gives it back
      const grammar: number[] = [];
      chunk.forEach((r, at) => {
        const data = r.resourceType === 'CodeSystem' ? compactDataOf(r) : undefined;
        if (data) compact.push([at, data]);
        if (r.resourceType === 'CodeSystem' && answersByGrammar(r)) grammar.push(at);
      });
      slot.worker.postMessage({
        type: 'data-chunk',
        resources: chunk,
        numbers: freshNumbers.slice(i, i + CHUNK),
        compact,
        grammar,
      });
      await new Promise((r) => setImmediate(r));
    }
    // done when the worker has indexed the data (its `ready`), not when the last chunk is posted
    const indexed = new Promise<void>((resolve) => {
      slot.onReady = resolve;
    });
    slot.worker.postMessage({ type: 'data-end', aliases, order });
    await indexed;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.busy) continue;
      const next = this.queue.shift() as Pending;
      slot.busy = next;
      void this.start_(slot, next);
    }
  }

  private async start_(slot: Slot, p: Pending): Promise<void> {
    try {
      if (slot.generation !== this.source.current().generation) this.update(slot);
      await slot.ready;
    } catch (err) {
      slot.busy = undefined;
      p.reject(err);
      this.dispatch();
      return;
    }
    if (slot.busy !== p) return;
    this.stats.run++;
    slot.timer = setTimeout(() => this.replace(slot, 'too-costly'), p.job.deadlineMs + this.graceMs);
    slot.timer.unref();
    // a large body is moved to the worker, not copied
    const raw = p.job.call.rawBody;
    slot.worker.postMessage({ type: 'job', id: p.id, job: p.job }, raw ? [raw.buffer as ArrayBuffer] : []);
  }

  private onMessage(slot: Slot, msg: WorkerMessage): void {
    if (msg.type === 'ready') {
      slot.onReady?.();
      slot.onReady = undefined;
      return;
    }
    const p = slot.busy;
    if (!p || p.id !== msg.id) return;
    clearTimeout(slot.timer);
    slot.busy = undefined;
    p.resolve({ status: msg.status, body: msg.body });
    this.dispatch();
  }

  /** Ends a worker (stuck, failed) and starts another in its place; its job gets an answer. */
  private replace(slot: Slot, why: string): void {
    const i = this.slots.indexOf(slot);
    if (i < 0 || this.closed) return;
    clearTimeout(slot.timer);
    const job = slot.busy;
    slot.busy = undefined;
    this.slots.splice(i, 1);
    void slot.worker.terminate();
    this.stats.replaced++;
    if (job) {
      job.reject(
        why === 'too-costly'
          ? new OperationOutcomeError(422, [
              makeIssue({
                code: 'too-costly',
                txIssueType: 'too-costly',
                text: 'The operation takes longer than this server allows for one request',
              }),
            ])
          : unavailable('The operation could not be completed; try again'),
      );
    }
    const fresh = this.spawn();
    this.slots.push(fresh);
    void fresh.ready.then(() => this.dispatch());
  }
}

type WorkerMessage = { type: 'answer'; id: number; status: number; body: string | Uint8Array } | { type: 'ready' };

function unavailable(text: string): OperationOutcomeError {
  return new OperationOutcomeError(503, [makeIssue({ code: 'transient', text })], { 'Retry-After': '2' });
}

/** The resources and aliases of a store, to rebuild it elsewhere (a worker). */
export function exportStore(store: TerminologyStore): { resources: TxResource[]; aliases: [string, string, string][] } {
  return {
    resources: [...store.all('CodeSystem'), ...store.all('ValueSet'), ...store.all('ConceptMap')],
    aliases: store.aliasList(),
  };
}
