import {
  type AnyResource,
  type Capabilities,
  ConfigError,
  compareVersions,
  fixedIpResource,
  InvalidInputError,
  networkResource,
  parseVersion,
  type StoresOptions,
  UnavailableError,
} from '@polystore/core';
import {
  type AddressAllocator,
  type Backend,
  canonicalJson,
  compareCodePoints,
  defineCapabilities,
  type EvolutionBackend,
  elementsMinus,
  elementsOf,
  elementsUnion,
  isEmptyElements,
  NO_ELEMENTS,
  pendingAfter,
  type ResourceDriver,
  resourcesOf,
  type SchemaElements,
  UniqueViolationError,
  uniqueKey,
  unopenedAllocator,
  withPending,
} from '@polystore/core/adapter';
import { decodeElements, decodeFloor, encodeElements } from './applied-elements.js';
import { removeTree } from './directory-sweep.js';
import { toCoreError, ZK, ZkOpError } from './errors.js';
import { ResourceLayout } from './layout.js';
import { ZooKeeperAddressAllocator } from './zookeeper-address-allocator.js';
import { type ZkOp, ZooKeeperClient } from './zookeeper-client.js';
import type { ResolvedZooKeeperOptions } from './zookeeper-options.js';
import { ZooKeeperResourceDriver } from './zookeeper-resource-driver.js';

/**
 * The ZooKeeper adapter's capability manifest. A znode holds at most `jute.maxbuffer`
 * (about 1 MB, including the request around it); records are capped well below, at
 * 256 KiB, so a multi with a record and its index znodes always fits. Reads may be served
 * by a follower that lags the leader: sequentially consistent, not linearizable.
 */
export const ZOOKEEPER_CAPABILITIES: Capabilities = defineCapabilities({
  maxRecordBytes: 256 * 1024,
  reads: 'sequential',
  serverSideQueries: false,
  // The write floor lives in the schema znode whose version every write's multi checks.
  fencing: 'atomic',
  features: {},
});

/** How often `expand` or `contract` reads the schema znode again after another client changed it. */
const MAX_SCHEMA_ATTEMPTS = 50;

/**
 * A backend over one ZooKeeper session: a generic driver per opened resource (and znodes
 * for those only) and, when `fixedIp` is opened, the address allocator.
 */
export class ZooKeeperBackend implements Backend, EvolutionBackend {
  readonly name = 'zookeeper';
  readonly capabilities = ZOOKEEPER_CAPABILITIES;
  readonly allocator: AddressAllocator;
  readonly #client: ZooKeeperClient;
  readonly #drivers: ReadonlyMap<AnyResource, ZooKeeperResourceDriver>;
  readonly #layouts: readonly ResourceLayout[];
  readonly #chroot: string;

  private constructor(
    client: ZooKeeperClient,
    options: ResolvedZooKeeperOptions,
    stores: StoresOptions,
  ) {
    this.#client = client;
    this.#chroot = options.chroot;
    const drivers = new Map<AnyResource, ZooKeeperResourceDriver>();
    const layouts: ResourceLayout[] = [];
    for (const resource of resourcesOf(stores)) {
      const layout = new ResourceLayout(options.chroot, resource);
      layouts.push(layout);
      drivers.set(
        resource,
        new ZooKeeperResourceDriver(
          layout,
          client,
          ZOOKEEPER_CAPABILITIES.maxRecordBytes,
          options.cacheSize,
        ),
      );
    }
    this.#drivers = drivers;
    this.#layouts = layouts;
    const networks = drivers.get(networkResource);
    const fixedIps = drivers.get(fixedIpResource);
    // resourcesOf refuses fixedIp without network.
    this.allocator =
      networks && fixedIps
        ? new ZooKeeperAddressAllocator(client, networks.access, fixedIps.access)
        : unopenedAllocator('zookeeper');
  }

