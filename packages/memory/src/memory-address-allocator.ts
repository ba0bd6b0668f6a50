import { NotFoundError } from '@polystore/core';
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
import { ClosedGuard } from './closed-guard.js';
import { toCoreError } from './errors.js';
import type { MemoryTable } from './memory-database.js';
import type { FixedIpWriter } from './memory-resource-driver.js';

/**
 * Allocation over the memory tables: each call reads the network and the taken addresses
 * and inserts in one synchronous step, hence atomically.
 */
export class MemoryAddressAllocator implements AddressAllocator {
  readonly #networks: MemoryTable;
  readonly #fixedIps: FixedIpWriter;
  readonly #guard: ClosedGuard;

  constructor(
    networks: MemoryTable,
    fixedIps: FixedIpWriter,
    guard: ClosedGuard = new ClosedGuard(),
  ) {
    this.#networks = networks;
    this.#fixedIps = fixedIps;
    this.#guard = guard;
  }

  async allocate(networkScope: ReadScope, input: AllocateInput): Promise<StoredRecord> {
    return this.#run('allocate', () => {
      const network = this.#networks.get(input.networkId);
      if (!network || !inReadScope(network, networkScope))
        throw new NotFoundError('network', input.networkId);
      const taken = new Set(
        this.#fixedIps
          .liveRecords()
          .filter((r) => r.networkId === input.networkId)
          .map((r) => r.address as string),
      );
      const address = chooseAddress(
        { cidr: network.cidr as string, gateway: network.gateway as string | null },
        input,
        taken,
      );
      return this.#fixedIps.insert(allocatedRecord(input, address));
    });
  }

  async releaseAllForInstance(scope: WriteScope, instanceId: string, at: string): Promise<number> {
    return this.#run('releaseAllForInstance', () => {
      const mine = this.#fixedIps
        .liveRecords()
        .filter((r) => r.instanceId === instanceId && inWriteScope(r, scope));
      for (const r of mine) {
        this.#fixedIps.delete(scope, r.id, { soft: false, at, expectedRevision: undefined });
      }
      return mine.length;
    });
  }

  /** Runs one operation: refused once the backend is closed, every error through `toCoreError`. */
  #run<T>(operation: string, step: () => T): T {
    try {
      this.#guard.check(operation);
      return step();
    } catch (err) {
      throw toCoreError(err, { operation, resource: 'fixedIp' });
    }
  }
}
