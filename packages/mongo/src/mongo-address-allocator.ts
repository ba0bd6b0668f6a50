import { DuplicateError, ExhaustedError, NotFoundError, UnavailableError } from '@polystore/core';
import {
  type AddressAllocator,
  type AllocateInput,
  allocatedRecord,
  checkRequestedAddress,
  lowestFreeAddress,
  type ReadScope,
  type StoredRecord,
  type WriteScope,
} from '@polystore/core/adapter';
import type { Collection } from 'mongodb';
import { mapErrors } from './errors.js';
import type { StoredDocument } from './layout.js';
import { allOf, readScopeClauses } from './mongo-filter.js';
import type { MongoResourceDriver } from './mongo-resource-driver.js';

/** How many candidate addresses one allocation tries before giving up under contention. */
const MAX_CANDIDATES = 64;

/**
 * Address allocation without transactions. The atomic step is the insert of the fixed IP:
 * the unique index `(networkId, address)` among live records (see `MongoLayout`) lets
 * exactly one of several concurrent clients take an address; a loser reads the taken
 * addresses again and tries the next lowest free one. Before it, the network and the
 * taken addresses are read concurrently (two commands, one round trip of latency):
 * MongoDB has no single command that reads one collection and inserts into another
 * (FerretDB v1.24 has neither `$lookup` nor `$merge`).
 *
 * @example
 * ```ts
 * const ip = await stores.fixedIps.allocate(ctx, { networkId, instanceId });
 * ```
 */
export class MongoAddressAllocator implements AddressAllocator {
  readonly #networks: Collection<StoredDocument>;
  readonly #fixedIps: MongoResourceDriver;

  constructor(networks: Collection<StoredDocument>, fixedIps: MongoResourceDriver) {
    this.#networks = networks;
    this.#fixedIps = fixedIps;
  }

  allocate(networkScope: ReadScope, input: AllocateInput): Promise<StoredRecord> {
    // The reads and inserts of one allocation share one fail-fast bound.
    return this.#fixedIps.bounded('allocate', () => this.#allocate(networkScope, input));
  }

  async #allocate(networkScope: ReadScope, input: AllocateInput): Promise<StoredRecord> {
    const [network, seen] = await Promise.all([
      mapErrors('allocate: read network', () =>
        this.#networks.findOne(
          allOf([{ _id: { $eq: input.networkId } }, ...readScopeClauses(networkScope)]),
          {
            projection: { cidr: 1, gateway: 1 },
          },
        ),
      ),
      this.#taken(input),
    ]);
    if (network === null) throw new NotFoundError('network', input.networkId);
    const net = {
      cidr: network.cidr as string,
      gateway: (network.gateway ?? null) as string | null,
    };
    if (input.address !== undefined) checkRequestedAddress(net, input.address);
    let state = seen;
    for (let attempt = 0; attempt < MAX_CANDIDATES; attempt++) {
      let address = input.address;
      if (address === undefined) {
        address = lowestFreeAddress(net.cidr, net.gateway, state.values);
        if (address === undefined)
          throw new ExhaustedError(`network ${input.networkId} has no free address`);
      } else if (state.values.has(address)) {
        throw new DuplicateError('fixedIp', ['networkId', 'address']);
      }
      if (state.idTaken) throw new DuplicateError('fixedIp', ['id']);
      const record: StoredRecord = allocatedRecord(input, address);
      if (await this.#fixedIps.tryInsert(record)) return record;
      // Lost a race (or the id is taken): read again what is taken and decide afresh.
      state = await this.#taken(input);
    }
    throw new UnavailableError(
      `allocate: network ${input.networkId} is allocated from too fast; ${MAX_CANDIDATES} candidate addresses were taken meanwhile`,
    );
  }

  releaseAllForInstance(scope: WriteScope, instanceId: string, at: string): Promise<number> {
    return this.#fixedIps.deleteAllWhere(scope, 'instanceId', instanceId, at);
  }

  #taken(input: AllocateInput): Promise<{ values: Set<string>; idTaken: boolean }> {
    return this.#fixedIps.liveValues('address', 'networkId', input.networkId, input.id);
  }
}