  /**
   * Connects and creates the chroot and, for each opened resource the store does not have
   * yet (no schema znode), its fixed znodes and its schema znode recording the elements of
   * the opening definition. A resource the store has gets no znode at all: its index and
   * unique directories are `expand`'s to add, and core's open refuses code that needs
   * elements the store lacks. Fails with `UnavailableError`, or `ConfigError` when
   * node-zookeeper-client is not installed or a resource is stored under its singular name
   * (an older polystore's layout).
   */
  static async open(
    options: ResolvedZooKeeperOptions,
    stores: StoresOptions = {},
  ): Promise<ZooKeeperBackend> {
    const client = await ZooKeeperClient.connect(options);
    try {
      const backend = new ZooKeeperBackend(client, options, stores);
      await client.ensurePath(options.chroot);
      client.markPermanent(
        options.chroot.split('/').map((_, i, all) => all.slice(0, i + 1).join('/')),
      );
      const drivers = backend.#layouts.map((l) => backend.#drivers.get(l.resource)!);
      const applied = await Promise.all(drivers.map((d) => d.evolution.loadSchema()));
      await Promise.all(
        backend.#layouts.map(async (layout, i) => {
          if (applied[i] === undefined && (await backend.#createResource(layout))) {
            await drivers[i]!.evolution.loadSchema();
          }
        }),
      );
      // Writes never create the fixed directories that exist (an older store may lack some
      // this definition has: a write makes those in its own multi).
      const fixed = [...new Set(backend.#layouts.flatMap((l) => withParents(l)))];
      const exists = await Promise.all(fixed.map((p) => client.countChildren(p)));
      client.markPermanent(fixed.filter((_, i) => exists[i] !== undefined));
      return backend;
    } catch (err) {
      client.close();
      throw toCoreError(err, { what: 'open' });
    }
  }

  /**
   * Makes a resource the store does not have: its fixed znodes and then its schema znode,
   * recording the elements of `layout`'s definition, in one multi. When another client made
   * the resource meanwhile, nothing is added; when a root without a schema znode is there
   * (left by a client that made the directories one by one), the missing znodes are added.
   * Returns whether the schema znode exists now (`false` only if it is gone again).
   * Refuses with `ConfigError` a resource an older polystore stored under its singular
   * name (`<chroot>/instance` rather than `<chroot>/instances`), rather than make it empty.
   */
  async #createResource(layout: ResourceLayout): Promise<boolean> {
    const client = this.#client;
    const { name, plural } = layout.resource;
    const legacy = `${this.#chroot}/${name}`;
    if (name !== plural && (await client.countChildren(legacy)) !== undefined) {
      throw new ConfigError(
        `zookeeper: ${name} is stored under ${legacy}, the path of an older polystore; this one names it by the plural (${layout.root}). Copy every znode under ${legacy} to the same path under ${layout.root} (no znode's data holds a path), remove ${legacy}, then open again`,
      );
    }
    const dirs = withParents(layout);
    const schema = encodeElements(elementsOf(layout.resource));
    try {
      await client.multi([
        ...dirs.map((path): ZkOp => ({ type: 'create', path })),
        { type: 'create', path: layout.schema, data: schema },
      ]);
      return true;
    } catch (err) {
      if (!(err instanceof ZkOpError && err.code === ZK.NODE_EXISTS)) throw err;
    }
    if (await client.getData(layout.schema)) return true;
    // Parents first: each depth is one round of concurrent creates (an existing one is fine).
    for (const depth of [...new Set(dirs.map(depthOf))].sort((a, b) => a - b)) {
      await Promise.all(dirs.filter((d) => depthOf(d) === depth).map((d) => client.create(d)));
    }
    await client.create(layout.schema, schema);
    return (await client.getData(layout.schema)) !== undefined;
  }

  driver(resource: AnyResource): ResourceDriver {
    return this.zooKeeperDriver(resource);
  }

  /** The driver of a resource with its ZooKeeper-specific methods (e.g. `countBelowVersion`). */
  zooKeeperDriver(resource: AnyResource): ZooKeeperResourceDriver {
    const d = this.#drivers.get(resource);
    if (!d) throw new ConfigError(`zookeeper backend has no resource ${resource.name}`);
    return d;
  }

  /** Requests sent over the session so far (to measure round trips). */
  get requests(): number {
    return this.#client.requests;
  }

  /** ZooKeeper clients started so far, each with a new session (replacing an expired or lost one). */
  get sessions(): number {
    return this.#client.sessions;
  }

