import { DuplicateError, NotFoundError, UnavailableError } from '@polystore/core';
import {
  type AddressAllocator,
  type AllocateInput,
  allocatedRecord,
  chooseAddress,
  type ReadScope,
  type StoredRecord,
  type WriteScope,
} from '@polystore/core/adapter';
import type { ResourceLayout } from './layout.js';
import type { BoundScript, RedisConnection } from './redis-connection.js';
import { readFields } from './redis-resource-driver.js';

/** The unique constraint that allocation enforces. */
const ADDRESS_CONSTRAINT = ['networkId', 'address'];

/**
 * The taken addresses of a network the script found full: every address. Core's choice
 * then finds none free; it walks the usable addresses to see so, as many as the network
 * already has fixed IPs.
 */
const EVERY_ADDRESS: ReadonlySet<string> = new (class extends Set<string> {
  override has(): boolean {
    return true;
  }
})();

/**
 * Address allocation in one Lua script (allocate.lua): it reads the network, checks its
 * visibility, picks the requested or the lowest free usable address by probing the
 * `(networkId, address)` unique keys (at most one probe per live fixed IP of the network,
 * plus two), and inserts the fixed IP with its index entries, all atomically. A full
 * network is detected without probing: the live fixed IP count reaches the usable size.
 * When the script refuses an address, core's {@link chooseAddress} names the error from
 * the network and what the script saw, so every adapter reports the same one.
 */
export class RedisAddressAllocator implements AddressAllocator {
  readonly #conn: RedisConnection;
  readonly #networks: ResourceLayout;
  readonly #fixedIps: ResourceLayout;
  /**
   * allocate.lua with the fixed IPs' reply fields bound, so the fixed IP it inserts gets its
   * stored row (save_row), which a get then reads with one GET, as for any other record.
   */
  readonly #allocate: BoundScript;

  constructor(connection: RedisConnection, networks: ResourceLayout, fixedIps: ResourceLayout) {
    this.#conn = connection;
    this.#networks = networks;
    this.#fixedIps = fixedIps;
    this.#allocate = connection.bind('allocate', readFields(fixedIps));
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
    const reply = (await this.#allocate(ips.recordKey(input.id), [
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
      ...ips.encode(allocatedRecord(input, null)),
    ])) as [string, ...string[]];
    switch (reply[0]) {
      case 'ok':
        return allocatedRecord(input, reply[1]!);
      case 'network-not-found':
        throw new NotFoundError('network', input.networkId);
      case 'refused': {
        const network = {
          cidr: JSON.parse(reply[1]!) as string,
          gateway: JSON.parse(reply[2]!) as string | null,
        };
        // A requested address was unusable or taken; without one, the network was full.
        chooseAddress(
          network,
          input,
          input.address === undefined ? EVERY_ADDRESS : new Set([input.address]),
        );
        throw new UnavailableError(
          `redis allocate: the script refused an address of ${network.cidr} that core accepts`,
        );
      }
      case 'duplicate':
        throw new DuplicateError('fixedIp', ips.duplicateFields(reply[1]!));
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
