/**
 * The live-upgrade engine: the operator's side. From the stored state (elements, counts
 * per object version, the pins, the live fleet) and the code's history it derives what
 * each resource needs next and runs the phases, each idempotent and resumable:
 *
 * 1. `expand`   adds the elements the code's version needs (new fields write-only);
 * 2. `migrate`  moves the pin once every live process knows the new version, then converts
 *               every older record (scan by version → up-transform → rewrite under a
 *               revision check), batched, rate-limited, from a checkpoint;
 * 3. `switch`   makes the backfilled fields public (queryable);
 * 4. `contract` drops the elements the code's version no longer has, once no record is
 *               older than it and no live process reads them.
 */
import {
  type AnyResource,
  type Clock,
  ConfigError,
  ConflictError,
  computeResources,
  type OpenStoresOptions,
  PolystoreError,
  type Stores,
  systemClock,
} from '@polystore/core';
import {
  describeElements,
  type EvolutionDriver,
  type EvolvableBackend,
  elementsMinus,
  elementsOf,
  expandResource,
  isEmptyElements,
  isEvolvable,
  isOlder,
  readAtCodeVersion,
  rewriteAtCodeVersion,
  type SchemaElements,
  type StoredRecord,
  supportsEvolution,
  type VersionPage,
} from '@polystore/core/adapter';
import { UpgradeBlockedError } from './blocked.js';
import { engineResources, type UpgradeState } from './engine-resources.js';
import {
  ensureState,
  isLive,
  readMembers,
  readState,
  readStates,
  updateState,
} from './engine-state.js';
import {
  type FleetService,
  type Phase,
  type ResourceStatus,
  statusOfResource,
  type UpgradeStatus,
} from './status.js';
import { openTarget, type StoreTarget } from './store-target.js';

/** Options of {@link openUpgrade}. */
export interface OpenUpgradeOptions extends Omit<OpenStoresOptions, 'writePolicy' | 'checkSchema'> {
  /** Who runs this tool, for the migrate lease (default `<pid>:<random>`). */
  readonly runner?: string;
  /** How long the migrate runner's lease lasts without renewal, ms (default 10 000). */
  readonly runnerLeaseMs?: number;
  /** Clock skew tolerated between this tool and the fleet's processes, ms (default 1000). */
  readonly clockSkewMs?: number;
}

/** Progress of a running {@link Upgrade.migrate}. */
export interface MigrateProgress {
  readonly resource: string;
  /** Records older than the code's version when the run started, plus any found since. */
  readonly found: number;
  /** Records converted so far (this run and the runs before it, from the checkpoint). */
  readonly done: number;
  /** Records converted per second over this run. */
  readonly ratePerSecond: number;
  /** Estimated milliseconds left, `null` before there is a rate. */
  readonly etaMs: number | null;
}

/** Options of {@link Upgrade.migrate}. */
export interface MigrateOptions {
  /** Records read and converted per page (default 500). */
  readonly batch?: number;
  /**
   * At most this many records converted per second, summed over resources; a function is
   * read again before every page, so the rate can change while it runs (default: no limit).
   */
  readonly rate?: number | (() => number | undefined);
  /** Stops after the current page (the checkpoint is kept; run again to resume). */
  readonly signal?: AbortSignal;
  /** Called after every page. */
  readonly onProgress?: (progress: MigrateProgress) => void;
  /**
   * How long to wait for every live process to acknowledge a moved pin, and for another
   * runner's lease to lapse, ms (default: three runner leases).
   */
  readonly waitMs?: number;
  /** Only these resources (default: all that need it). */
  readonly only?: readonly string[];
  /** Records converted at once where the backend has no batched rewrite (default 8). */
  readonly concurrency?: number;
}

/** What {@link Upgrade.migrate} did for one resource. */
export interface MigrateReport {
  readonly resource: string;
  /** The pin before and after. */
  readonly pin: { readonly from: string; readonly to: string };
  /** Records converted by this run. */
  readonly converted: number;
  /** Records still older than the code's version (0 unless stopped by `signal`). */
  readonly remaining: number;
}

/** What {@link Upgrade.expand}, {@link Upgrade.switch} or {@link Upgrade.contract} changed for one resource. */
export interface ElementsReport {
  readonly resource: string;
  /** The elements, in words (`field color`, `index color (eq)`, `unique (label)`). */
  readonly elements: readonly string[];
}

