import type { StoresOptions } from '@polystore/core';

/** Options of the in-memory adapter. */
export interface MemoryOptions extends StoresOptions {
  /**
   * Name of a shared in-process database: every `open` with the same name sees the same
   * data (like several clients of one server). Default: a fresh private database.
   * The URL form is `memory:<name>`; `memory:` is private.
   */
  readonly name?: string;
}
