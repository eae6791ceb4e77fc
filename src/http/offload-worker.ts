import { parentPort } from 'node:worker_threads';
import type { CodeSystem, Resource } from '@medplum/fhirtypes';
import { operations } from '../operations/registry.ts';
import type { OperationDef } from '../operations/types.ts';
import { BudgetExceededError, WorkBudget } from '../terminology/budget.ts';
import { attachGrammar } from '../terminology/builtin-codesystems.ts';
import { indexCodeSystem } from '../terminology/codesystem-index.ts';
import { attachCompact, type CompactData } from '../terminology/compact-codesystem.ts';
import { TerminologyStore, type TxResource, type TxResourceType } from '../terminology/store.ts';
import { serialiseAs } from './content.ts';
import { BYTES_ANSWER_CHARS, type OffloadAnswer, type OffloadJob } from './offload.ts';
import { runOperation, tooCostly } from './operation-handler.ts';
import { makeIssue, OperationOutcomeError, outcome } from './outcome.ts';

/**
 * A worker thread of the offload pool (offload.ts): it holds a copy of the served terminology and
 * runs the operations the event loop handed over, each under its full budget, answering with the
 * serialized body. It never touches the network or the disk.
 */

interface Message {
  type: 'data-begin' | 'data-chunk' | 'data-end' | 'job';
  generation?: number;
  /** data-begin: the numbers of the resources no longer served */
  dropped?: number[];
  /** data-chunk: resources not held yet, with their numbers */
  resources?: TxResource[];
  numbers?: number[];
  /** data-end: the numbers of every resource served, in the store's order */
  order?: number[];
  /** the compact layouts of large code systems of the chunk: [position in resources, data] */
  compact?: [number, CompactData][];
  /** the code systems of a grammar in the chunk (their positions in resources) */
  grammar?: number[];
  aliases?: [string, string, string][];
  id?: number;
  job?: OffloadJob;
}

let store = new TerminologyStore();
/**
 * The resources held, by the number the event loop gave them (offload.ts): a new generation brings
 * only the resources not held yet, and a resource kept keeps its object, so its index is not built
 * again (indexes are cached per resource object).
 */
const held = new Map<number, TxResource>();

function definitionOf(job: OffloadJob): OperationDef | undefined {
  return operations.find(
    (d) =>
      d.code === job.operation &&
      (job.resourceType === undefined ? d.system === true : d.resourceTypes.includes(job.resourceType)),
  );
}

async function runJob(job: OffloadJob): Promise<{ status: number; body: string }> {
  const serialise = (value: Resource) => serialiseAs(job.format ?? 'json', value, job.pretty);
  const def = definitionOf(job);
  if (!def) {
    const text = `Operation $${job.operation} cannot run here`;
    return { status: 500, body: serialise(outcome([makeIssue({ code: 'exception', text })])) };
  }
  const budget = new WorkBudget({
    units: job.workLimit,
    deadline: performance.now() + job.deadlineMs,
    onExceeded: 'too-costly',
  });
  try {
    const target = {
      ...(job.resourceType ? { resourceType: job.resourceType as TxResourceType } : {}),
      instance: job.instance,
    };
    const result = await runOperation(def, target, job.call, store, budget);
    return { status: result.status ?? 200, body: serialise(result.resource) };
  } catch (err) {
    const e = err instanceof BudgetExceededError ? tooCostly(err) : err;
    if (e instanceof OperationOutcomeError) return { status: e.status, body: serialise(e.outcome) };
    // a bug: no detail leaves the worker (the main thread logs nothing of the request either)
    const text = 'An unexpected error occurred while processing the request';
    return { status: 500, body: serialise(outcome([makeIssue({ code: 'exception', text })])) };
  }
}

/** A large answer as UTF-8 bytes in a buffer of its own, so that it can be moved to the event loop. */
function asSent(answer: { status: number; body: string }): OffloadAnswer {
  if (answer.body.length < BYTES_ANSWER_CHARS) return answer;
  return { status: answer.status, body: new TextEncoder().encode(answer.body) };
}

parentPort?.on('message', (msg: Message) => {
  switch (msg.type) {
    case 'data-begin':
      for (const n of msg.dropped ?? []) held.delete(n);
      break;
    case 'data-chunk': {
      const resources = msg.resources ?? [];
      const numbers = msg.numbers ?? [];
      for (const [at, data] of msg.compact ?? []) attachCompact(resources[at] as CodeSystem, data);
      for (const at of msg.grammar ?? []) attachGrammar(resources[at] as CodeSystem);
      for (let i = 0; i < resources.length; i++) held.set(numbers[i], resources[i]);
      break;
    }
    case 'data-end': {
      const next = new TerminologyStore();
      for (const n of msg.order ?? []) {
        const r = held.get(n);
        if (r) next.add(r);
      }
      for (const [type, alias, url] of msg.aliases ?? []) next.addAlias(type as TxResourceType, alias, url);
      // no request pays for an index: they are built when the data arrive (only the new ones: a
      // resource kept has its index already)
      for (const cs of next.all('CodeSystem')) indexCodeSystem(cs);
      store = next;
      parentPort?.postMessage({ type: 'ready' });
      break;
    }
    case 'job': {
      const id = msg.id as number;
      void runJob(msg.job as OffloadJob).then((answer) => {
        const out = asSent(answer);
        const moved = typeof out.body === 'string' ? [] : [out.body.buffer as ArrayBuffer];
        parentPort?.postMessage({ type: 'answer', id, ...out }, moved);
      });
      break;
    }
  }
});