/** The engine over one store. Open with {@link openUpgrade}; close when done. */
export interface Upgrade {
  /** Where each resource stands and what it needs next. Reads only; no record scan. */
  status(): Promise<UpgradeStatus>;
  /** Adds the elements the code's versions need and the store lacks. Idempotent. */
  expand(options?: { readonly dryRun?: boolean }): Promise<ElementsReport[]>;
  /** Moves the pins and converts every older record. Resumable; idempotent. */
  migrate(options?: MigrateOptions): Promise<MigrateReport[]>;
  /** Makes the fields a migrate backfilled public (queryable). */
  switch(): Promise<ElementsReport[]>;
  /** Drops the elements the code's versions no longer have. Refused while anything still needs them. */
  contract(options?: { readonly dryRun?: boolean }): Promise<ElementsReport[]>;
  /**
   * The oldest object version of `resource` a live process of the fleet knows, or `null`
   * when no process is live. Processes not seen within their lease are ignored.
   */
  minimumVersion(resource: AnyResource): Promise<string | null>;
  /** The store's Stores bag (the code's resources and the engine's), e.g. to seed or inspect. */
  readonly stores: Stores;
  /** Closes the store. Idempotent. */
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Opens the engine on a store (a URL, or an opener: {@link StoreTarget}) for the resources of the code it runs with (the new
 * release's definitions). The engine's own state lives in that store.
 *
 * @example
 * ```ts
 * const upgrade = await openUpgrade(url, { resources: [...computeResources] });
 * await upgrade.expand();
 * // ... deploy the new release, process by process ...
 * await upgrade.migrate({ rate: 2000, onProgress: (p) => console.log(p.done, '/', p.found) });
 * await upgrade.switch();
 * // ... once the old release is gone everywhere ...
 * await upgrade.contract();
 * await upgrade.close();
 * ```
 */
export async function openUpgrade(
  target: StoreTarget,
  options: OpenUpgradeOptions = {},
): Promise<Upgrade> {
  const {
    runner = `${process.pid}:${Math.random().toString(36).slice(2, 8)}`,
    runnerLeaseMs = 10_000,
    clockSkewMs = 1000,
    ...openOptions
  } = options;
  const resources = [...(openOptions.resources ?? computeResources)];
  const clock: Clock = openOptions.clock ?? systemClock;
  const opened = await openTarget(target, {
    ...openOptions,
    resources: [...resources, ...engineResources],
    checkSchema: false,
  });
  const backend = opened.backend;
  if (!isEvolvable(backend)) {
    await opened.stores.close();
    throw new ConfigError(
      `${opened.stores.backend}: live upgrades need a store URL the engine reaches directly (this adapter has no evolution SPI)`,
    );
  }
  return new StoreUpgrade(backend, opened.stores, resources, {
    runner,
    runnerLeaseMs,
    clockSkewMs,
    clock,
  });
}

interface EngineSettings {
  readonly runner: string;
  readonly runnerLeaseMs: number;
  readonly clockSkewMs: number;
  readonly clock: Clock;
}

class StoreUpgrade implements Upgrade {
  readonly #backend: EvolvableBackend;
  readonly #resources: readonly AnyResource[];
  readonly #settings: EngineSettings;
  #closed: Promise<void> | undefined;

  constructor(
    backend: EvolvableBackend,
    readonly stores: Stores,
    resources: readonly AnyResource[],
    settings: EngineSettings,
  ) {
    this.#backend = backend;
    this.#resources = resources;
    this.#settings = settings;
  }

  #now(): number {
    return this.#settings.clock.now();
  }

  #driver(resource: AnyResource): EvolutionDriver {
    const driver = this.#backend.driver(resource);
    if (!supportsEvolution(driver))
      throw new ConfigError(
        `${this.#backend.name}: the ${resource.name} driver has no evolution SPI`,
      );
    return driver;
  }

