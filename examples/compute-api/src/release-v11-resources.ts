/**
 * Every resource release 1.1 of the compute service opens, one export each: the module
 * `polystore migrate … --module` reads to run a live upgrade to 1.1 (the compute pack,
 * with the 1.1 definition of `instance`).
 *
 * @example
 * ```sh
 * npm run polystore -- migrate status --module examples/compute-api/src/release-v11-resources.ts
 * ```
 */
export {
  fixedIpResource,
  migrationResource,
  networkResource,
  serviceResource,
} from '@polystore/core';
export { instanceResourceV11 } from './instance-v11.js';
