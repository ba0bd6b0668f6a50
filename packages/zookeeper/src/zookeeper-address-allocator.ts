import { DuplicateError, NotFoundError, UnavailableError } from '@polystore/core';
import {
  type AddressAllocator,
  type AllocateInput,
  allocatedRecord,
  chooseAddress,
  inReadScope,
  inWriteScope,
  KeyedQueue,
  lowestFreeAddress,
  type ReadScope,
  type StoredRecord,
  type WriteScope,
} from '@polystore/core/adapter';
import { presentEntries } from './entry-probe.js';
import { toCoreError, ZkOpError } from './errors.js';
import { decodeString } from './layout.js';
import type { ZkOp, ZooKeeperClient } from './zookeeper-client.js';
import type { RecordAccess } from './zookeeper-resource-driver.js';

/** How often an allocation or release is tried again after losing a race. */
const MAX_ATTEMPTS = 50;
/** The unique constraint that makes an address taken. */
const ADDRESS_UNIQUE = ['networkId', 'address'] as const;
/** Networks whose next address is remembered at most (forgotten all at once when full). */
const MAX_HINTS = 10_000;

/**
 * Address allocation with ZooKeeper, two round trips when nothing races it: one pipelined
 * read of the network, the children of the network's `(networkId, address)` unique
 * directory and whether the index directory of the address it will most likely take
 * exists; pick the lowest free address; then one multi that checks the network's znode
 * version, creates the fixed IP with its index and unique znodes and ends with the check of
 * the fixed IPs' schema znode (their applied elements and write floor, as the driver's
 * writes do). A race on the address, the network or the schema fails the multi as a whole
 * and the allocation is tried again.
 *
 * The probe is what keeps it at two: `commit` creates in the multi the parent directories
 * it does not know to exist, and a multi refused on one that does exist costs two more
 * round trips (learn which exist, commit again). The address's index directory is new to
 * the process at every allocation, and exists already whenever another network holds the
 * same address (networks of the same range), so the probe asks about the address the
 * allocation will most likely take: the one asked for, or the next free one after the last
 * address this process chose in the network, remembered per network. The guess only
 * decides what is probed; the address is always chosen from the read.
 */
export class ZooKeeperAddressAllocator implements AddressAllocator {
  readonly #client: ZooKeeperClient;
  readonly #networks: RecordAccess;
  readonly #fixedIps: RecordAccess;
  /** Per network id: the address its next allocation most likely takes (the lowest free one after the last chosen). */
  readonly #hints = new Map<string, string>();
  /** One network's allocations from this process, one after another. */
  readonly #queue = new KeyedQueue();

  constructor(client: ZooKeeperClient, networks: RecordAccess, fixedIps: RecordAccess) {
    this.#client = client;
    this.#networks = networks;
    this.#fixedIps = fixedIps;
  }

