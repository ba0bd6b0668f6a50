import {
  DuplicateError,
  ExhaustedError,
  InvalidInputError,
  NotFoundError,
  UnavailableError,
} from '@polystore/core';
import {
  type AddressAllocator,
  type AllocateInput,
  checkRequestedAddress,
  type ReadScope,
  type StoredRecord,
  type WriteScope,
} from '@polystore/core/adapter';
import type { ResourceLayout } from './layout.js';
import type { RedisConnection } from './redis-connection.js';
import { duplicateFields } from './redis-resource-driver.js';

/** The unique constraint that allocation enforces. */
const ADDRESS_CONSTRAINT = ['networkId', 'address'];

/**
 * Address allocation in one Lua script (allocate.lua): it reads the network, checks its
 * visibility, picks the requested or the lowest free usable address by probing the
 * `(networkId, address)` unique keys (at most one probe per live fixed IP of the network,
 * plus two), and inserts the fixed IP with its index entries, all atomically. A full
 * network is detected without probing: the live fixed IP count reaches the usable size.
 */
export class RedisAddressAllocator implements AddressAllocator {
  readonly #conn: RedisConnection;
  readonly #networks: ResourceLayout;
  readonly #fixedIps: ResourceLayout;

  constructor(connection: RedisConnection, networks: ResourceLayout, fixedIps: ResourceLayout) {
    this.#conn = connection;
    this.#networks = networks;
    this.#fixedIps = fixedIps;
    const constraint = fixedIps.unique.find((u) => u.join() === ADDRESS_CONSTRAINT.join());
    if (!constraint) throw new TypeError('fixedIp has no unique (networkId, address) constraint');
  }

  async allocate(networkScope: ReadScope, input: AllocateInput): Promise<StoredRecord> {
    const ips = this.#fixedIps;
    const net = JSON.stringify(input.networkId);
    const projects =
      networkScope.projectId === null
        ? []
        : [JSON.stringify(networkScope.projectId), ...(networkScope.includeShared ? ['null'] : [])];
    const record: Record<string, unknown> = {
      id: input.id,
      projectId: input.projectId,
      networkId: input.networkId,
      instanceId: input.instanceId,
      revision: 1,
      createdAt: input.at,
      updatedAt: input.at,
      deletedAt: null,
      objectVersion: input.objectVersion,
    };
    const reply = (await this.#conn.script('allocate', ips.recordKey(input.id), [
      this.#networks.base,
      ips.base,
      ips.descriptor,
      input.networkId,
      input.address ?? '',
      networkScope.deleted,
      `${ips.uniquePrefix(ADDRESS_CONSTRAINT)}${net}\u0000`,
      ips.eqKey('networkId', ips.partition('l', '*'), net),
      String(projects.length),
      ...projects,
      input.id,
      ...ips.encode(record as StoredRecord),
    ])) as [string, ...string[]];
    switch (reply[0]) {
      case 'ok':
        return { ...record, address: reply[1] } as unknown as StoredRecord;
      case 'network-not-found':
        throw new NotFoundError('network', input.networkId);
      case 'unusable': {
        const network = {
          cidr: JSON.parse(reply[1]!) as string,
          gateway: JSON.parse(reply[2]!) as string | null,
        };
        checkRequestedAddress(network, input.address!);
        throw new InvalidInputError('fixedIp', [
          { field: 'address', message: `must be a usable address of ${network.cidr}` },
        ]);
      }
      case 'exhausted':
        throw new ExhaustedError(`network ${input.networkId} has no free address`);
      case 'duplicate':
        throw new DuplicateError(
          'fixedIp',
          reply[1] === 'address' ? ADDRESS_CONSTRAINT : duplicateFields(ips, reply),
        );
      default:
        throw new UnavailableError(`redis allocate: unexpected script reply ${reply[0]}`);
    }
  }

  async releaseAllForInstance(scope: WriteScope, instanceId: string, _at: string): Promise<number> {
    const ips = this.#fixedIps;
    const partition = ips.partition('l', scope.projectId === null ? '*' : scope.projectId);
    const reply = await this.#conn.script(
      'releaseAll',
      ips.eqKey('instanceId', partition, JSON.stringify(instanceId)),
      [ips.base, ips.descriptor],
    );
    return Number(reply);
  }
}
