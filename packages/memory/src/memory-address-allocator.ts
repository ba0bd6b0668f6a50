import { DuplicateError, ExhaustedError, NotFoundError } from '@polystore/core';
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
import { ClosedGuard } from './closed-guard.js';
import type { MemoryResourceDriver } from './memory-resource-driver.js';
import type { MemoryTable } from './memory-table.js';

/** Allocation over the memory tables: synchronous, hence atomic. */
export class MemoryAddressAllocator implements AddressAllocator {
  readonly #networks: MemoryTable;
  readonly #fixedIps: MemoryResourceDriver;

  readonly #guard: ClosedGuard;

  constructor(
    networks: MemoryTable,
    fixedIps: MemoryResourceDriver,
    guard: ClosedGuard = new ClosedGuard(),
  ) {
    this.#networks = networks;
    this.#fixedIps = fixedIps;
    this.#guard = guard;
  }

  async allocate(networkScope: ReadScope, input: AllocateInput): Promise<StoredRecord> {
    this.#guard.check('allocate');
    const network = this.#networks.get(input.networkId);
    if (!network || !inReadScope(network, networkScope))
      throw new NotFoundError('network', input.networkId);
    const cidr = network.cidr as string;
    const gateway = network.gateway as string | null;
    const taken = new Set(
      this.#fixedIps
        .liveRecords()
        .filter((r) => r.networkId === input.networkId)
        .map((r) => r.address as string),
    );
    let address = input.address;
    if (address !== undefined) {
      checkRequestedAddress({ cidr, gateway }, address);
      if (taken.has(address)) throw new DuplicateError('fixedIp', ['networkId', 'address']);
    } else {
      address = lowestFreeAddress(cidr, gateway, taken);
      if (address === undefined)
        throw new ExhaustedError(`network ${input.networkId} has no free address`);
    }
    return this.#fixedIps.insertNow(allocatedRecord(input, address));
  }

  async releaseAllForInstance(scope: WriteScope, instanceId: string, at: string): Promise<number> {
    this.#guard.check('releaseAllForInstance');
    const mine = this.#fixedIps
      .liveRecords()
      .filter((r) => r.instanceId === instanceId && inWriteScope(r, scope));
    for (const r of mine) {
      this.#fixedIps.deleteNow(scope, r.id, { soft: false, at, expectedRevision: undefined });
    }
    return mine.length;
  }
}
