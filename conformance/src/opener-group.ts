import { ConformanceFailure } from './conformance-failure.js';
import type { GroupContext, GroupName, GroupOutcome } from './group.js';
import { encodeReplayToken } from './replay-token.js';

/** A check's own failure: its message is the finding (no stack needed). */
export class Failure extends Error {}

/** The opener gave no backend: the adapter fronts one elsewhere (a remote server). */
export class NoBackend extends Failure {}

/** What one run of a group with its own opener keeps: its log, and what opening cost. */
export interface OpenerRun {
  readonly log: readonly string[];
  readonly opens: number;
  readonly openMs: number;
  closeAll(): Promise<void>;
}

/** One item of such a group (a chain of changes, a check): how it is named, made and run. */
export interface OpenerItem<R extends OpenerRun> {
  /** Names the item in a failure. */
  readonly label: string;
  /** Names it in the notes, with what it cost. */
  readonly note: string;
  /** The coverage unit it tests, if any. */
  readonly unit?: string;
  start(): R;
  run(run: R): Promise<void>;
}

/**
 * Runs a group whose adapter is reached through an opener of its own option (`evolution`,
 * `upgrade`): without the option every unit counts as skipped; with `notApplicable`, or
 * when the opener gives no backend, as not applicable; otherwise each item runs in turn,
 * closed after itself, and the first that fails fails the group with its last 60 log lines
 * and a replay token.
 */
export async function runOpenerGroup<R extends OpenerRun>(
  g: GroupContext,
  group: GroupName,
  option: { readonly notApplicable: string } | object | undefined,
  units: readonly string[],
  items: () => readonly OpenerItem<R>[],
): Promise<GroupOutcome> {
  if (option === undefined) {
    return {
      status: 'passed',
      runs: 0,
      notes: [`no \`${group}\` option: every ${group} unit counts as skipped`],
    };
  }
  if ('notApplicable' in option) {
    for (const u of units) g.coverage.notApplicable(u, option.notApplicable);
    return { status: 'not-applicable', runs: 0, notes: [`n/a: ${option.notApplicable}`] };
  }
  const token = encodeReplayToken({ group, seed: g.seed, path: '' });
  const notes: string[] = [];
  const all = items();
  for (const [i, item] of all.entries()) {
    const run = item.start();
    const start = performance.now();
    try {
      await item.run(run);
    } catch (err) {
      if (err instanceof ConformanceFailure) throw err;
      const message =
        err instanceof Failure
          ? err.message
          : `it threw: ${err instanceof Error ? err.stack : String(err)}`;
      if (err instanceof NoBackend) {
        for (const u of units) g.coverage.notApplicable(u, message);
        return { status: 'not-applicable', runs: i, notes: [`n/a: ${message}`] };
      }
      throw new ConformanceFailure(group, `${item.label}: ${message}`, {
        token,
        snippet: run.log.slice(-60).join('\n'),
        steps: run.log.length,
        runs: i + 1,
      });
    } finally {
      await run.closeAll();
    }
    if (item.unit !== undefined) g.coverage.tested(item.unit);
    notes.push(
      `${item.note} (${Math.round(performance.now() - start)} ms; ${run.opens} opens ${Math.round(run.openMs)} ms; ${run.log.length} log lines)`,
    );
    // Where a slow adapter's time goes: when each step of the item began.
    if (process.env.CONFORMANCE_TIMING === '1')
      console.info(
        `conformance timing ${g.session.options.name} › ${group} › ${notes.at(-1)}\n  ${run.log.filter((l) => l.startsWith('— ') || l.endsWith(' ms)')).join('\n  ')}`,
      );
  }
  return { status: 'passed', runs: all.length, notes };
}
