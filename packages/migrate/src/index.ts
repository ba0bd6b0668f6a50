/**
 * Live upgrades on every polystore backend: a fleet of services moves from one release
 * to the next with no downtime, driven by each resource's declarative history.
 *
 * - Services open their store with {@link joinFleet}: they heartbeat, write at the fleet's
 *   pin, and fence themselves when their lease lapses.
 * - Operators run the phases with {@link openUpgrade} (or `polystore migrate`):
 *   `expand` → deploy → `migrate` → `switch` → (old release gone) → `contract`.
 */
export { UpgradeBlockedError } from './blocked.js';
export {
  type ElementsReport,
  type MigrateOptions,
  type MigrateProgress,
  type MigrateReport,
  type OpenUpgradeOptions,
  openUpgrade,
  type Upgrade,
} from './engine.js';
export {
  ELEMENT_STATES,
  type ElementState,
  engineResources,
  type FleetMemberRecord,
  fleetMemberResource,
  type UpgradeState,
  upgradeStateResource,
} from './engine-resources.js';
export { type FleetMember, type JoinFleetOptions, joinFleet } from './fleet.js';
export {
  type ElementStatus,
  exitCodeOf,
  type FleetService,
  MigrateExitCode,
  type Phase,
  type ResourceStatus,
  type UpgradeStatus,
  type VersionDiff,
} from './status.js';
export type { OpenedTarget, StoreTarget } from './store-target.js';