  allocate(networkScope: ReadScope, input: AllocateInput): Promise<StoredRecord> {
    // Allocations of one network from this process take turns: concurrent ones would pick
    // the same lowest address and all but one read and try again, round after round (64 at
    // once ran past failFastMs). Other processes still race safely, on the multi. The
    // bound covers the wait for this process's earlier allocations too; one whose caller
    // was already told it failed (its wait ran past failFastMs) is dropped when its turn
    // comes, so a stall does not leave a queue of allocations nobody will learn about.
    let answered = false;
    const out = this.#client.bounded('allocate', () =>
      this.#queue.run(input.networkId, () =>
        answered
          ? Promise.reject(new UnavailableError('zookeeper: allocate: abandoned while queued'))
          : this.#allocate(networkScope, input),
      ),
    );
    out.then(
      () => {},
      () => {
        answered = true;
      },
    );
    return out;
  }

  releaseAllForInstance(scope: WriteScope, instanceId: string, at: string): Promise<number> {
    return this.#client.bounded('releaseAllForInstance', () =>
      this.#releaseAllForInstance(scope, instanceId, at),
    );
  }

  async #allocate(networkScope: ReadScope, input: AllocateInput): Promise<StoredRecord> {
    const takenDir = this.#fixedIps.layout.uniquePrefixDir(ADDRESS_UNIQUE, [input.networkId]);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const probed = this.#dirsToProbe(input);
      // All sent before any answer: one round trip.
      const [network, children, found] = await Promise.all([
        this.#networks.read(input.networkId),
        this.#client.getChildren(takenDir),
        Promise.all(probed.map((dir) => this.#client.countChildren(dir))),
      ]);
      this.#client.rememberDirs([
        ...probed.filter((_, i) => found[i] !== undefined),
        ...(children === undefined ? [] : [takenDir]),
      ]);
      if (!network || !inReadScope(network.record, networkScope))
        throw new NotFoundError('network', input.networkId);
      const taken = new Set(
        (children ?? []).map(decodeString).filter((a): a is string => a !== undefined),
      );
      const net = {
        cidr: network.record.cidr as string,
        gateway: network.record.gateway as string | null,
      };
      const address = chooseAddress(net, input, taken);
      if (input.address === undefined) this.#remember(input.networkId, net, address, taken);
      const record: StoredRecord = allocatedRecord(input, address);
      const ops: ZkOp[] = [
        {
          type: 'check',
          path: this.#networks.layout.record(input.networkId),
          version: network.version,
        },
        ...this.#fixedIps.ops.insert(record),
        // Last: refuses a fixed IP below the write floor, and fences the floor it read.
        ...this.#fixedIps.schemaCheck(record.objectVersion),
      ];
      try {
        await this.#client.commit(ops);
        return record;
      } catch (err) {
        if (!(err instanceof ZkOpError)) throw err;
        // The network changed (or went) since it was read: read it again.
        if (err.index === 0) continue;
        // The fixed IPs' schema znode changed (an expand, a raised floor): read it again.
        if (err.index === ops.length - 1 && ops.at(-1)?.path === this.#fixedIps.layout.schema) {
          await this.#fixedIps.loadSchema();
          continue;
        }
        const mapped = toCoreError(err, {
          resource: 'fixedIp',
          uniqueAt: this.#fixedIps.ops.uniqueAt(ops),
        });
        // Someone took the lowest free address first: pick again.
        if (
          mapped instanceof DuplicateError &&
          mapped.fields.length === 2 &&
          input.address === undefined
        )
          continue;
        throw mapped;
      }
    }
    throw new UnavailableError(
      `zookeeper: allocation in network ${input.networkId} lost ${MAX_ATTEMPTS} races in a row`,
    );
  }

  /**
   * The address's index directory, when `commit` does not know it exists: for the address
   * asked for, or else the one remembered for the network (nothing before the network's
   * first allocation in this process). The other directories the fixed IP needs are new to
   * the process once per value (the network, the instance), which the multi learns itself.
   */
  #dirsToProbe(input: AllocateInput): string[] {
    const address = input.address ?? this.#hints.get(input.networkId);
    if (address === undefined) return [];
    const dir = this.#fixedIps.layout.valueDir('address', address);
    return this.#client.unknownParents([{ type: 'create', path: `${dir}/${input.id}` }]);
  }

  /** Remembers the address after `chosen` as the network's likely next one. */
  #remember(
    networkId: string,
    network: { readonly cidr: string; readonly gateway: string | null },
    chosen: string,
    taken: ReadonlySet<string>,
  ): void {
    const next = lowestFreeAddress(network.cidr, network.gateway, taken, chosen);
    if (next === undefined) {
      this.#hints.delete(networkId);
      return;
    }
    if (this.#hints.size >= MAX_HINTS && !this.#hints.has(networkId)) this.#hints.clear();
    this.#hints.set(networkId, next);
  }

  async #releaseAllForInstance(
    scope: WriteScope,
    instanceId: string,
    _at: string,
  ): Promise<number> {
    const dir = this.#fixedIps.layout.valueDir('instanceId', instanceId);
    // After a failed multi, entries are probed: a fixed IP whose index entries another
    // definition made (or never made) is released with the entries it has.
    let probe = false;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const ids = (await this.#client.getChildren(dir)) ?? [];
      const mine = (await this.#fixedIps.readMany(ids)).filter(
        (v) => v.record.instanceId === instanceId && inWriteScope(v.record, scope),
      );
      if (mine.length === 0) return 0;
      const { ops, layout } = this.#fixedIps;
      const present = probe
        ? await presentEntries(
            this.#client,
            layout,
            mine.map((v) => v.record.id),
            mine.flatMap((v) => ops.entryPaths(v.record, v.token)),
          )
        : undefined;
      try {
        await this.#client.commit(mine.flatMap((v) => ops.hardDelete(v, present)));
      } catch (err) {
        if (!(err instanceof ZkOpError)) throw err;
        probe = true;
        continue;
      }
      for (const v of mine) this.#fixedIps.forget(v.record.id);
      return mine.length;
    }
    throw new UnavailableError(
      `zookeeper: release for instance ${instanceId} lost ${MAX_ATTEMPTS} races in a row`,
    );
  }
}
