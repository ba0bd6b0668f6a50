/**
 * Where a resource stands in a live upgrade, derived from what the store records (its
 * elements, its counts per object version from the version index: no record scan), the
 * engine's state (pin, checkpoint) and the live fleet; and what it needs next.
 */
import { type AnyResource, historyOf } from '@polystore/core';
import {
  describeElements,
  elementsMinus,
  elementsOf,
  isOlder,
  type SchemaElements,
} from '@polystore/core/adapter';
import type { ElementState, UpgradeState } from './engine-resources.js';

/** A phase of a live upgrade. */
export type Phase = 'expand' | 'migrate' | 'switch' | 'contract';

/** A live process of the fleet, as `status` shows it. */
export interface FleetService {
  readonly member: string;
  readonly service: string;
  readonly release: string;
  /** Resource name → the object version its code has. */
  readonly reads: Readonly<Record<string, string>>;
  /** Resource name → the object version it writes now. */
  readonly writes: Readonly<Record<string, string>>;
  readonly lastSeenAt: string;
}

/** One element of a resource's storage and its state. */
export interface ElementStatus {
  /** `field color`, `index color (eq)`, `unique (label)`. */
  readonly name: string;
  readonly state: ElementState;
}

/** What the stored versions of a resource are, against the code's history (TaskFlow's diff). */
export interface VersionDiff {
  /** Versions records are stored at that the code's history does not know (newer code wrote them). */
  readonly removed: readonly string[];
  /** Versions of the code's history newer than every stored record (no record has them yet). */
  readonly added: readonly string[];
  /** Versions records are stored at that are older than the code's (migrate converts them). */
  readonly older: readonly string[];
}

/** One resource in a live upgrade. */
export interface ResourceStatus {
  readonly resource: string;
  /** The object version of the code running this tool. */
  readonly codeVersion: string;
  /** The version the fleet writes (`null`: no process has joined and nothing was expanded). */
  readonly pin: string | null;
  /** Records per stored object version, from the version index. */
  readonly stored: Readonly<Record<string, number>>;
  /** Records older than the code's version. */
  readonly belowCode: number;
  readonly versions: VersionDiff;
  /** Every element the code's version has or the store has, with its state. */
  readonly elements: readonly ElementStatus[];
  /** The elements the store lacks (expand adds them). */
  readonly missing: readonly string[];
  /** The last step the engine recorded, and the migrate checkpoint. */
  readonly lastStep: UpgradeState['lastStep'] | null;
  readonly converted: number;
  readonly checkpoint: { readonly version: string; readonly after: string } | null;
  /** Who holds the migrate runner lease, and until when. */
  readonly runner: { readonly id: string; readonly until: string } | null;
  /** What this resource needs next (`none`: it is where the code wants it). */
  readonly next: Phase | 'none';
  /** Why `next` cannot run yet (empty: it can). */
  readonly blockedBy: readonly string[];
}

/** The whole store in a live upgrade. */
export interface UpgradeStatus {
  readonly resources: readonly ResourceStatus[];
  /** The live processes of the fleet (heartbeat within their lease). */
  readonly services: readonly FleetService[];
  /** The first phase any resource needs, in phase order. */
  readonly next: Phase | 'none';
  /** Whether every resource needing `next` is blocked. */
  readonly blocked: boolean;
  /** Resources the store has upgrade state for that this code does not define. */
  readonly unknownResources: readonly string[];
}

/**
 * `polystore migrate status` exit codes, stable for scripts; apart from the CLI's own
 * (0 success, 1 failure, 2 usage, 3 unavailable, 4 schema drift).
 */
export const MigrateExitCode = Object.freeze({
  /** Nothing to do: every resource is where the code wants it. */
  upToDate: 0,
  /** `expand` is next. */
  expandNeeded: 10,
  /** `migrate` is next (pin to move, or records to convert). */
  migrateNeeded: 11,
  /** `contract` is next and may run now. */
  contractReady: 12,
  /** The next phase is blocked (see `blockedBy`). */
  blocked: 13,
  /** `switch` is next (backfilled fields to make public). */
  switchNeeded: 14,
} as const);

/** The exit code of a status. */
export function exitCodeOf(status: UpgradeStatus): number {
  if (status.next === 'none') return MigrateExitCode.upToDate;
  if (status.blocked) return MigrateExitCode.blocked;
  switch (status.next) {
    case 'expand':
      return MigrateExitCode.expandNeeded;
    case 'migrate':
      return MigrateExitCode.migrateNeeded;
    case 'switch':
      return MigrateExitCode.switchNeeded;
    case 'contract':
      return MigrateExitCode.contractReady;
  }
}