  async #liveServices(): Promise<FleetService[]> {
    const now = this.#now();
    return (await readMembers(this.stores))
      .filter((m) => isLive(m, now, this.#settings.clockSkewMs))
      .map((m) => ({
        member: m.member,
        service: m.service,
        release: m.release,
        reads: m.reads,
        writes: m.writes,
        lastSeenAt: m.lastSeenAt,
      }));
  }

  async minimumVersion(resource: AnyResource): Promise<string | null> {
    let min: string | null = null;
    for (const s of await this.#liveServices()) {
      const reads = s.reads[resource.name];
      if (reads !== undefined && (min === null || isOlder(reads, min))) min = reads;
    }
    return min;
  }

  async status(): Promise<UpgradeStatus> {
    const states = await readStates(this.stores);
    const services = await this.#liveServices();
    const out: ResourceStatus[] = [];
    for (const resource of this.#resources) {
      out.push(
        statusOfResource({
          resource,
          applied: await this.#backend.appliedElements(resource),
          counts: await this.#driver(resource).countByVersion(),
          state: states.get(resource.name),
          services,
        }),
      );
    }
    const unknown = [...states.keys()].filter((n) => !this.#resources.some((r) => r.name === n));
    return summarise(out, services, unknown);
  }

  async expand(options: { readonly dryRun?: boolean } = {}): Promise<ElementsReport[]> {
    const reports: ElementsReport[] = [];
    for (const resource of this.#resources) {
      // The version in force before this release: the pin, else the newest stored version.
      const counts = await this.#driver(resource).countByVersion();
      if (!options.dryRun) {
        const inForce = newest(Object.keys(counts)) ?? resource.version;
        await ensureState(this.stores, resource.name, inForce, 'expand');
      }
      const { added } = await expandResource(this.#backend, resource, options);
      reports.push({ resource: resource.name, elements: describeElements(added) });
      if (!options.dryRun) {
        await updateState(this.stores, resource.name, (s) =>
          s.target === resource.version && s.lastStep !== 'join'
            ? undefined
            : { target: resource.version, lastStep: 'expand' },
        );
      }
    }
    return reports;
  }

  async migrate(options: MigrateOptions = {}): Promise<MigrateReport[]> {
    const batch = options.batch ?? 500;
    if (!Number.isSafeInteger(batch) || batch < 1 || batch > 10_000)
      throw new ConfigError(`migrate: batch must be an integer from 1 to 10000, got ${batch}`);
    const waitMs = options.waitMs ?? this.#settings.runnerLeaseMs * 3;
    const pace = new Pace(options.rate);
    const reports: MigrateReport[] = [];
    for (const resource of this.#resources) {
      if (options.only && !options.only.includes(resource.name)) continue;
      const status = (await this.status()).resources.find((r) => r.resource === resource.name)!;
      if (status.missing.length > 0)
        throw new UpgradeBlockedError('migrate', resource.name, [
          `the store lacks ${status.missing.join(', ')}: run expand first`,
        ]);
      await ensureState(this.stores, resource.name, resource.version, 'join');
      const from = (await readState(this.stores, resource.name))!.pin;
      if (!isOlder(from, resource.version) && status.belowCode === 0) {
        reports.push({
          resource: resource.name,
          pin: { from, to: from },
          converted: 0,
          remaining: 0,
        });
        continue;
      }
      await this.#takeLease(resource, waitMs);
      try {
        await this.#movePin(resource, waitMs);
        const converted = await this.#convert(resource, batch, pace, options);
        const remaining = countBelow(
          await this.#driver(resource).countByVersion(),
          resource.version,
        );
        if (remaining === 0) {
          await updateState(this.stores, resource.name, () => ({
            lastStep: 'migrate',
            checkpointVersion: null,
            checkpointAfter: null,
          }));
        }
        reports.push({
          resource: resource.name,
          pin: { from, to: resource.version },
          converted,
          remaining,
        });
        if (options.signal?.aborted) break;
      } finally {
        await this.#releaseLease(resource);
      }
    }
    return reports;
  }

  /** Takes the runner lease of a resource, waiting up to `waitMs` for another runner's to lapse. */
  async #takeLease(resource: AnyResource, waitMs: number): Promise<void> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      let heldBy: UpgradeState | undefined;
      await updateState(this.stores, resource.name, (s) => {
        const held =
          s.runner !== null &&
          s.runner !== this.#settings.runner &&
          s.runnerUntil !== null &&
          Date.parse(s.runnerUntil) > this.#now();
        heldBy = held ? s : undefined;
        return held ? undefined : { runner: this.#settings.runner, runnerUntil: this.#leaseEnd() };
      });
      if (!heldBy) return;
      if (Date.now() >= deadline)
        throw new UpgradeBlockedError('migrate', resource.name, [
          `another migrate (${heldBy.runner}) holds the runner lease until ${heldBy.runnerUntil}`,
        ]);
      await sleep(Math.min(500, this.#settings.runnerLeaseMs / 4));
    }
  }

  #leaseEnd(): string {
    return new Date(this.#now() + this.#settings.runnerLeaseMs).toISOString();
  }

  async #releaseLease(resource: AnyResource): Promise<void> {
    await updateState(this.stores, resource.name, (s) =>
      s.runner === this.#settings.runner ? { runner: null, runnerUntil: null } : undefined,
    ).catch(() => {});
  }

  /** Renews the lease; refuses to go on when another runner took it over. */
  async #renewLease(resource: AnyResource, checkpoint: Partial<UpgradeState>): Promise<void> {
    let lost: string | null = null;
    await updateState(this.stores, resource.name, (s) => {
      if (s.runner !== this.#settings.runner) {
        lost = s.runner;
        return undefined;
      }
      return { ...checkpoint, runnerUntil: this.#leaseEnd() };
    });
    if (lost !== null)
      throw new UpgradeBlockedError('migrate', resource.name, [
        `runner ${lost} took over the lease (this run paused longer than ${this.#settings.runnerLeaseMs} ms)`,
      ]);
  }

  /**
   * Moves the pin of `resource` to the code's version once every live process knows it,
   * then waits until every live process writes at it (or its lease lapsed).
   */
  async #movePin(resource: AnyResource, waitMs: number): Promise<void> {
    const services = await this.#liveServices();
    const behind = services.filter((s) => {
      const reads = s.reads[resource.name];
      return reads === undefined || isOlder(reads, resource.version);
    });
    const state = (await readState(this.stores, resource.name))!;
    if (isOlder(state.pin, resource.version)) {
      if (behind.length > 0)
        throw new UpgradeBlockedError(
          'migrate',
          resource.name,
          behind.map(
            (s) =>
              `${s.service} ${s.member} (release ${s.release}) knows ${resource.name} ${s.reads[resource.name] ?? 'not at all'}, older than ${resource.version}: upgrade or stop it first`,
          ),
        );
      // A new pin starts a new conversion: the checkpoint and count of the last one are done with.
      const below = countBelow(await this.#driver(resource).countByVersion(), resource.version);
      await updateState(this.stores, resource.name, (s) =>
        isOlder(s.pin, resource.version)
          ? {
              pin: resource.version,
              converted: 0,
              found: below,
              checkpointVersion: null,
              checkpointAfter: null,
            }
          : undefined,
      );
    }
    // Every live process acknowledges the pin with its next heartbeat (or lapses).
    const deadline = Date.now() + waitMs;
    for (;;) {
      const lagging = (await this.#liveServices()).filter((s) => {
        const writes = s.writes[resource.name];
        return writes !== undefined && isOlder(writes, resource.version);
      });
      if (lagging.length === 0) {
        // Every live process writes at the new version: from now on the backend itself
        // refuses writes below it (a process the fleet left behind), where it can.
        await this.#backend.setWriteFloor?.(resource, resource.version);
        return;
      }
      if (Date.now() >= deadline)
        throw new UpgradeBlockedError(
          'migrate',
          resource.name,
          lagging.map(
            (s) =>
              `${s.service} ${s.member} still writes ${resource.name} at ${s.writes[resource.name]} (no heartbeat since the pin moved)`,
          ),
        );
      await this.#renewLease(resource, {});
      await sleep(200);
    }
  }

  /** Converts every record older than the code's version, from the checkpoint on. */
  async #convert(
    resource: AnyResource,
    batch: number,
    pace: Pace,
    options: MigrateOptions,
  ): Promise<number> {
    const driver = this.#driver(resource);
    const concurrency = options.concurrency ?? 8;
    const started = Date.now();
    let converted = 0;
    const state = (await readState(this.stores, resource.name))!;
    const belowNow = countBelow(await driver.countByVersion(), resource.version);
    // A run killed after rewriting part of a page but before its checkpoint converted
    // records the checkpoint's count misses: what the version index says was converted
    // since the pin moved counts too (a lower bound when older writes arrived late).
    const doneBefore = Math.max(state.converted, state.found - belowNow);
    let found = doneBefore + belowNow;
    // A pass over every older version; records written meanwhile at an older version by a
    // process that had not seen the pin yet are found by the next pass.
    for (let pass = 0; ; pass++) {
      const counts = await driver.countByVersion();
      const versions = Object.keys(counts)
        .filter((v) => isOlder(v, resource.version))
        .sort((a, b) => (isOlder(a, b) ? -1 : 1));
      if (versions.length === 0) return converted;
      if (pass > 0) found = doneBefore + converted + countBelow(counts, resource.version);
      const resumeAt = pass === 0 ? state.checkpointVersion : null;
      for (const version of versions) {
        let after: string | undefined =
          resumeAt === version ? (state.checkpointAfter ?? undefined) : undefined;
        // The next page is read while this one is rewritten (its records lie after this
        // page's last id, so the rewrite cannot touch them; one written meanwhile fails its
        // revision check and is converted again from what it became).
        let reading: Promise<VersionPage> | undefined = readAhead(() =>
          retrying(() => driver.scanVersion(version, after, batch)),
        );
        do {
          if (options.signal?.aborted) return converted;
          const page: VersionPage = await reading;
          after = page.after;
          const from = after;
          reading =
            from === undefined
              ? undefined
              : readAhead(() => retrying(() => driver.scanVersion(version, from, batch)));
          converted += await retrying(() =>
            convertPage(driver, resource, page.records, concurrency),
          );
          await this.#renewLease(resource, {
            checkpointVersion: after === undefined ? null : version,
            checkpointAfter: after ?? null,
            converted: doneBefore + converted,
          });
          const elapsed = (Date.now() - started) / 1000;
          const rate = elapsed > 0 ? converted / elapsed : 0;
          const left = Math.max(0, found - doneBefore - converted);
          options.onProgress?.({
            resource: resource.name,
            found,
            done: doneBefore + converted,
            ratePerSecond: rate,
            etaMs: rate > 0 ? Math.round((left / rate) * 1000) : null,
          });
          await pace.after(page.records.length);
        } while (reading !== undefined);
      }
      if (pass > 1000)
        throw new UpgradeBlockedError('migrate', resource.name, [
          'older records kept appearing through 1000 passes: a process writes at an older version without being in the fleet',
        ]);
    }
  }

  async switch(): Promise<ElementsReport[]> {
    const reports: ElementsReport[] = [];
    for (const resource of this.#resources) {
      const status = (await this.status()).resources.find((r) => r.resource === resource.name)!;
      const writeOnly = status.elements
        .filter((e) => e.state === 'write-only')
        .map((e) => e.name.replace(/^field /, ''));
      if (writeOnly.length === 0) {
        reports.push({ resource: resource.name, elements: [] });
        continue;
      }
      if (status.belowCode > 0 || isOlder(status.pin ?? resource.version, resource.version))
        throw new UpgradeBlockedError('switch', resource.name, [
          `${status.belowCode} records are older than ${resource.version}: run migrate first`,
        ]);
      await this.#backend.publish(resource, writeOnly);
      await updateState(this.stores, resource.name, () => ({ lastStep: 'switch' }));
      reports.push({ resource: resource.name, elements: writeOnly.map((f) => `field ${f}`) });
    }
    return reports;
  }

  async contract(options: { readonly dryRun?: boolean } = {}): Promise<ElementsReport[]> {
    const reports: ElementsReport[] = [];
    for (const resource of this.#resources) {
      const status = (await this.status()).resources.find((r) => r.resource === resource.name)!;
      const applied = await this.#backend.appliedElements(resource);
      const extra: SchemaElements = elementsMinus(applied, elementsOf(resource));
      if (isEmptyElements(extra)) {
        reports.push({ resource: resource.name, elements: [] });
        continue;
      }
      if (status.next === 'contract' && status.blockedBy.length > 0)
        throw new UpgradeBlockedError('contract', resource.name, status.blockedBy);
      if (status.next !== 'contract')
        throw new UpgradeBlockedError('contract', resource.name, [
          `${resource.name} needs ${status.next} first`,
          ...status.blockedBy,
        ]);
      const names = describeElements(extra);
      if (!options.dryRun) {
        await this.#backend.contract(resource, extra);
        await updateState(this.stores, resource.name, (s) => ({
          lastStep: 'contract',
          dropped: [...new Set([...s.dropped, ...names])],
        }));
      }
      reports.push({ resource: resource.name, elements: names });
    }
    return reports;
  }

  close(): Promise<void> {
    this.#closed ??= this.stores.close();
    return this.#closed;
  }
}

