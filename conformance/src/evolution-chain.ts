/**
 * The resource the evolution group evolves, and the random chains of changes it goes
 * through: each change is one more version of the same declared history, so every
 * definition in a chain is what some release of a service would have declared.
 */
import {
  type AnyResource,
  defineResource,
  type Field,
  f,
  type HistoryEntry,
  type HistoryValue,
} from '@polystore/core';

/** The kinds of change a chain is made of, one version each. */
export const EVOLUTION_STEPS = [
  'addOptional',
  'addDefault',
  'addTransform',
  'addIndex',
  'addUniqueSatisfied',
  'addUniqueViolated',
  'addSortable',
  'removeField',
  'addEnumValue',
] as const;

/** One kind of change. */
export type EvolutionStep = (typeof EVOLUTION_STEPS)[number];

/** What each kind of change does, for reports. */
export const STEP_NOTES: Readonly<Record<EvolutionStep, string>> = {
  addOptional: 'add an optional indexed field (color)',
  addDefault: 'add an indexed field with a default (weight)',
  addTransform: 'add a required indexed field filled by an up-transform (score)',
  addIndex: 'add an index on an existing field (hint)',
  addUniqueSatisfied: 'add a unique constraint (tag) over data that satisfies it',
  addUniqueViolated:
    'add a unique constraint (tag) over data that violates it, with an indexed field (code)',
  addSortable: 'add a sortable field with a default (rank)',
  removeField: 'remove a field (note), a major version',
  addEnumValue: 'add an enum value (kind)',
};

/** One change of a chain, with its random choices. */
export interface ChainStep {
  readonly step: EvolutionStep;
  /** addEnumValue: whether older readers get the new value mapped down (else refused). */
  readonly mapDown: boolean;
}

/** The resource's name in every namespace (each chain runs in a fresh one). */
export const EVOLVING_NAME = 'gizmo';

/** The fields of the first version. */
function baseFields(): Record<string, Field> {
  return {
    label: f.string({ max: 16 }).sortable() as Field,
    tag: f.string({ max: 16 }).indexed() as Field,
    size: f.int({ min: 0, max: 99 }).sortable() as Field,
    kind: f.enum(['a', 'b']).indexed() as Field,
    note: f.string({ max: 16 }).nullable() as Field,
    hint: f.string({ max: 16 }).nullable() as Field,
  };
}

interface DraftState {
  readonly version: string;
  readonly history: Record<string, HistoryValue>;
  readonly fields: Record<string, Field>;
  readonly unique: string[][];
  readonly kinds: string[];
}

function define(s: DraftState): AnyResource {
  return defineResource({
    name: EVOLVING_NAME,
    plural: 'gizmos',
    scope: 'project',
    softDelete: true,
    version: s.version,
    history: s.history,
    fields: s.fields,
    unique: s.unique,
  }) as unknown as AnyResource;
}

function nextVersion(version: string, major: boolean): string {
  const [a, b] = version.split('.').map(Number) as [number, number];
  return major ? `${a + 1}.0` : `${a}.${b + 1}`;
}

/**
 * The definitions of a chain: the first version, then one per change, each declaring the
 * whole history so far (as a later release of a service would).
 *
 * @example
 * ```ts
 * const [v10, v11] = chainDefinitions([{ step: 'addOptional', mapDown: false }]);
 * elementsBetween(v11, '1.0', '1.1').expand.fields; // [{ name: 'color', ... }]
 * ```
 */
export function chainDefinitions(steps: readonly ChainStep[]): AnyResource[] {
  let s: DraftState = {
    version: '1.0',
    history: { '1.0': 'initial version' },
    fields: baseFields(),
    unique: [],
    kinds: ['a', 'b'],
  };
  const out = [define(s)];
  for (const { step, mapDown } of steps) {
    const version = nextVersion(s.version, step === 'removeField');
    const fields = { ...s.fields };
    let unique = s.unique;
    let kinds = s.kinds;
    const entry: { -readonly [K in keyof HistoryEntry]: HistoryEntry[K] } = {
      note: `${version}: ${STEP_NOTES[step]}`,
    };
    switch (step) {
      case 'addOptional':
        fields.color = f.string({ max: 8 }).nullable().indexed().addedIn(version) as Field;
        break;
      case 'addDefault':
        fields.weight = f.int({ min: 0, max: 999 }).default(7).indexed().addedIn(version) as Field;
        break;
      case 'addTransform':
        fields.score = f.int({ min: 0, max: 999 }).indexed().addedIn(version) as Field;
        entry.up = { score: (r) => (typeof r.size === 'number' ? r.size : 0) * 3 + 1 };
        break;
      case 'addIndex':
        fields.hint = f.string({ max: 16 }).nullable().indexed() as Field;
        entry.addIndexes = ['hint'];
        break;
      case 'addUniqueSatisfied':
        unique = [...unique, ['tag']];
        entry.addUnique = [['tag']];
        break;
      case 'addUniqueViolated':
        // With a field and an index in the same call, so a refusal can be seen half-applied.
        fields.code = f.string({ max: 8 }).nullable().indexed().addedIn(version) as Field;
        unique = [...unique, ['tag']];
        entry.addUnique = [['tag']];
        break;
      case 'addSortable':
        fields.rank = f.int({ min: 0, max: 9 }).default(0).sortable().addedIn(version) as Field;
        break;
      case 'removeField':
        entry.removed = { note: fields.note! };
        delete fields.note;
        break;
      case 'addEnumValue': {
        const value = String.fromCharCode(97 + kinds.length);
        kinds = [...kinds, value];
        fields.kind = f.enum(kinds as [string, ...string[]]).indexed() as Field;
        entry.enumValues = {
          kind: { added: [value], ...(mapDown ? { down: { [value]: 'a' } } : {}) },
        };
        break;
      }
    }
    s = { version, history: { ...s.history, [version]: entry }, fields, unique, kinds };
    out.push(define(s));
  }
  return out;
}

/** A small seeded PRNG (mulberry32): the group's choices are a function of the run's seed. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** The array in a random order (a copy). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

const UNIQUES: readonly EvolutionStep[] = ['addUniqueSatisfied', 'addUniqueViolated'];

/**
 * `count` (at least 2) random chains of 3 to 5 changes that together use every kind of
 * change at least once; a chain adds the unique constraint at most once.
 */
export function planChains(rng: Rng, count: number): ChainStep[][] {
  const n = Math.max(2, count);
  const chains: EvolutionStep[][] = Array.from({ length: n }, () => []);
  const order = rng.shuffle(EVOLUTION_STEPS.filter((s) => !UNIQUES.includes(s)));
  // The two unique variants go to different chains; the rest are dealt round the chains.
  const first = rng.int(n);
  chains[first]!.push('addUniqueSatisfied');
  chains[(first + 1 + rng.int(n - 1)) % n]!.push('addUniqueViolated');
  order.forEach((s, i) => {
    const shortest = chains.reduce((a, c, j) => (c.length < chains[a]!.length ? j : a), i % n);
    chains[shortest]!.push(s);
  });
  return chains.map((steps) => {
    const target = 3 + rng.int(3);
    while (steps.length < target) {
      const extra = EVOLUTION_STEPS.filter(
        (s) =>
          !steps.includes(s) && !(UNIQUES.includes(s) && steps.some((x) => UNIQUES.includes(x))),
      );
      if (extra.length === 0) break;
      steps.push(rng.pick(extra));
    }
    return rng.shuffle(steps).map((step) => ({ step, mapDown: rng.chance(0.5) }));
  });
}