  /** The chroot every path lives under, and the session's request and session counts. */
  describe(): Readonly<Record<string, string | number>> {
    return { chroot: this.#chroot, requests: this.requests, sessions: this.sessions };
  }

  /**
   * Adds the elements a resource lacks: the directories of new indexes and unique
   * constraints, the applied elements recorded in the schema znode (under a version check),
   * then every record entered in the new entries. A unique constraint that live records
   * violate is refused with `UniqueViolationError` before anything changes (and undone if
   * a write made a clash meanwhile). Idempotent; works for any resource, opened or not.
   */
  expand(resource: AnyResource, elements: SchemaElements): Promise<void> {
    return this.#evolve('expand', resource, async (driver, layout) => {
      for (let attempt = 0; attempt < MAX_SCHEMA_ATTEMPTS; attempt++) {
        const read = await this.#readApplied(layout);
        const { applied } = read;
        const added = elementsMinus(elements, applied);
        // The write-only marks go in the same znode write as the fields (they may name
        // fields applied before, so a call that adds nothing may still mark some).
        const next = elementsUnion(applied, elements);
        const marked = (next.pending ?? []).filter((n) => !applied.pending?.includes(n));
        if (isEmptyElements(added) && marked.length === 0) break;
        await this.#refuseViolated(driver, resource, added);
        for (const i of added.indexes) await this.#client.ensurePath(layout.indexDir(i.field));
        for (const u of added.uniques) await this.#client.ensurePath(layout.uniqueDir(u));
        if (!(await this.#setApplied(layout, next, read))) continue;
        await driver.evolution.loadSchema();
        for (const i of added.indexes) await driver.evolution.removeOrphans(i.field);
        const clash = await driver.evolution.enterAll();
        if (clash) {
          await this.#undo(driver, layout, added, marked);
          throw new UniqueViolationError(resource.name, clash.fields, clash.ids);
        }
        return;
      }
      // Applied already (by this or another client): finish entering records it may have left.
      await driver.evolution.loadSchema();
      await driver.evolution.enterAll();
    });
  }

  /**
   * Drops the elements a resource has: recorded first (so writers stop maintaining them),
   * then the directories of dropped indexes and unique constraints, and a dropped field's
   * values leave every record (revisions do not move). Idempotent.
   */
  contract(resource: AnyResource, elements: SchemaElements): Promise<void> {
    return this.#evolve('contract', resource, async (driver, layout) => {
      for (let attempt = 0; ; attempt++) {
        const read = await this.#readApplied(layout);
        if (await this.#setApplied(layout, elementsMinus(read.applied, elements), read)) break;
        if (attempt >= MAX_SCHEMA_ATTEMPTS) {
          throw new UnavailableError(`zookeeper: the schema of ${resource.name} kept changing`);
        }
      }
      await driver.evolution.loadSchema();
      // What the given definition still indexes (an equality index of every queryable field) stays.
      const own = new Set(new ResourceLayout(this.#chroot, resource).indexedFields);
      for (const i of elements.indexes) {
        if (!own.has(i.field)) await removeTree(this.#client, layout.indexDir(i.field));
      }
      const ownUniques = new Set(resource.unique.map(uniqueKey));
      for (const u of elements.uniques) {
        if (!ownUniques.has(uniqueKey(u))) await removeTree(this.#client, layout.uniqueDir(u));
      }
      await driver.evolution.dropFields(elements.fields.map((x) => x.name));
    });
  }

  /**
   * Takes back what an `expand` that met a clash applied: the elements and the write-only
   * marks it recorded (`marked`) leave the schema znode and the entries of its new indexes
   * and unique constraints go. Their directories stay (a process whose definition has them
   * treats them as permanent) and field values are kept: no record written meanwhile loses
   * data.
   */
  async #undo(
    driver: ZooKeeperResourceDriver,
    layout: ResourceLayout,
    added: SchemaElements,
    marked: readonly string[],
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const read = await this.#readApplied(layout);
      const kept = elementsMinus(read.applied, added);
      const unmarked = withPending(
        kept,
        pendingAfter(
          kept.fields.map((x) => x.name),
          [kept.pending],
          marked,
        ),
      );
      if (await this.#setApplied(layout, unmarked, read)) break;
      if (attempt >= MAX_SCHEMA_ATTEMPTS) {
        throw new UnavailableError(
          `zookeeper: the schema of ${layout.resource.name} kept changing`,
        );
      }
    }
    await driver.evolution.loadSchema();
    const dirs = [
      ...added.indexes.map((i) => layout.indexDir(i.field)),
      ...added.uniques.map((u) => layout.uniqueDir(u)),
    ];
    for (const dir of dirs) {
      for (const child of (await this.#client.getChildren(dir)) ?? []) {
        await removeTree(this.#client, `${dir}/${child}`);
      }
    }
  }

  /**
   * Makes write-only fields public: removes them from the `pending` the schema znode
   * records, under the znode's version check (read again when another client changed it).
   * Fields not write-only are ignored; a resource the store does not have has none.
   * Idempotent: nothing is written when no field changes.
   */
  async publish(resource: AnyResource, fields: readonly string[]): Promise<void> {
    try {
      const opened = this.#opened(resource);
      const layout = opened?.access.layout ?? new ResourceLayout(this.#chroot, resource);
      for (let attempt = 0; ; attempt++) {
        const found = await this.#client.getData(layout.schema);
        if (!found) return;
        const applied = decodeElements(found.data, layout.resource);
        const pending = pendingAfter(
          applied.fields.map((x) => x.name),
          [applied.pending],
          fields,
        );
        if (pending.length === (applied.pending?.length ?? 0)) return;
        const read = { version: found.version, floor: decodeFloor(found.data) };
        if (await this.#setApplied(layout, withPending(applied, pending), read)) break;
        if (attempt >= MAX_SCHEMA_ATTEMPTS) {
          throw new UnavailableError(`zookeeper: the schema of ${resource.name} kept changing`);
        }
      }
      // The opened driver's writes check the znode's version: let them see the new one now.
      await opened?.evolution.loadSchema();
    } catch (err) {
      throw toCoreError(err, { what: `publish ${resource.name}` });
    }
  }

  /**
   * Raises the write floor of a live upgrade: from now on every insert, update and
   * allocation of `resource` that would leave a record at an object version older than
   * `floor` is refused with `WriteBelowPinError`, and nothing is written. Deletes and
   * rewrites pass. A floor lower than the recorded one changes nothing; idempotent.
   *
   * The floor is kept in the resource's schema znode, next to the applied elements, and
   * written under its version check. Every write's multi already ends with a `check` of
   * that znode's version (so that it never misses an element `expand` applied), and the
   * driver checks the write's version against the floor it read with that same znode
   * version: a write built before the floor was raised fails its multi as a whole, reads
   * the znode again and is refused. The floor costs writes no op and no round trip, and a
   * client opened earlier learns it at its next write without reopening.
   *
   * @example
   * ```ts
   * await backend.setWriteFloor(widget, '1.1');
   * await backend.writeFloor(widget); // '1.1'
   * ```
   */
  async setWriteFloor(resource: AnyResource, floor: string): Promise<void> {
    checkFloor(resource, floor);
    return this.#evolve('setWriteFloor', resource, async (driver, layout) => {
      for (let attempt = 0; ; attempt++) {
        const read = await this.#readApplied(layout);
        if (read.floor !== undefined && compareVersions(read.floor, floor) >= 0) break;
        if (await this.#setApplied(layout, read.applied, { ...read, floor })) break;
        if (attempt >= MAX_SCHEMA_ATTEMPTS) {
          throw new UnavailableError(`zookeeper: the schema of ${resource.name} kept changing`);
        }
      }
      // This process's writes learn it now rather than at their next multi.
      await driver.evolution.loadSchema();
    });
  }

  /** The write floor {@link setWriteFloor} recorded for `resource`, or `undefined`. */
  async writeFloor(resource: AnyResource): Promise<string | undefined> {
    const layout = new ResourceLayout(this.#chroot, resource);
    try {
      const found = await this.#client.getData(layout.schema);
      return found ? decodeFloor(found.data) : undefined;
    } catch (err) {
      throw toCoreError(err, { what: `writeFloor ${resource.name}` });
    }
  }

  /** The elements the resource's schema znode records as applied (none when it has none). */
  async appliedElements(resource: AnyResource): Promise<SchemaElements> {
    const layout = new ResourceLayout(this.#chroot, resource);
    try {
      const found = await this.#client.getData(layout.schema);
      return found ? decodeElements(found.data, resource) : NO_ELEMENTS;
    } catch (err) {
      throw toCoreError(err, { what: `appliedElements ${resource.name}` });
    }
  }

  /**
   * One evolution step over a resource, with its driver: the opened one of that name
   * (whatever its definition: its writes then learn the new elements at once), else a new
   * one, the resource made as an open would if the store does not have it.
   */
  async #evolve(
    what: string,
    resource: AnyResource,
    step: (driver: ZooKeeperResourceDriver, layout: ResourceLayout) => Promise<void>,
  ): Promise<void> {
    try {
      const opened = this.#opened(resource);
      const layout = opened?.access.layout ?? new ResourceLayout(this.#chroot, resource);
      const driver =
        opened ??
        new ZooKeeperResourceDriver(layout, this.#client, ZOOKEEPER_CAPABILITIES.maxRecordBytes, 0);
      if (!opened && !(await this.#client.getData(layout.schema))) {
        await this.#createResource(layout);
      }
      await step(driver, layout);
    } catch (err) {
      throw toCoreError(err, { what: `${what} ${resource.name}` });
    }
  }

  /** The opened driver of a resource of that name (whatever its definition), if any. */
  #opened(resource: AnyResource): ZooKeeperResourceDriver | undefined {
    return (
      this.#drivers.get(resource) ?? [...this.#drivers].find(([r]) => r.name === resource.name)?.[1]
    );
  }

  /**
   * The schema znode as read: the applied elements, its version and the write floor it
   * records (created with no elements when missing).
   */
  async #readApplied(layout: ResourceLayout): Promise<AppliedRead> {
    const found = await this.#client.getData(layout.schema);
    if (found) {
      return {
        applied: decodeElements(found.data, layout.resource),
        version: found.version,
        floor: decodeFloor(found.data),
      };
    }
    await this.#client.create(layout.schema, encodeElements(NO_ELEMENTS));
    return this.#readApplied(layout);
  }

  /**
   * Records the applied elements if the schema znode is still at the version `read` was
   * read at, keeping the write floor it recorded; `false` if it changed.
   */
  async #setApplied(
    layout: ResourceLayout,
    applied: SchemaElements,
    read: Pick<AppliedRead, 'version' | 'floor'>,
  ): Promise<boolean> {
    try {
      await this.#client.multi([
        {
          type: 'set',
          path: layout.schema,
          data: encodeElements(applied, read.floor),
          version: read.version,
        },
      ]);
      return true;
    } catch (err) {
      if (err instanceof ZkOpError && err.code === ZK.BAD_VERSION) return false;
      throw err;
    }
  }

  /** Throws `UniqueViolationError` if live records share the values of a unique constraint among `added`. */
  async #refuseViolated(
    driver: ZooKeeperResourceDriver,
    resource: AnyResource,
    added: SchemaElements,
  ): Promise<void> {
    if (added.uniques.length === 0) return;
    const records = await driver.evolution.readAll();
    for (const fields of added.uniques) {
      const byValue = new Map<string, string[]>();
      for (const r of records) {
        if (r.deletedAt !== null || fields.some((f) => (r[f] ?? null) === null)) continue;
        const value = canonicalJson(fields.map((f) => r[f]));
        byValue.set(value, [...(byValue.get(value) ?? []), r.id]);
      }
      const ids = [...byValue.values()]
        .filter((x) => x.length > 1)
        .flat()
        .sort(compareCodePoints);
      if (ids.length > 0) throw new UniqueViolationError(resource.name, fields, ids);
    }
  }

  async close(): Promise<void> {
    this.#client.close();
  }
}

/** What the schema znode holds, as read, with the version it was read at. */
interface AppliedRead {
  readonly applied: SchemaElements;
  readonly version: number;
  /** The write floor (`setWriteFloor`), if one is set. */
  readonly floor: string | undefined;
}

/** The depth of a path (its number of `/`). */
function depthOf(path: string): number {
  return path.split('/').length;
}

/** A layout's fixed znodes with their parents up to its root, parents first. */
function withParents(layout: ResourceLayout): string[] {
  const out = new Set<string>();
  for (const path of layout.staticPaths()) {
    const parts = path.split('/');
    for (let i = depthOf(layout.root); i <= parts.length; i++) out.add(parts.slice(0, i).join('/'));
  }
  return [...out].sort((a, b) => depthOf(a) - depthOf(b));
}

/** Refuses a write floor that is not a `major.minor` version, before anything is written. */
function checkFloor(resource: AnyResource, floor: string): void {
  try {
    parseVersion(floor);
  } catch {
    throw new InvalidInputError(resource.name, [
      { field: 'floor', message: `must be a "major.minor" version, got ${JSON.stringify(floor)}` },
    ]);
  }
}
