import { isDeepStrictEqual } from 'node:util';
import type { SequentialSpec, SpecOutcome, StepResult } from './sequential-spec.js';

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

/**
 * The output of a register op: the record read or written (`ok`), or, for a `fail`, the
 * conflict's current revision. Any other `fail` output is a definite failure with no effect.
 */
export type RegisterOutput =
  | { readonly revision: number; readonly value: unknown }
  | { readonly conflict: number };

/** A definite failure the spec does not observe anything from: it had no effect (Jepsen's `:fail`). */
const NO_EFFECT = true;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

/**
 * A record under conditional updates, starting at `initial`: reads see the last write; a
 * conditional write succeeds iff its conditions hold, bumps the revision by exactly one and
 * returns the value it wrote; a conflict reports the current revision.
 *
 * @example
 * ```ts
 * checkHistory(history.ops, casRegisterFrom({ revision: 1, value: 'v0' }));
 * ```
 */
export function casRegisterFrom(initial: RegisterState): SequentialSpec<RegisterState> {
  const init = Object.freeze({ revision: initial.revision, value: structuredClone(initial.value) });
  return Object.freeze({
    name: 'cas-register',
    params: Object.freeze({ initial: init }),
    init: () => init,
    step(state: RegisterState, rawInput: unknown, outcome: SpecOutcome): StepResult<RegisterState> {
      const input = rawInput as RegisterInput;
      if (outcome.status === 'fail' && !(isObject(outcome.output) && 'conflict' in outcome.output))
        return { ok: NO_EFFECT, state };
      if (input.op === 'read') {
        if (outcome.status !== 'ok') return { ok: outcome.status === 'unknown', state };
        const o = outcome.output;
        return {
          ok:
            isObject(o) && o.revision === state.revision && isDeepStrictEqual(o.value, state.value),
          state,
        };
      }
      const holds =
        (input.expectedRevision === undefined || input.expectedRevision === state.revision) &&
        (input.expectedValues === undefined ||
          input.expectedValues.some((v) => isDeepStrictEqual(v, state.value)));
      const next: RegisterState = { revision: state.revision + 1, value: input.value };
      if (outcome.status === 'unknown') return { ok: true, state: holds ? next : state };
      const o = outcome.output;
      if (outcome.status === 'fail')
        return { ok: !holds && isObject(o) && o.conflict === state.revision, state };
      // A successful reply claims the new revision and the value written: both are checked.
      return {
        ok:
          holds &&
          isObject(o) &&
          o.revision === next.revision &&
          isDeepStrictEqual(o.value, input.value),
        state: next,
      };
    },
    hash: (s: RegisterState) => `${s.revision}:${JSON.stringify(s.value) ?? 'undefined'}`,
    // Reads and failures never write; revisions only grow, so a write expecting one already
    // passed can never succeed again.
    spent: (s: RegisterState, rawInput: unknown, outcome: SpecOutcome) => {
      const input = rawInput as RegisterInput;
      return (
        input.op === 'read' ||
        outcome.status === 'fail' ||
        (input.expectedRevision !== undefined && s.revision > input.expectedRevision)
      );
    },
  });
}

/** A {@link casRegisterFrom} starting at revision 1 with value `null`. */
export const casRegister: SequentialSpec<RegisterState> = casRegisterFrom({
  revision: 1,
  value: null,
});

/** An op on a unique key: claim it (`create`) or give it back (`release`). */
export type UniqueInput = { readonly op: 'create' } | { readonly op: 'release' };

/**
 * A unique key among live records: one create wins (`ok` output `'ok'`), the others fail with
 * output `'duplicate'`; any other failure had no effect.
 */
export const uniqueKey: SequentialSpec<boolean> = Object.freeze({
  name: 'unique-key',
  params: Object.freeze({}),
  init: () => false,
  step(taken: boolean, rawInput: unknown, outcome: SpecOutcome): StepResult<boolean> {
    const input = rawInput as UniqueInput;
    if (outcome.status === 'fail' && outcome.output !== 'duplicate')
      return { ok: NO_EFFECT, state: taken };
    if (input.op === 'release') return { ok: outcome.status !== 'fail', state: false };
    if (outcome.status === 'unknown') return { ok: true, state: true };
    if (outcome.status === 'fail') return { ok: taken, state: taken };
    return { ok: !taken && outcome.output === 'ok', state: true };
  },
  hash: (s: boolean) => (s ? '1' : '0'),
  // A failed create or release never changes who holds the key.
  spent: (_s: boolean, _input: unknown, outcome: SpecOutcome) => outcome.status === 'fail',
});

/**
 * The addresses of a network, in allocation order (lowest first): an `ok` allocation must
 * return exactly the lowest free address, a `fail` with output `'exhausted'` means none was
 * free; any other failure had no effect.
 */
export function addressPool(addresses: readonly string[]): SequentialSpec<readonly string[]> {
  const pool = Object.freeze([...addresses]);
  return Object.freeze({
    name: 'address-pool',
    params: Object.freeze({ addresses: pool }),
    init: () => [],
    step(
      taken: readonly string[],
      _input: unknown,
      outcome: SpecOutcome,
    ): StepResult<readonly string[]> {
      if (outcome.status === 'fail' && outcome.output !== 'exhausted')
        return { ok: NO_EFFECT, state: taken };
      const free = pool.find((a) => !taken.includes(a));
      if (outcome.status === 'unknown')
        return { ok: true, state: free === undefined ? taken : [...taken, free] };
      if (outcome.status === 'fail') return { ok: free === undefined, state: taken };
      return {
        ok: free !== undefined && outcome.output === free,
        state: free === undefined ? taken : [...taken, free],
      };
    },
    hash: (s: readonly string[]) => [...s].sort().join(','),
    // A failed allocation takes nothing.
    spent: (_s: readonly string[], _input: unknown, outcome: SpecOutcome) =>
      outcome.status === 'fail',
  });
}

/** A spec with no rule at all, for histories kept only to be exported. */
export const anyHistory: SequentialSpec<null> = Object.freeze({
  name: 'none',
  params: Object.freeze({}),
  init: () => null,
  step: (state: null) => ({ ok: true, state }),
  hash: () => '',
});

/**
 * Rebuilds a spec from the name and parameters an export carries (see `exportHistory`).
 * Throws a `TypeError` for a name it does not know.
 */
export function specFromExport(name: string, params: unknown): SequentialSpec<unknown> {
  const p = isObject(params) ? params : {};
  switch (name) {
    case 'cas-register': {
      const initial = isObject(p.initial) ? p.initial : { revision: 1, value: null };
      return casRegisterFrom({
        revision: Number(initial.revision),
        value: initial.value,
      }) as SequentialSpec<unknown>;
    }
    case 'unique-key':
      return uniqueKey as SequentialSpec<unknown>;
    case 'address-pool':
      return addressPool(
        Array.isArray(p.addresses) ? p.addresses.map(String) : [],
      ) as SequentialSpec<unknown>;
    case 'none':
      return anyHistory as SequentialSpec<unknown>;
    default:
      throw new TypeError(`unknown history model ${JSON.stringify(name)}`);
  }
}