/** What {@link statusOfResource} reads. */
export interface StatusInput {
  readonly resource: AnyResource;
  readonly applied: SchemaElements;
  readonly counts: Readonly<Record<string, number>>;
  readonly state: UpgradeState | undefined;
  readonly services: readonly FleetService[];
  /** The runner asking (its own lease does not block it). */
  readonly runner?: string;
  readonly now?: number;
}

/** The status of one resource (pure: everything it needs is read by the caller). */
export function statusOfResource(input: StatusInput): ResourceStatus {
  const { resource, applied, counts, state, services } = input;
  const code = resource.version;
  const needed = elementsOf(resource);
  const missing = elementsMinus(needed, applied);
  const extra = elementsMinus(applied, needed);
  const pending = new Set(applied.pending ?? []);
  const missingNames = new Set(describeElements(missing));
  const elements: ElementStatus[] = [];
  for (const name of describeElements(needed)) {
    const field = name.startsWith('field ') ? name.slice(6) : undefined;
    const state: ElementState = missingNames.has(name)
      ? 'absent'
      : field !== undefined && pending.has(field)
        ? 'write-only'
        : 'public';
    elements.push({ name, state: state });
  }
  for (const name of describeElements(extra)) elements.push({ name, state: 'deprecated' });
  for (const name of input.state?.dropped ?? []) {
    if (!elements.some((e) => e.name === name)) elements.push({ name, state: 'dropped' });
  }

  const history = historyOf(resource);
  const storedVersions = Object.keys(counts);
  const known = (v: string) => history.at(v) !== undefined;
  const newestStored = storedVersions.filter(known).sort((a, b) => (isOlder(a, b) ? 1 : -1))[0];
  const versions: VersionDiff = {
    removed: storedVersions.filter((v) => !known(v)).sort(),
    added: history.versions
      .map((v) => v.version)
      .filter((v) => newestStored === undefined || isOlder(newestStored, v)),
    older: storedVersions.filter((v) => known(v) && isOlder(v, code)),
  };
  const belowCode = Object.entries(counts)
    .filter(([v]) => /^\d+\.\d+$/.test(v) && isOlder(v, code))
    .reduce((a, [, n]) => a + n, 0);
  const pin = state?.pin ?? null;

  const behind = services.filter((s) => {
    const reads = s.reads[resource.name];
    return reads !== undefined && isOlder(reads, code);
  });
  const ahead = services.filter((s) => {
    const reads = s.reads[resource.name];
    return reads !== undefined && isOlder(code, reads);
  });
  const runnerHeld =
    state?.runner != null &&
    state.runner !== input.runner &&
    state.runnerUntil != null &&
    Date.parse(state.runnerUntil) > (input.now ?? Date.now());

  let next: Phase | 'none' = 'none';
  const blockedBy: string[] = [];
  const describeService = (s: FleetService) =>
    `${s.service} ${s.member} (release ${s.release}) reads ${resource.name} ${s.reads[resource.name]}`;
  if (missing.fields.length + missing.indexes.length + missing.uniques.length > 0) {
    next = 'expand';
  } else if ((pin !== null && isOlder(pin, code)) || belowCode > 0) {
    next = 'migrate';
    if (pin !== null && isOlder(pin, code))
      for (const s of behind)
        blockedBy.push(`${describeService(s)}: the pin cannot move to ${code}`);
    if (runnerHeld)
      blockedBy.push(`migrate is running (${state!.runner} until ${state!.runnerUntil})`);
  } else if (elements.some((e) => e.state === 'write-only')) {
    next = 'switch';
  } else if (elements.some((e) => e.state === 'deprecated')) {
    next = 'contract';
    for (const s of behind)
      blockedBy.push(`${describeService(s)}: it may still read what contract drops`);
    for (const s of ahead)
      blockedBy.push(
        `${describeService(s)}, newer than this tool's ${code}: run contract with the newest release`,
      );
    if (pin !== null && isOlder(code, pin))
      blockedBy.push(`the pin is ${pin}, newer than this tool's ${code}`);
  }
  return {
    resource: resource.name,
    codeVersion: code,
    pin,
    stored: counts,
    belowCode,
    versions,
    elements,
    missing: describeElements(missing),
    lastStep: state?.lastStep ?? null,
    converted: state?.converted ?? 0,
    checkpoint:
      state?.checkpointVersion && state.checkpointAfter
        ? { version: state.checkpointVersion, after: state.checkpointAfter }
        : null,
    runner:
      state?.runner && state.runnerUntil ? { id: state.runner, until: state.runnerUntil } : null,
    next,
    blockedBy,
  };
}