/**
 * Converts a page: in one batched rewrite where the driver has one (records it did not
 * rewrite, e.g. written meanwhile, go one by one), else `concurrency` records at a time.
 * The number converted.
 */
async function convertPage(
  driver: EvolutionDriver,
  resource: AnyResource,
  records: readonly StoredRecord[],
  concurrency: number,
): Promise<number> {
  let todo = records;
  let converted = 0;
  if (driver.rewriteMany && records.length > 1) {
    const rewrites = records
      .filter(
        (r) => typeof r.objectVersion === 'string' && isOlder(r.objectVersion, resource.version),
      )
      .map((record) => ({
        record: { ...readAtCodeVersion(resource, record), objectVersion: resource.version },
        expectedRevision: record.revision,
      }));
    const done = new Set(await driver.rewriteMany(rewrites));
    converted += done.size;
    todo = records.filter((r) => !done.has(r.id));
  }
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const record = todo[next++]!;
      if (await convertRecord(driver, resource, record)) converted++;
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, todo.length)) }, worker),
  );
  return converted;
}

/** Conflicts in a row after which converting one record gives up. */
const CONVERT_ATTEMPTS = 50;

/** Converts one record to the code's version (see core's `rewriteAtCodeVersion`); whether it was converted. */
async function convertRecord(
  driver: EvolutionDriver,
  resource: AnyResource,
  record: StoredRecord,
): Promise<boolean> {
  try {
    return await rewriteAtCodeVersion(driver, resource, record, CONVERT_ATTEMPTS);
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err;
    throw new UpgradeBlockedError('migrate', resource.name, [
      `record ${record.id} changed under ${CONVERT_ATTEMPTS} conversions in a row`,
    ]);
  }
}

