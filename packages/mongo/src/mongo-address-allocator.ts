import { DuplicateError, NotFoundError, UnavailableError } from '@polystore/core';
import {
  type AddressAllocator,
  type AllocateInput,
  allocatedRecord,
  chooseAddress,
  KeyedQueue,
  type ReadScope,
  type StoredRecord,
  type WriteScope,
} from '@polystore/core/adapter';
import type { Collection } from 'mongodb';
import { mapErrors } from './errors.js';
import type { FixedIpWriter } from './fixed-ip-writer.js';
import type { StoredDocument } from './layout.js';
import { allOf, readScopeClauses } from './mongo-filter.js';

/** How many candidate addresses one allocation tries before giving up under contention. */
const MAX_CANDIDATES = 64;

/**
 * Address allocation without transactions. The atomic step is the insert of the fixed IP:
 * the unique index `(networkId, address)` among live records (see `MongoLayout`) lets
 * exactly one of several concurrent clients take an address; a loser reads the taken
 * addresses again and tries the next lowest free one. Before it, the network and the
 * taken addresses are read concurrently (two commands, one round trip of latency):
 * MongoDB has no single command that reads one collection and inserts into another
 * (FerretDB v1.24 has neither `$lookup` nor `$merge`). The allocations of one network by
 * one allocator take turns, so they do not race each other.
 *
 * @example
 * ```ts
 * const ip = await stores.fixedIps.allocate(ctx, { networkId, instanceId });
 * ```
 */
export class MongoAddressAllocator implements AddressAllocator {
  readonly #networks: Collection<StoredDocument>;
  readonly #fixedIps: FixedIpWriter;
  readonly #queue = new KeyedQueue();

  constructor(networks: Collection<StoredDocument>, fixedIps: FixedIpWriter) {
    this.#networks = networks;
    this.#fixedIps = fixedIps;
  }

  allocate(networkScope: ReadScope, input: AllocateInput): Promise<StoredRecord> {
    // Allocations of one network from this allocator take turns: at once they would all
    // read the same taken addresses, try the same lowest one, and all but one read and try
    // again, so n of them cost about n * n / 2 reads and inserts instead of n of each (32 in
    // flight on FerretDB ran past the 5 s bound). Other allocators, in this process or
    // another, still race safely (the unique index). One fail-fast bound covers the wait
    // and the reads and inserts of the allocation: an allocation still waiting when it
    // runs out sends nothing (see `bounded`).
    return this.#fixedIps.bounded('allocate', () =>
      this.#queue.run(input.networkId, () => this.#allocate(networkScope, input)),
    );
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
    let state = seen;
    for (let attempt = 0; attempt < MAX_CANDIDATES; attempt++) {
      const address = chooseAddress(net, input, state.addresses);
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
    return this.#fixedIps.releaseAllForInstance(scope, instanceId, at);
  }

  #taken(input: AllocateInput): Promise<{ addresses: Set<string>; idTaken: boolean }> {
    return this.#fixedIps.taken(input.networkId, input.id);
  }
}
