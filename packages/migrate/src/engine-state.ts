/**
 * Reading and writing the engine's state records through an ordinary Stores bag: the
 * upgrade state of each resource and the live members of the fleet. Shared by the fleet
 * member (services) and the engine (the operator's tool).
 */
import {
  adminContext,
  ConflictError,
  DuplicateError,
  type ResourceStore,
  type Stores,
} from '@polystore/core';
import {
  type FleetMemberRecord,
  fleetMemberResource,
  type UpgradeState,
  upgradeStateResource,
} from './engine-resources.js';

/** The context the engine reads and writes its own records in. */
export const ENGINE_CONTEXT = adminContext();

const PAGE = 500;

/** The upgrade-state store of a Stores bag opened with the engine's resources. */
export function stateStore(stores: Stores): ResourceStore<typeof upgradeStateResource> {
  return stores.store(upgradeStateResource);
}

/** The fleet-member store of a Stores bag opened with the engine's resources. */
export function memberStore(stores: Stores): ResourceStore<typeof fleetMemberResource> {
  return stores.store(fleetMemberResource);
}

/** Every upgrade state, by resource name. */
export async function readStates(stores: Stores): Promise<Map<string, UpgradeState>> {
  const out = new Map<string, UpgradeState>();
  let after: string | null = null;
  do {
    const page = await stateStore(stores).list(ENGINE_CONTEXT, { limit: PAGE, after });
    for (const s of page.items) out.set(s.resource, s);
    after = page.next;
  } while (after !== null);
  return out;
}

/** The upgrade state of one resource, or `undefined`. */
export async function readState(
  stores: Stores,
  resource: string,
): Promise<UpgradeState | undefined> {
  const page = await stateStore(stores).list(ENGINE_CONTEXT, {
    where: { resource },
    limit: 1,
  });
  return page.items[0];
}

/**
 * The upgrade state of `resource`, created with `pin` (and `step`) when there is none yet;
 * a creator that loses the race reads the winner's.
 */
export async function ensureState(
  stores: Stores,
  resource: string,
  pin: string,
  step: UpgradeState['lastStep'],
): Promise<UpgradeState> {
  for (let attempt = 0; ; attempt++) {
    const found = await readState(stores, resource);
    if (found) return found;
    try {
      return await stateStore(stores).create(ENGINE_CONTEXT, {
        resource,
        pin,
        target: null,
        lastStep: step,
        checkpointVersion: null,
        checkpointAfter: null,
        runner: null,
        runnerUntil: null,
      });
    } catch (err) {
      if (!(err instanceof DuplicateError) || attempt >= 5) throw err;
    }
  }
}

/**
 * Applies `change` to the current state of `resource` under a revision check, reading it
 * again after a lost race; `change` returns the patch, or `undefined` to leave it.
 */
export async function updateState(
  stores: Stores,
  resource: string,
  change: (current: UpgradeState) => Partial<UpgradeState> | undefined,
): Promise<UpgradeState> {
  for (let attempt = 0; ; attempt++) {
    const current = await readState(stores, resource);
    if (!current) throw new Error(`upgrade state of ${resource} vanished`);
    const patch = change(current);
    if (patch === undefined) return current;
    const {
      id: _i,
      resource: _r,
      revision: _v,
      createdAt: _c,
      updatedAt: _u,
      deletedAt: _d,
      objectVersion: _o,
      projectId: _p,
      ...fields
    } = patch as Record<string, unknown>;
    try {
      return await stateStore(stores).update(ENGINE_CONTEXT, current.id, fields as never, {
        expectedRevision: current.revision,
      });
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= 20) throw err;
    }
  }
}

/** Every member record (live or not), oldest heartbeat first. */
export async function readMembers(stores: Stores): Promise<FleetMemberRecord[]> {
  const out: FleetMemberRecord[] = [];
  let after: string | null = null;
  do {
    const page = await memberStore(stores).list(ENGINE_CONTEXT, {
      orderBy: { field: 'lastSeenAt', direction: 'asc' },
      limit: PAGE,
      after,
    });
    out.push(...page.items);
    after = page.next;
  } while (after !== null);
  return out;
}

/**
 * Whether a member is live at `now` (ms): its last heartbeat plus its lease, plus
 * `skewMs` for clocks that disagree, has not passed.
 */
export function isLive(member: FleetMemberRecord, now: number, skewMs: number): boolean {
  return Date.parse(member.lastSeenAt) + member.leaseMs + skewMs >= now;
}
