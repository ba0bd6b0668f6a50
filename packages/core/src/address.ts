import ipaddr from 'ipaddr.js';
import type { AddressAllocator, AllocateInput, StoredRecord } from './driver.js';
import { ConfigError, DuplicateError, ExhaustedError, InvalidInputError } from './errors.js';

interface Net {
  readonly v4: boolean;
  readonly base: bigint;
  readonly size: bigint;
}

function toBig(addr: ipaddr.IPv4 | ipaddr.IPv6): bigint {
  let n = 0n;
  for (const b of addr.toByteArray()) n = (n << 8n) | BigInt(b);
  return n;
}

/** An IPv6 address from its number, in RFC 5952 text. */
function v6FromBig(n: bigint): string {
  const bytes: number[] = [];
  for (let i = 0; i < 16; i++) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  return (ipaddr.fromByteArray(bytes) as ipaddr.IPv6).toRFC5952String();
}

function parseNet(cidr: string): Net {
  const [addr, prefix] = ipaddr.parseCIDR(cidr);
  const v4 = addr.kind() === 'ipv4';
  const bits = v4 ? 32 : 128;
  return { v4, base: toBig(addr), size: 1n << BigInt(bits - prefix) };
}

/** Whether `address` may be allocated in `cidr`: inside it, and not the network, broadcast (IPv4) or gateway address. */
export function isUsableAddress(cidr: string, gateway: string | null, address: string): boolean {
  const net = parseNet(cidr);
  let a: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    a = ipaddr.parse(address);
  } catch {
    return false;
  }
  if ((a.kind() === 'ipv4') !== net.v4) return false;
  const n = toBig(a);
  if (n <= net.base || n >= net.base + net.size) return false;
  if (net.v4 && n === net.base + net.size - 1n) return false;
  return gateway === null || address !== gateway;
}

/**
 * The lowest usable address of `cidr` not in `taken`, or `undefined` when the network is
 * full. Every adapter picks the same address for the same state. With `after`, the lowest
 * such address above it (`undefined` when `after` is not an address of the network's
 * family): what the next allocation most likely takes once `after` was chosen.
 */
export function lowestFreeAddress(
  cidr: string,
  gateway: string | null,
  taken: ReadonlySet<string>,
  after?: string,
): string | undefined {
  const net = parseNet(cidr);
  let from = net.base + 1n;
  if (after !== undefined) {
    const a = ipaddr.isValid(after) ? ipaddr.parse(after) : undefined;
    if (a === undefined || (a.kind() === 'ipv4') !== net.v4) return undefined;
    const n = toBig(a) + 1n;
    if (n > from) from = n;
  }
  if (net.v4) {
    // Plain numbers: an IPv4 address fits a double exactly, and allocation walks every
    // candidate below the address it picks.
    const last = Number(net.base) + Number(net.size) - 2;
    for (let x = Number(from); x <= last; x++) {
      const candidate = `${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`;
      if (candidate !== gateway && !taken.has(candidate)) return candidate;
    }
    return undefined;
  }
  const last = net.base + net.size - 1n;
  for (let n = from; n <= last; n++) {
    const candidate = v6FromBig(n);
    if (candidate !== gateway && !taken.has(candidate)) return candidate;
  }
  return undefined;
}

/** Throws `InvalidInputError` (field `address`) unless `address` is usable in the network. */
export function checkRequestedAddress(
  network: { readonly cidr: string; readonly gateway: string | null },
  address: string,
): void {
  if (!isUsableAddress(network.cidr, network.gateway, address)) {
    throw new InvalidInputError('fixedIp', [
      {
        field: 'address',
        message: `must be a usable address of ${network.cidr} (not the network, broadcast or gateway address)`,
      },
    ]);
  }
}

/**
 * The fixed IP record an allocation inserts: the chosen address (`null` where the backend
 * chooses it in the same statement), revision 1, created at `input.at`.
 */
export function allocatedRecord(input: AllocateInput, address: string | null): StoredRecord {
  return {
    id: input.id,
    projectId: input.projectId,
    networkId: input.networkId,
    address,
    instanceId: input.instanceId,
    revision: 1,
    createdAt: input.at,
    updatedAt: input.at,
    deletedAt: null,
    objectVersion: input.objectVersion,
  };
}

/**
 * The address an allocation takes, the one rule every adapter applies inside its atomic
 * step: the requested address if it is usable and free (else `InvalidInputError` or
 * `DuplicateError(['networkId', 'address'])`), or the lowest free one (else
 * `ExhaustedError`). `taken` holds the addresses of the network's live fixed IPs.
 *
 * @example
 * ```ts
 * const address = chooseAddress(network, input, new Set(liveAddresses));
 * await insert(allocatedRecord(input, address));
 * ```
 */
export function chooseAddress(
  network: { readonly cidr: string; readonly gateway: string | null },
  input: Pick<AllocateInput, 'networkId' | 'address'>,
  taken: ReadonlySet<string>,
): string {
  if (input.address !== undefined) {
    checkRequestedAddress(network, input.address);
    if (taken.has(input.address)) throw new DuplicateError('fixedIp', ['networkId', 'address']);
    return input.address;
  }
  const address = lowestFreeAddress(network.cidr, network.gateway, taken);
  if (address === undefined)
    throw new ExhaustedError(`network ${input.networkId} has no free address`);
  return address;
}

/**
 * The allocator of a backend that did not open the `fixedIp` resource: core never calls
 * it (no `fixedIps` store exists), and a tool that does is told why with a `ConfigError`.
 *
 * @example
 * ```ts
 * const allocator = opened.has('fixedIp') ? new MyAddressAllocator(...) : unopenedAllocator('myKv');
 * ```
 */
export function unopenedAllocator(adapterName: string): AddressAllocator {
  const refuse = () =>
    Promise.reject(new ConfigError(`${adapterName}: resource fixedIp was not opened`));
  return Object.freeze({ allocate: refuse, releaseAllForInstance: refuse });
}
