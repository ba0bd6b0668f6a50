import { fixedIpResource } from './fixed-ip.js';
import { instanceResource } from './instance.js';
import { migrationResource } from './migration.js';
import { networkResource } from './network.js';
import { serviceResource } from './service.js';

/** The built-in resources, in a fixed order. */
export const BUILTIN_RESOURCES = Object.freeze([
  instanceResource,
  networkResource,
  fixedIpResource,
  migrationResource,
  serviceResource,
] as const);
