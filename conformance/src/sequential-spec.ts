/**
 * What the checker knows of an op's outcome when it applies it to a spec: a definite `ok` or
 * `fail` with the output that came back, or `unknown` for an indeterminate op (`info`, or
 * still `pending`), which may or may not have taken effect.
 */
export type SpecOutcome =
  | { readonly status: 'ok'; readonly output: unknown }
  | { readonly status: 'fail'; readonly output: unknown }
  | { readonly status: 'unknown' };

/** The result of applying one op to a state. */
export interface StepResult<S> {
  /** The outcome is possible from this state. */
  readonly ok: boolean;
  /** The state after the op. */
  readonly state: S;
}

/**
 * A sequential specification: the model a history must be linearizable against. It must be
 * deterministic; `params` (plain JSON) together with `name` rebuilds it (see `specFromExport`).
 */
export interface SequentialSpec<S> {
  /** Name for reports and exports. */
  readonly name: string;
  /** The parameters the spec was built with (initial state, pool addresses), as plain JSON. */
  readonly params: Readonly<Record<string, unknown>>;
  /** The state of a key before any op. */
  init(key: string): S;
  /**
   * Applies an op to a state. For an `unknown` outcome it returns the state as if the op took
   * effect (the checker covers "no effect" itself); a definite failure the spec observes
   * nothing from must return `{ ok: true, state }` unchanged.
   */
  step(state: S, input: unknown, outcome: SpecOutcome): StepResult<S>;
  /**
   * A string that identifies a state: distinct states must hash differently (it keys the memo
   * cache, and an equal hash reads as "the op changed nothing").
   */
  hash(state: S): string;
  /**
   * Optional, for speed: true when the op, with this outcome, can change neither this state
   * nor any state that can follow it (a read, a conflict, a definite failure without effect,
   * a write expecting a revision already passed). The checker then linearizes such an op as
   * soon as it can and tries no other place for it, and settles an indeterminate one as
   * "never took effect" at once. A wrong `true` makes the checker wrong: when in doubt, false.
   */
  spent?(state: S, input: unknown, outcome: SpecOutcome): boolean;
}
