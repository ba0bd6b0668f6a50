import { DuplicateError, NotFoundError, UnavailableError } from '@polystore/core';
import {
  type AddressAllocator,
  type AllocateInput,
  allocatedRecord,
  chooseAddress,
  inReadScope,
  inWriteScope,
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

/**
 * Address allocation with ZooKeeper: read the network and the children of the network's
 * `(networkId, address)` unique directory (one round trip, two pipelined requests), pick
 * the lowest free address, then one multi that checks the network's znode version,
 * creates the fixed IP with its index and unique znodes and ends with the check of the
 * fixed IPs' schema znode (their applied elements and write floor, as the driver's writes
 * do). A race on the address, the network or the schema fails the multi as a whole and the
 * allocation is tried again.
 */
export class ZooKeeperAddressAllocator implements AddressAllocator {
  readonly #client: ZooKeeperClient;
  readonly #networks: RecordAccess;
  readonly #fixedIps: RecordAccess;

  constructor(client: ZooKeeperClient, networks: RecordAccess, fixedIps: RecordAccess) {
    this.#client = client;
    this.#networks = networks;
    this.#fixedIps = fixedIps;
  }

  allocate(networkScope: ReadScope, input: AllocateInput): Promise<StoredRecord> {
    return this.#client.bounded('allocate', () => this.#allocate(networkScope, input));
  }

  releaseAllForInstance(scope: WriteScope, instanceId: string, at: string): Promise<number> {
    return this.#client.bounded('releaseAllForInstance', () =>
      this.#releaseAllForInstance(scope, instanceId, at),
    );
  }

  async #allocate(networkScope: ReadScope, input: AllocateInput): Promise<StoredRecord> {
    const takenDir = this.#fixedIps.layout.uniquePrefixDir(ADDRESS_UNIQUE, [input.networkId]);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const [network, children] = await Promise.all([
        this.#networks.read(input.networkId),
        this.#client.getChildren(takenDir),
      ]);
      if (!network || !inReadScope(network.record, networkScope))
        throw new NotFoundError('network', input.networkId);
      const taken = new Set(
        (children ?? []).map(decodeString).filter((a): a is string => a !== undefined),
      );
      const address = chooseAddress(
        { cidr: network.record.cidr as string, gateway: network.record.gateway as string | null },
        input,
        taken,
      );
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
