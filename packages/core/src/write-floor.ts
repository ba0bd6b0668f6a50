import { InvalidInputError } from './errors.js';
import type { AnyResource } from './schema/resource.js';
import { parseVersion } from './schema/resource.js';

/**
 * The write floor `setWriteFloor` was given, checked before the backend writes anything:
 * its major and minor, or `InvalidInputError` (field `floor`) for anything that is not a
 * `major.minor` object version. Every backend refuses a bad floor in these same words.
 *
 * @example
 * ```ts
 * async setWriteFloor(resource: AnyResource, floor: string): Promise<void> {
 *   const [major, minor] = checkWriteFloor(resource, floor);
 *   ...
 * }
 * ```
 */
export function checkWriteFloor(resource: AnyResource, floor: string): [number, number] {
  try {
    return parseVersion(floor);
  } catch {
    throw new InvalidInputError(resource.name, [
      { field: 'floor', message: `must be a "major.minor" version, got ${JSON.stringify(floor)}` },
    ]);
  }
}
