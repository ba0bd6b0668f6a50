import { DuplicateError, ExhaustedError, NotFoundError, UnavailableError } from '@polystore/core';
import {
  type AddressAllocator,
  type AllocateInput,
  allocatedRecord,
  checkRequestedAddress,
  inReadScope,
  inWriteScope,
  lowestFreeAddress,
  type ReadScope,
  type StoredRecord,
  type WriteScope,
} from '@polystore/core/adapter';
import { ZkOpError } from './errors.js';
import { decodeString } from './layout.js';
import type { ZkClient, ZkOp } from './zk-client.js';
import type { ZooKeeperResourceDriver } from './zookeeper-resource-driver.js';

/** How often an allocation or release is tried again after losing a race. */
const MAX_ATTEMPTS = 50;
/** The unique constraint that makes an address taken. */
const ADDRESS_UNIQUE = ['networkId', 'address'] as const;

/**
 * Address allocation with ZooKeeper: read the network and the children of the network's
 * `(networkId, address)` unique directory (one round trip, two pipelined requests), pick
 * the lowest free address, then one multi that checks the network's znode version and
 * creates the fixed IP with its index and unique znodes. A race on the address or the
 * network fails the multi as a whole and the allocation is tried again.
 */
export class ZooKeeperAddressAllocator implements AddressAllocator {
  readonly #client: ZkClient;
  readonly #networks: ZooKeeperResourceDriver;
  readonly #fixedIps: ZooKeeperResourceDriver;

  constructor(
    client: ZkClient,
    networks: ZooKeeperResourceDriver,
    fixedIps: ZooKeeperResourceDriver,
  ) {
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
      const cidr = network.record.cidr as string;
      const gateway = network.record.gateway as string | null;
      const taken = new Set(
        (children ?? []).map(decodeString).filter((a): a is string => a !== undefined),
      );
      let address = input.address;
      if (address !== undefined) {
        checkRequestedAddress({ cidr, gateway }, address);
        if (taken.has(address)) throw new DuplicateError('fixedIp', ADDRESS_UNIQUE);
      } else {
        address = lowestFreeAddress(cidr, gateway, taken);
        if (address === undefined)
          throw new ExhaustedError(`network ${input.networkId} has no free address`);
      }
      const record: StoredRecord = allocatedRecord(input, address);
      const ops: ZkOp[] = [
        {
          type: 'check',
          path: this.#networks.layout.record(input.networkId),
          version: network.version,
        },
        ...this.#fixedIps.insertOps(record),
      ];
      try {
        await this.#client.commit(ops);
        return record;
      } catch (err) {
        if (!(err instanceof ZkOpError)) throw err;
        // The network changed (or went) since it was read: read it again.
        if (err.index === 0) continue;
        const mapped = this.#fixedIps.insertError(err, ops, 1);
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
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const ids = (await this.#client.getChildren(dir)) ?? [];
      const mine = (await this.#fixedIps.readManyVersioned(ids)).filter(
        (v) => v.record.instanceId === instanceId && inWriteScope(v.record, scope),
      );
      if (mine.length === 0) return 0;
      try {
        await this.#client.commit(mine.flatMap((v) => this.#fixedIps.hardDeleteOps(v)));
      } catch (err) {
        if (!(err instanceof ZkOpError)) throw err;
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
