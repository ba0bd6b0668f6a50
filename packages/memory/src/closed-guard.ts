import { UnavailableError } from '@polystore/core';

/**
 * Whether one memory backend (one "client" of a {@link MemoryDatabase}) has been closed.
 * Shared by its drivers and its allocator, so that every call after `close()` is refused
 * with `UnavailableError`, as every other backend refuses calls on a closed connection:
 * the memory adapter is the reference model, and code that works on it must not rely on
 * a closed store answering.
 */
export class ClosedGuard {
  #closed = false;

  /** Marks the backend closed; every later {@link check} throws. Idempotent. */
  close(): void {
    this.#closed = true;
  }

  /** Throws `UnavailableError` naming `operation` once the backend is closed. */
  check(operation: string): void {
    if (this.#closed) throw new UnavailableError(`memory ${operation}: the store is closed`);
  }
}
