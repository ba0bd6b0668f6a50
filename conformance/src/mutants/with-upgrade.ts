import {
  HONEST_LIMITED as HONEST_LIMITED_ONLY,
  MUTANTS as MUTANTS_ONLY,
  type Mutant,
} from './mutants.js';

/**
 * The `upgrade` option of the catalogue's memory mutants: their bugs are in the store API,
 * the allocator or the manifest, which the upgrade group does not exercise, and the group
 * runs on memory in its own tests (`upgrade.test.ts`, `group-mutants.test.ts`).
 */
const CATALOGUE_UPGRADE = {
  notApplicable:
    'a memory mutant of the store API: the upgrade group runs on memory and on its own mutants in the suite’s upgrade tests',
} as const;

/** `m` with the catalogue's `upgrade` option where its options give none. */
function withUpgrade(m: Mutant): Mutant {
  return {
    ...m,
    options: () => {
      const options = m.options();
      return options.upgrade === undefined ? { ...options, upgrade: CATALOGUE_UPGRADE } : options;
    },
  };
}

/** Every mutant of `mutants.ts`, each with an `upgrade` option (see {@link CATALOGUE_UPGRADE}). */
export const MUTANTS: readonly Mutant[] = Object.freeze(MUTANTS_ONLY.map(withUpgrade));

/** The honest adapter with features declared off, with an `upgrade` option: must pass. */
export const HONEST_LIMITED: Mutant = withUpgrade(HONEST_LIMITED_ONLY);
