import type { SequentialSpec } from './check-history.js';

/** A record's observable state under revision-checked writes. */
export interface RegisterState {
  readonly revision: number;
  readonly value: unknown;
}

/** An op on a {@link casRegister}. */
export type RegisterInput =
  | { readonly op: 'read' }
  | {
      readonly op: 'cas';
      readonly expectedRevision?: number;
      readonly expectedValues?: readonly unknown[];
      readonly value: unknown;
    };

/** The output of a register op: the record read or written, or the conflict's current revision. */
export type RegisterOutput =
  | { readonly revision: number; readonly value: unknown }
  | { readonly conflict: number };

/**
 * A record under conditional updates: reads see the last write; a conditional write
 * succeeds iff its conditions hold, bumping the revision by exactly one, and a conflict
 * reports the current revision.
 */
export const casRegister: SequentialSpec<RegisterState> = {
  name: 'cas-register',
  init: () => ({ revision: 1, value: null }),
  step(state, rawInput, rawOutput) {
    const input = rawInput as RegisterInput;
    const output = rawOutput as RegisterOutput | undefined;
    if (input.op === 'read') {
      const o = output as { revision: number; value: unknown };
      return {
        ok:
          o.revision === state.revision && JSON.stringify(o.value) === JSON.stringify(state.value),
        state,
      };
    }
    const holds =
      (input.expectedRevision === undefined || input.expectedRevision === state.revision) &&
      (input.expectedValues === undefined ||
        input.expectedValues.some((v) => JSON.stringify(v) === JSON.stringify(state.value)));
    const next = { revision: state.revision + 1, value: input.value };
    if (output === undefined) return { ok: true, state: holds ? next : state };
    if ('conflict' in output) return { ok: !holds && output.conflict === state.revision, state };
    return { ok: holds && output.revision === next.revision, state: next };
  },
  hash: (s) => `${s.revision}:${JSON.stringify(s.value)}`,
};

/** An op on a unique key: claim it (`create`) or give it back (`release`). */
export type UniqueInput = { readonly op: 'create' } | { readonly op: 'release' };

/** A unique key among live records: one create wins, the others see a duplicate. */
export const uniqueKey: SequentialSpec<boolean> = {
  name: 'unique-key',
  init: () => false,
  step(taken, rawInput, rawOutput) {
    const input = rawInput as UniqueInput;
    const output = rawOutput as 'ok' | 'duplicate' | undefined;
    if (input.op === 'release') return { ok: true, state: false };
    if (output === undefined) return { ok: true, state: true };
    return output === 'ok' ? { ok: !taken, state: true } : { ok: taken, state: taken };
  },
  hash: (s) => (s ? '1' : '0'),
};

/** The addresses of a network, in allocation order (lowest first). */
export function addressPool(addresses: readonly string[]): SequentialSpec<readonly string[]> {
  return {
    name: 'address-pool',
    init: () => [],
    step(taken, _input, rawOutput) {
      const output = rawOutput as string | 'exhausted' | undefined;
      const free = addresses.find((a) => !taken.includes(a));
      if (output === undefined)
        return { ok: true, state: free === undefined ? taken : [...taken, free] };
      if (output === 'exhausted') return { ok: free === undefined, state: taken };
      return { ok: output === free, state: [...taken, output] };
    },
    hash: (s) => [...s].sort().join(','),
  };
}
