import { uuidv7 } from 'uuidv7';

/** Makes record ids. Core calls it before the adapter, so ids never depend on the backend. */
export type IdGenerator = () => string;

/** The default: time-ordered UUIDv7. */
export const uuidv7Generator: IdGenerator = () => uuidv7();

/**
 * A deterministic generator for tests: UUID-shaped ids counting up from `seed`.
 *
 * @example
 * ```ts
 * const ids = sequentialIds(); ids(); // '00000000-0000-7000-8000-000000000001'
 * ```
 */
export function sequentialIds(seed = 0): IdGenerator {
  let n = seed;
  return () => {
    n += 1;
    const hex = n.toString(16).padStart(12, '0');
    return `00000000-0000-7000-8000-${hex}`;
  };
}
