/** Counts of the coverage line. */
export interface CoverageSummary {
  readonly tested: number;
  readonly refused: number;
  readonly notApplicable: number;
  readonly skipped: number;
  readonly unexpected: number;
  /** Units expected but never exercised. */
  readonly skippedUnits: readonly string[];
  /** Units declared off that answered anyway, with what happened. */
  readonly unexpectedUnits: readonly string[];
  /** Units that do not apply, with why. */
  readonly notApplicableUnits: readonly string[];
}

type State = 'tested' | 'refused' | 'n/a' | 'unexpected';

/**
 * What the run exercised, per unit (`instances.update`, `feature:query.range`,
 * `faults.stall`, ...). A unit expected but never recorded is skipped; the run fails
 * unless nothing is skipped.
 */
export class Coverage {
  readonly #expected = new Set<string>();
  readonly #state = new Map<string, { state: State; note: string }>();

  /** Declares units the run must exercise. */
  expect(...units: string[]): void {
    for (const u of units) this.#expected.add(u);
  }

  /** The unit was exercised and its result checked. */
  tested(unit: string): void {
    if (!this.#state.has(unit)) this.#state.set(unit, { state: 'tested', note: '' });
  }

  /** The unit is declared off and was refused with `NotSupportedError`. */
  refused(unit: string): void {
    const s = this.#state.get(unit);
    if (s?.state !== 'unexpected') this.#state.set(unit, { state: 'refused', note: '' });
  }

  /** The unit is declared off but answered. */
  unexpected(unit: string, note: string): void {
    this.#state.set(unit, { state: 'unexpected', note });
  }

  /** The unit cannot apply to this adapter, for a stated reason. */
  notApplicable(unit: string, reason: string): void {
    this.#state.set(unit, { state: 'n/a', note: reason });
  }

  /** The counts and the units behind the bad ones. */
  summary(): CoverageSummary {
    const all = new Set([...this.#expected, ...this.#state.keys()]);
    const by = (st: State) => [...all].filter((u) => this.#state.get(u)?.state === st);
    const skippedUnits = [...all].filter((u) => !this.#state.has(u)).sort();
    const unexpectedUnits = by('unexpected').map((u) => `${u}: ${this.#state.get(u)!.note}`);
    const notApplicableUnits = by('n/a').map((u) => `${u}: ${this.#state.get(u)!.note}`);
    return {
      tested: by('tested').length,
      refused: by('refused').length,
      notApplicable: notApplicableUnits.length,
      skipped: skippedUnits.length,
      unexpected: unexpectedUnits.length,
      skippedUnits,
      unexpectedUnits,
      notApplicableUnits,
    };
  }
}

/** The one-line coverage summary of a report. */
export function coverageLine(s: CoverageSummary): string {
  return `capabilities: ${s.tested} tested · ${s.refused} refused-as-declared · ${s.notApplicable} not applicable · ${s.skipped} skipped · ${s.unexpected} unexpected successes`;
}
