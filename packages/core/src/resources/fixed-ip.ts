import type { RequestContext } from '../context.js';
import { f } from '../schema/field.js';
import { defineResource, type RecordOf } from '../schema/resource.js';
import type { ResourceStore } from '../store.js';

/**
 * An address of a network, taken for an instance (or reserved, with `instanceId: null`).
 * `create` is an allocation of the given address; `address` and `networkId` never change.
 */
export const fixedIpResource = defineResource({
  name: 'fixedIp',
  plural: 'fixedIps',
  scope: 'project',
  softDelete: false,
  version: '1.0',
  history: { '1.0': 'initial version' },
  fields: {
    networkId: f.uuid().indexed().immutable(),
    address: f.ip().indexed().immutable().describe('unique per network'),
    instanceId: f.uuid().nullable().indexed(),
  },
  unique: [['networkId', 'address']],
});

/** A stored fixed IP. */
export type FixedIp = RecordOf<typeof fixedIpResource>;

/** What `allocate` takes. */
export interface AllocateRequest {
  /** The network to allocate from (own or shared). */
  readonly networkId: string;
  /** The instance the address is for; `null` reserves it. */
  readonly instanceId: string | null;
  /** A specific address; left out, the lowest free one is taken. */
  readonly address?: string;
  /** Admin only: the project the fixed IP belongs to (default: the context's). */
  readonly projectId?: string;
}

/**
 * The store of fixed IPs, with atomic allocation.
 *
 * @example
 * ```ts
 * const ip = await stores.fixedIps.allocate(ctx, { networkId: net.id, instanceId: vm.id });
 * ```
 */
export interface FixedIpStore extends ResourceStore<typeof fixedIpResource> {
  /**
   * Takes an address of a network in one atomic step: the given one, or the lowest free
   * one that is neither the network, broadcast nor gateway address. `ExhaustedError` when
   * none is free, `DuplicateError` when the given one is taken, `NotFoundError` when the
   * network is not visible.
   */
  allocate(ctx: RequestContext, request: AllocateRequest): Promise<FixedIp>;
  /** Gives an address back (removes the fixed IP) and returns it as it was. */
  release(ctx: RequestContext, id: string): Promise<FixedIp>;
  /** Gives back every address of an instance in one atomic step; returns how many. */
  releaseAllForInstance(ctx: RequestContext, instanceId: string): Promise<number>;
}
