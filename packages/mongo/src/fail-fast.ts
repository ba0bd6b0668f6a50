import { AsyncLocalStorage } from 'node:async_hooks';
import { UnavailableError } from '@polystore/core';

/**
 * The deadline of one store call: every driver command of the call checks it before it
 * starts (see {@link command}), so once a call has been given up no further command of it
 * reaches the server.
 */
export class CallDeadline {
  readonly #what: string;
  readonly #ms: number;
  /** Whether the call has been given up: its caller already has its `UnavailableError`. */
  #expired = false;

  constructor(what: string, ms: number) {
    this.#what = what;
    this.#ms = ms;
  }

  /** Marks the call as given up and returns the error its caller gets. */
  expire(): UnavailableError {
    this.#expired = true;
    return new UnavailableError(
      `mongo ${this.#what}: no answer within ${this.#ms} ms (failFastMs); a write may or may not have taken effect`,
    );
  }

  /** Throws once the call has been given up, so that its remaining steps send nothing. */
  check(): void {
    if (this.#expired) {
      throw new UnavailableError(
        `mongo ${this.#what}: given up after ${this.#ms} ms (failFastMs); not sending the next command`,
      );
    }
  }
}

/**
 * The deadline of the call running in this async context. Async context rather than a
 * parameter: every command of a call (the claim, the write, the reads that explain a
 * failure, the claim's release) must see it, however deep it is issued.
 */
const current = new AsyncLocalStorage<CallDeadline>();

/**
 * Runs one store call within `ms`, else fails it with a retriable `UnavailableError`. The
 * MongoDB driver has no working bound of a whole operation (its `timeoutMS` is deprecated
 * and ignored in v7), and a frozen server holds a command for its socket timeout, then the
 * driver retries or waits for server selection again. So the call is raced against a
 * timer; when the timer wins, the call's deadline expires and whatever of it is still
 * running sends no further command (no write started after the caller was told it
 * failed). A command already sent is ended by the driver's socket timeout, which defaults
 * to `ms`; a write sent to a frozen server may still be applied when it wakes, so the
 * error says the write may or may not have taken effect. A nested call (e.g. the deletes
 * of `releaseAllForInstance`) runs under the outer call's deadline.
 */
export async function bounded<T>(what: string, ms: number, run: () => Promise<T>): Promise<T> {
  if (current.getStore() !== undefined) return run();
  const deadline = new CallDeadline(what, ms);
  const call = current.run(deadline, run);
  // Settles after the deadline, unobserved: keep its rejection from being unhandled.
  call.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      call,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(deadline.expire()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts one driver command of the current call, unless the call has been given up. */
export function command<T>(run: () => Promise<T>): Promise<T> {
  current.getStore()?.check();
  return run();
}
