import { ManualClock, NotSupportedError, type Stores, sequentialIds } from '@polystore/core';
import { createStores, defineCapabilities } from '@polystore/core/adapter';
import { MEMORY_CAPABILITIES, MemoryBackend, MemoryDatabase } from '@polystore/memory/internal';
import * as fc from 'fast-check';
import { BEHAVIOUR_EXAMPLES, CONTRACT_EXAMPLES } from './behaviour-examples.js';
import { ConformanceFailure } from './conformance-failure.js';
import type { Coverage } from './coverage.js';
import { featuresUsed, offFeaturesUsed } from './features.js';
import { executeOp, type Op, type StoreName, unitOf } from './op.js';
import { FOCUS, tickArb, weightedStoreOpArbs } from './op-arbitraries.js';
import {
  diffOutcomes,
  type Outcome,
  sameOutcome,
  settle,
  showOutcome,
  summariseError,
} from './outcome.js';
import { encodeReplayToken, type ReplayToken } from './replay-token.js';
import { CLOCK_EPOCH, type Session } from './session.js';
import { buildSnippet, dumpState, type TraceStep } from './snippet.js';

/** Options of {@link runModelBased}. */
export interface ModelRunOptions {
  /** Property runs (default 100). */
  readonly runs?: number;
  /** Most commands per sequence (default 30). */
  readonly maxCommands?: number;
  /** Seed (default random). */
  readonly seed?: number;
  /** Replays one failure (from a token). */
  readonly replay?: ReplayToken;
  /** Where exercised units are recorded. */
  readonly coverage?: Coverage;
  /** Group name used in tokens and failures (default `behaviour`). */
  readonly group?: string;
}

/**
 * A fresh reference model with sequential ids on `clock`. With `maxRecordBytes` (the
 * adapter's declared limit) it refuses the same oversized records the adapter must refuse.
 */
export function openModel(clock: ManualClock, maxRecordBytes?: number): Stores {
  const memory = new MemoryBackend(new MemoryDatabase());
  const capabilities =
    maxRecordBytes === undefined
      ? MEMORY_CAPABILITIES
      : defineCapabilities({ ...MEMORY_CAPABILITIES, maxRecordBytes });
  return createStores(
    {
      name: 'model',
      capabilities,
      driver: (resource) => memory.driver(resource),
      allocator: memory.allocator,
      close: () => memory.close(),
    },
    { clock, ids: sequentialIds() },
  );
}

/** The adapter and the reference model side by side, driven with the same commands. */
class Pair {
  readonly trace: TraceStep[] = [];

  constructor(
    readonly real: Stores,
    readonly realClock: ManualClock,
    readonly model: Stores,
    readonly modelClock: ManualClock,
    readonly coverage: Coverage | undefined,
  ) {}

  async step(op: Op): Promise<void> {
    const unit = unitOf(op);
    const off = offFeaturesUsed(op, this.real.capabilities.features);
    const actual = await settle(() => executeOp(this.real, op, (ms) => this.realClock.advance(ms)));
    if (unit) this.coverage?.tested(unit);
    for (const f of featuresUsed(op)) if (!off.includes(f)) this.coverage?.tested(`feature:${f}`);
    if (
      off.length > 0 &&
      !actual.ok &&
      actual.error.name === 'NotSupportedError' &&
      off.includes(actual.error.capability as string)
    ) {
      // Refused as declared: nothing was done, so the model does not run it either.
      for (const f of off) this.coverage?.refused(`feature:${f}`);
      this.trace.push({ op, expected: actual });
      return;
    }
    const expected = await settle(() =>
      executeOp(this.model, op, (ms) => this.modelClock.advance(ms)),
    );
    let problem: string | undefined;
    if (off.length > 0) {
      // Validation may come before the refusal; anything else must be the refusal.
      const validation = !expected.ok && VALIDATION.includes(expected.error.name);
      if (!(validation && sameOutcome(expected, actual))) {
        for (const f of off)
          this.coverage?.unexpected(`feature:${f}`, `answered ${showOutcome(actual)}`);
        const refusal = showOutcome({
          ok: false,
          error: summariseError(new NotSupportedError(off[0]!)),
        });
        problem = `declared off (${off.join(', ')}): should have thrown ${refusal}`;
      }
    } else if (!sameOutcome(expected, actual)) {
      problem = 'the adapter and the reference model disagree';
    } else if (actual.ok && !deeplyFrozenRecords(actual.value)) {
      problem = 'returned records must be deeply frozen';
    }
    if (problem !== undefined) {
      throw new Divergence(problem, [...this.trace], {
        op,
        expected: off.length > 0 && problem ? refusalOf(off[0]!) : expected,
        actual,
      });
    }
    this.trace.push({ op, expected });
  }
}

