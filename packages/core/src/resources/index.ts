import { fixedIpResource } from './fixed-ip.js';
import { instanceResource } from './instance.js';
import { migrationResource } from './migration.js';
import { networkResource } from './network.js';
import { serviceResource } from './service.js';

/**
 * The compute pack: instances, networks, fixed IPs, migrations and services, in a fixed
 * order. `openStores` opens these when it is given no `resources`; a service that also has
 * its own resources lists both: `resources: [...computeResources, volumeResource]`.
 */
export const computeResources = Object.freeze([
  instanceResource,
  networkResource,
  fixedIpResource,
  migrationResource,
  serviceResource,
] as const);