/**
 * Runs a step again after a retriable error (the store unreachable for a moment, a record
 * still claimed by a killed writer on FerretDB), up to 5 times with a growing pause: pages
 * are idempotent, a record converted by the failed attempt is skipped by the next.
 */
async function retrying<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!(err instanceof PolystoreError && err.retriable) || attempt >= 5) throw err;
      await sleep(500 * 2 ** attempt);
    }
  }
}

/**
 * Starts reading a page ahead. A read the loop leaves behind (it stopped on an abort or a
 * failure) is not awaited by anyone: its failure is marked handled here, so it cannot
 * surface as an unhandled rejection; whoever awaits the page still gets the failure.
 */
function readAhead(read: () => Promise<VersionPage>): Promise<VersionPage> {
  const page = read();
  page.catch(() => {});
  return page;
}

/** Paces a loop to at most `rate` records per second (read again before every wait). */
class Pace {
  readonly #rate: MigrateOptions['rate'];
  #windowStart = Date.now();
  #inWindow = 0;

  constructor(rate: MigrateOptions['rate']) {
    this.#rate = rate;
  }

  async after(records: number): Promise<void> {
    const rate = typeof this.#rate === 'function' ? this.#rate() : this.#rate;
    if (rate === undefined || !(rate > 0) || !Number.isFinite(rate)) {
      this.#windowStart = Date.now();
      this.#inWindow = 0;
      return;
    }
    this.#inWindow += records;
    const due = this.#windowStart + (this.#inWindow / rate) * 1000;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    // A fresh window every few seconds, so a rate changed meanwhile applies from now on.
    if (Date.now() - this.#windowStart > 5000) {
      this.#windowStart = Date.now();
      this.#inWindow = 0;
    }
  }
}

function countBelow(counts: Readonly<Record<string, number>>, version: string): number {
  return Object.entries(counts)
    .filter(([v]) => isOlder(v, version))
    .reduce((a, [, n]) => a + n, 0);
}

function newest(versions: readonly string[]): string | undefined {
  const valid = versions.filter((v) => /^\d+\.\d+$/.test(v));
  return valid.sort((a, b) => (isOlder(a, b) ? 1 : -1))[0];
}

function summarise(
  resources: ResourceStatus[],
  services: FleetService[],
  unknownStates: string[],
): UpgradeStatus {
  const order: Phase[] = ['expand', 'migrate', 'switch', 'contract'];
  let next: Phase | 'none' = 'none';
  let blocked = false;
  for (const phase of order) {
    const needing = resources.filter((r) => r.next === phase);
    if (needing.length === 0) continue;
    next = phase;
    blocked = needing.every((r) => r.blockedBy.length > 0);
    break;
  }
  return { resources, services, next, blocked, unknownResources: unknownStates };
}