const VALIDATION = ['InvalidInputError', 'InvalidQueryError', 'ForbiddenError'];

function refusalOf(feature: string): Outcome {
  return { ok: false, error: summariseError(new NotSupportedError(feature)) };
}

/** Whether every record-like object in a result is deeply frozen. */
function deeplyFrozenRecords(v: unknown, inRecord = false): boolean {
  if (typeof v !== 'object' || v === null) return true;
  const record = inRecord || ('id' in v && 'revision' in v);
  if (record && !Object.isFrozen(v)) return false;
  return Object.values(v).every((x) => deeplyFrozenRecords(x, record));
}

/** The first step where the adapter and the model disagreed. */
export class Divergence extends Error {
  constructor(
    readonly problem: string,
    readonly before: readonly TraceStep[],
    readonly failing: { readonly op: Op; readonly expected: Outcome; readonly actual: Outcome },
  ) {
    super(
      `${problem} at ${unitOf(failing.op) ?? 'tick'}: ${diffOutcomes(failing.expected, failing.actual)}`,
    );
    this.name = 'Divergence';
  }
}

class StepCommand implements fc.AsyncCommand<{ readonly steps: number }, Pair> {
  constructor(readonly op: Op) {}
  check(): boolean {
    return true;
  }
  async run(_m: { readonly steps: number }, r: Pair): Promise<void> {
    await r.step(this.op);
  }
  toString(): string {
    return JSON.stringify(this.op);
  }
}

function commandArbs(
  focus: readonly StoreName[],
): fc.Arbitrary<fc.AsyncCommand<{ readonly steps: number }, Pair>>[] {
  const op = fc.oneof(...focus.flatMap((s) => weightedStoreOpArbs(s)), {
    weight: 2,
    arbitrary: tickArb,
  });
  return [op.map((o) => new StepCommand(o))];
}

/** Each run focuses on a few stores (drawn first), so records exist and commands hit them. */
function focusedCommands(maxCommands: number, replayPath: string | undefined) {
  const byFocus = FOCUS.map((focus) =>
    fc.commands(commandArbs(focus), { maxCommands, size: 'large', replayPath }),
  );
  return fc.integer({ min: 0, max: FOCUS.length - 1 }).chain((i) => byFocus[i]!);
}

/** Replays ops on a fresh reference model and describes its state. */
export async function modelStateAfter(ops: readonly Op[]): Promise<string> {
  const clock = new ManualClock(CLOCK_EPOCH);
  const model = openModel(clock);
  for (const op of ops) await settle(() => executeOp(model, op, (ms) => clock.advance(ms)));
  return dumpState(model);
}

/**
 * The model-based group: random command sequences over every store method, run against
 * the adapter and a fresh reference model with the same clock and ids; every result and
 * error must agree. Throws {@link ConformanceFailure} with a shrunk, replayable sequence.
 */
export async function runModelBased(
  session: Session,
  options: ModelRunOptions = {},
): Promise<{ runs: number }> {
  const group = options.group ?? 'behaviour';
  const replay = options.replay?.group === group ? options.replay : undefined;

  let runs = 0;
  let firstFailure: number | undefined;
  const property = fc.asyncProperty(
    focusedCommands(options.maxCommands ?? 30, replay?.replayPath),
    async (cmds) => {
      runs += 1;
      const opened = await session.openFresh('b');
      const modelClock = new ManualClock(CLOCK_EPOCH);
      const model = openModel(modelClock, session.manifest?.maxRecordBytes);
      const pair = new Pair(opened.stores, opened.clock, model, modelClock, options.coverage);
      try {
        await fc.asyncModelRun(() => ({ model: { steps: 0 }, real: pair }), cmds);
      } catch (err) {
        if (err instanceof Divergence) firstFailure ??= err.before.length + 1;
        throw err;
      } finally {
        await session.close(opened.stores);
      }
    },
  );
  const details = await fc.check(property, {
    numRuns: options.runs ?? 100,
    seed: replay?.seed ?? options.seed,
    path: replay?.path,
    endOnFailure: replay !== undefined,
  });
  if (!details.failed) {
    // Then the fixed examples: cases the random search reaches only rarely.
    if (replay === undefined) {
      for (const example of [...BEHAVIOUR_EXAMPLES, ...CONTRACT_EXAMPLES])
        await runScenario(session, example, group, options.coverage);
    }
    return { runs: runs + BEHAVIOUR_EXAMPLES.length + CONTRACT_EXAMPLES.length };
  }
  const err = details.errorInstance;
  const replayPath = /replayPath="([^"]*)"/.exec(String(details.counterexample?.[0] ?? ''))?.[1];
  const token = encodeReplayToken({
    group,
    seed: details.seed,
    path: details.counterexamplePath ?? '',
    replayPath,
  });
  if (err instanceof ConformanceFailure) throw err;
  if (!(err instanceof Divergence)) {
    throw new ConformanceFailure(
      group,
      `the run threw: ${err instanceof Error ? err.stack : String(err)}`,
      {
        token,
        runs,
      },
    );
  }
  const modelBefore = await modelStateAfter(err.before.map((s) => s.op));
  const snippet = buildSnippet(err.before, err.failing, token);
  throw new ConformanceFailure(group, err.message, {
    token,
    snippet,
    modelBefore,
    steps: err.before.length + 1,
    shrunkFrom: firstFailure,
    runs,
  });
}

