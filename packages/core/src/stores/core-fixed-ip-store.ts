import type { RequestContext } from '../context.js';
import type { AddressAllocator } from '../driver.js';
import { InvalidInputError } from '../errors.js';
import { CoreResourceStore, type StoreKernel } from '../resource-store.js';
import type {
  AllocateRequest,
  FixedIp,
  FixedIpStore,
  fixedIpResource,
} from '../resources/fixed-ip.js';
import { networkResource } from '../resources/network.js';
import type { CreateOf } from '../schema/resource.js';
import { assertPlainInput, validateCreate, validateId } from '../schema/validate.js';
import { isPlainObject } from '../schema/values.js';
import { readScope, writeScope } from '../scope.js';

const ALLOCATE_KEYS = new Set(['networkId', 'instanceId', 'address', 'projectId']);

/** The fixed IP store: `create` and `allocate` both go through the adapter's atomic allocator. */
export class CoreFixedIpStore
  extends CoreResourceStore<typeof fixedIpResource>
  implements FixedIpStore
{
  readonly #k: StoreKernel<typeof fixedIpResource>;
  readonly #allocator: AddressAllocator;

  constructor(kernel: StoreKernel<typeof fixedIpResource>, allocator: AddressAllocator) {
    super(kernel);
    this.#k = kernel;
    this.#allocator = allocator;
  }

  override async create(
    ctx: RequestContext,
    values: CreateOf<typeof fixedIpResource>,
  ): Promise<FixedIp> {
    const record = this.#k.prepareCreate(ctx, values);
    return this.#allocate(ctx, {
      id: record.id,
      networkId: record.networkId as string,
      instanceId: record.instanceId as string | null,
      address: record.address as string,
      projectId: record.projectId,
      objectVersion: record.objectVersion,
    });
  }

  async allocate(ctx: RequestContext, request: AllocateRequest): Promise<FixedIp> {
    this.#k.checkWrite(ctx);
    assertPlainInput(this.#k.resource, request, 'request');
    if (!isPlainObject(request)) {
      throw new InvalidInputError('fixedIp', [
        { field: 'request', message: 'must be a plain object' },
      ]);
    }
    const unknown = Object.keys(request).filter((k) => !ALLOCATE_KEYS.has(k));
    if (unknown.length > 0) {
      throw new InvalidInputError(
        'fixedIp',
        unknown.map((field) => ({ field, message: 'unknown field' })),
      );
    }
    // Reuse the resource's own field rules; a placeholder address stands in when none is asked for.
    const { address, projectId, ...rest } = request;
    const valid = validateCreate(this.#k.resource, {
      ...rest,
      instanceId: request.instanceId === undefined ? null : request.instanceId,
      address: address === undefined ? '0.0.0.0' : address,
      ...(projectId === undefined ? {} : { projectId }),
    });
    return this.#allocate(ctx, {
      id: this.#k.deps.ids(),
      networkId: valid.values.networkId as string,
      instanceId: valid.values.instanceId as string | null,
      address: address === undefined ? undefined : (valid.values.address as string),
      projectId: this.#k.ownerOf(ctx, valid.projectId),
      objectVersion: this.#k.writeVersion(),
    });
  }

  async release(ctx: RequestContext, id: string): Promise<FixedIp> {
    return this.delete(ctx, id);
  }

  async releaseAllForInstance(ctx: RequestContext, instanceId: string): Promise<number> {
    this.#k.checkWrite(ctx);
    validateId(this.#k.resource, instanceId, 'instanceId');
    return this.#allocator.releaseAllForInstance(
      writeScope(this.#k.resource, ctx),
      instanceId,
      this.#k.now(),
    );
  }

  async #allocate(
    ctx: RequestContext,
    input: {
      id: string;
      networkId: string;
      instanceId: string | null;
      address: string | undefined;
      projectId: string | null;
      /** The version the write policy gives (a fleet's pin), as every create writes at. */
      objectVersion: string;
    },
  ): Promise<FixedIp> {
    const networkScope = { ...readScope(networkResource, ctx), deleted: 'no' as const };
    const raw = await this.#allocator.allocate(networkScope, { ...input, at: this.#k.now() });
    return this.#k.finish(raw);
  }
}
