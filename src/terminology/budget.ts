/**
 * Work budgets: every terminology operation runs under one, so that no request can keep the
 * process busy without bound (one request must never stall the others).
 *
 * The engine spends units as it works (concepts visited, codes emitted, value sets prepared,
 * items of a batch) and the budget checks the clock every so many units. Two limits apply:
 * - `units`: the most work the request may do at all;
 * - `deadline`: a point in time (performance.now() milliseconds).
 * What happens at the limit is the caller's choice (`onExceeded`): `too-costly` ends the request
 * with an OperationOutcome (422, issue type `too-costly`); `offload` says the work is heavier than
 * the event loop should carry, so the caller runs it again where it may take longer (a worker).
 */

export type BudgetExhaustion = 'too-costly' | 'offload';

export interface WorkBudgetOptions {
  /** the most units of work the request may spend; unlimited when absent */
  units?: number;
  /** performance.now() value after which the work must stop; none when absent */
  deadline?: number;
  /** what exceeding the budget means (default `too-costly`) */
  onExceeded?: BudgetExhaustion;
}

/** Thrown when a budget is spent: the work stops where it is. */
export class BudgetExceededError extends Error {
  readonly kind: BudgetExhaustion;
  /** `units` or `time` */
  readonly limit: 'units' | 'time';
  constructor(kind: BudgetExhaustion, limit: 'units' | 'time') {
    super(
      limit === 'units'
        ? 'The operation needs more work than this server allows for one request'
        : 'The operation takes longer than this server allows for one request',
    );
    this.name = 'BudgetExceededError';
    this.kind = kind;
    this.limit = limit;
  }
}

/** How many units pass between two looks at the clock. */
const CLOCK_EVERY = 512;

export class WorkBudget {
  private readonly maxUnits: number;
  private readonly deadline: number;
  private readonly onExceeded: BudgetExhaustion;
  private spent = 0;
  private nextClock = CLOCK_EVERY;

  constructor(options: WorkBudgetOptions = {}) {
    this.maxUnits = options.units ?? Number.POSITIVE_INFINITY;
    this.deadline = options.deadline ?? Number.POSITIVE_INFINITY;
    this.onExceeded = options.onExceeded ?? 'too-costly';
  }

  /** Units spent so far. */
  get used(): number {
    return this.spent;
  }

  /** Spends `n` units; throws BudgetExceededError when a limit is passed. */
  spend(n = 1): void {
    this.spent += n;
    if (this.spent > this.maxUnits) throw new BudgetExceededError(this.onExceeded, 'units');
    if (this.spent >= this.nextClock) {
      this.nextClock = this.spent + CLOCK_EVERY;
      if (this.deadline !== Number.POSITIVE_INFINITY && performance.now() > this.deadline) {
        throw new BudgetExceededError(this.onExceeded, 'time');
      }
    }
  }
}

/** A budget without limits (start-up work, tests of the engine itself). */
export const UNLIMITED_BUDGET = new WorkBudget();

/**
 * The budget of the operation running now. The engine's work is synchronous, so while a handler
 * runs one budget is active; code that has no TxContext at hand (building the index of a code
 * system sent with the request) spends on it through spendActive.
 */
let active: WorkBudget = UNLIMITED_BUDGET;

/** Runs `fn` with `budget` active (restored afterwards, also when `fn` throws). */
export function withBudget<T>(budget: WorkBudget, fn: () => T): T {
  const previous = active;
  active = budget;
  try {
    return fn();
  } finally {
    active = previous;
  }
}

/** Spends `n` units on the active budget. */
export function spendActive(n = 1): void {
  active.spend(n);
}