/** A scenario's first disagreement, or `undefined` when it ran clean. */
async function tryScenario(
  session: Session,
  ops: readonly Op[],
  group: string,
  coverage: Coverage | undefined,
  extraCheck: ((op: Op, outcome: Outcome) => string | undefined) | undefined,
): Promise<Divergence | undefined> {
  const opened = await session.openFresh(group.slice(0, 3));
  const modelClock = new ManualClock(CLOCK_EPOCH);
  const model = openModel(modelClock, session.manifest?.maxRecordBytes);
  const pair = new Pair(opened.stores, opened.clock, model, modelClock, coverage);
  try {
    for (const op of ops) {
      await pair.step(op);
      const last = pair.trace[pair.trace.length - 1]!;
      const problem = extraCheck?.(op, last.expected);
      if (problem !== undefined) {
        return new Divergence(problem, pair.trace.slice(0, -1), {
          op,
          expected: last.expected,
          actual: last.expected,
        });
      }
    }
    return undefined;
  } catch (err) {
    if (err instanceof Divergence) return err;
    throw err;
  } finally {
    await session.close(opened.stores);
  }
}

/** Most re-runs, and most time, spent making a fixed scenario's failure smaller. */
const MINIMISE_TRIES = 48;
const MINIMISE_MS = 20_000;

/**
 * Makes a fixed scenario's failure small (delta debugging): drops chunks of the commands
 * before the failing one while the failing command still fails, so the report shows the
 * few steps that matter instead of the whole scenario.
 */
async function minimiseScenario(
  session: Session,
  failure: Divergence,
  group: string,
  extraCheck: ((op: Op, outcome: Outcome) => string | undefined) | undefined,
): Promise<Divergence> {
  let best = failure;
  let prefix = failure.before.map((s) => s.op);
  const target = failure.failing.op;
  const deadline = performance.now() + MINIMISE_MS;
  let tries = 0;
  let chunks = 2;
  while (prefix.length > 0 && tries < MINIMISE_TRIES && performance.now() < deadline) {
    const size = Math.ceil(prefix.length / chunks);
    let reduced = false;
    for (let start = 0; start < prefix.length && tries < MINIMISE_TRIES; start += size) {
      const candidate = [...prefix.slice(0, start), ...prefix.slice(start + size)];
      tries += 1;
      const again = await tryScenario(
        session,
        [...candidate, target],
        group,
        undefined,
        extraCheck,
      );
      if (again && again.before.length === candidate.length) {
        best = again;
        prefix = candidate;
        chunks = Math.max(chunks - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (size <= 1) break;
      chunks = Math.min(chunks * 2, prefix.length);
    }
  }
  return best;
}

/**
 * Runs a fixed command list against the adapter and a fresh reference model, like one
 * model-based run; a disagreement is a {@link ConformanceFailure} of `group` with a
 * snippet, made small first by dropping the commands the failure does not need.
 */
export async function runScenario(
  session: Session,
  ops: readonly Op[],
  group: string,
  coverage?: Coverage,
  extraCheck?: (op: Op, outcome: Outcome) => string | undefined,
): Promise<void> {
  const failure = await tryScenario(session, ops, group, coverage, extraCheck);
  if (failure === undefined) return;
  const err = await minimiseScenario(session, failure, group, extraCheck);
  throw new ConformanceFailure(group, err.message, {
    snippet: buildSnippet(err.before, err.failing, '(fixed scenario: no token needed)'),
    modelBefore: await modelStateAfter(err.before.map((s) => s.op)),
    steps: err.before.length + 1,
    shrunkFrom: failure.before.length + 1,
  });
}
