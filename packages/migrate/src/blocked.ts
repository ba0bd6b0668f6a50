import { PolystoreError } from '@polystore/core';

/**
 * A phase of a live upgrade cannot run yet: something it must wait for still holds (a live
 * process runs an older release, records are older than the code's version, another
 * migrate holds the runner lease, ...). Nothing was changed by the refused step. `reasons`
 * names each blocker; `polystore migrate status` lists the same.
 *
 * @example
 * ```ts
 * try {
 *   await upgrade.contract();
 * } catch (err) {
 *   if (err instanceof UpgradeBlockedError) console.error(err.reasons.join('\n'));
 *   else throw err;
 * }
 * ```
 */
export class UpgradeBlockedError extends PolystoreError {
  readonly code = 'UPGRADE_BLOCKED';

  constructor(
    /** The phase refused: `expand`, `migrate`, `switch` or `contract`. */
    readonly phase: string,
    /** The resource it was refused for. */
    readonly resource: string,
    /** Each thing that blocks it, in words. */
    readonly reasons: readonly string[],
  ) {
    super(`${phase} ${resource} is blocked: ${reasons.join('; ')}`);
  }
}
