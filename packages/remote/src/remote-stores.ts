import {
  type AnyResource,
  fixedIpResource,
  migrationResource,
  type RequestContext,
  type ResourceStore,
  type Stores,
  serviceResource,
} from '@polystore/core';
import { assembleStores } from '@polystore/core/adapter';
import type { RemoteClient, ServerInfo } from './remote-client.js';

const READS = new Set([
  'get',
  'getMany',
  'list',
  'count',
  'listInProgressByHost',
  'minimumVersion',
]);

// Trailing `undefined`s dropped, so `count(ctx)` and `count(ctx, undefined)` are one call.
function trim(args: unknown[]): unknown[] {
  let n = args.length;
  while (n > 0 && args[n - 1] === undefined) n--;
  return args.slice(0, n);
}

/** How a store sends its calls; kept off the store so it has exactly the interface's methods. */
interface Sender {
  readonly client: RemoteClient;
  readonly resource: string;
  /** Sent only when the server holds another version: it then answers in this one. */
  readonly version: string | undefined;
}

const senders = new WeakMap<RemoteResourceStore, Sender>();

function send(
  store: RemoteResourceStore,
  method: string,
  ctx: RequestContext,
  args: unknown[],
): Promise<never> {
  const s = senders.get(store)!;
  return s.client.call(
    {
      resource: s.resource,
      method,
      ctx,
      args: trim(args),
      ...(s.version === undefined ? {} : { version: s.version }),
    },
    READS.has(method),
  ) as Promise<never>;
}

/**
 * The store of one resource on a remote server: each method is one POST. The methods are
 * spelled out (not a Proxy) so the store has exactly the interface's methods and arities.
 */
export class RemoteResourceStore {
  constructor(client: RemoteClient, resource: AnyResource, serverVersion: string | undefined) {
    senders.set(this, {
      client,
      resource: resource.name,
      version: serverVersion === resource.version ? undefined : resource.version,
    });
  }

  create(ctx: RequestContext, values: unknown) {
    return send(this, 'create', ctx, [values]);
  }
  get(ctx: RequestContext, id: string) {
    return send(this, 'get', ctx, [id]);
  }
  getMany(ctx: RequestContext, ids: readonly string[]) {
    return send(this, 'getMany', ctx, [ids]);
  }
  list(ctx: RequestContext, options: unknown) {
    return send(this, 'list', ctx, [options]);
  }
  count(ctx: RequestContext, where: unknown) {
    return send(this, 'count', ctx, [where]);
  }
  update(ctx: RequestContext, id: string, patch: unknown, options: unknown) {
    return send(this, 'update', ctx, [id, patch, options]);
  }
  delete(ctx: RequestContext, id: string, options: unknown) {
    return send(this, 'delete', ctx, [id, options]);
  }
  purge(ctx: RequestContext, options: unknown) {
    return send(this, 'purge', ctx, [options]);
  }
}

/** The remote fixed IP store: the generic methods plus allocation. */
export class RemoteFixedIpStore extends RemoteResourceStore {
  allocate(ctx: RequestContext, request: unknown) {
    return send(this, 'allocate', ctx, [request]);
  }
  release(ctx: RequestContext, id: string) {
    return send(this, 'release', ctx, [id]);
  }
  releaseAllForInstance(ctx: RequestContext, instanceId: string) {
    return send(this, 'releaseAllForInstance', ctx, [instanceId]);
  }
}

/** The remote migration store. */
export class RemoteMigrationStore extends RemoteResourceStore {
  listInProgressByHost(ctx: RequestContext, host: string) {
    return send(this, 'listInProgressByHost', ctx, [host]);
  }
}

/** The remote service store. */
export class RemoteServiceStore extends RemoteResourceStore {
  heartbeat(ctx: RequestContext, request: unknown) {
    return send(this, 'heartbeat', ctx, [request]);
  }
  minimumVersion(ctx: RequestContext, binary: string) {
    return send(this, 'minimumVersion', ctx, [binary]);
  }
}

/** Builds the Stores bag over a client whose hello succeeded. */
export function remoteStores(
  client: RemoteClient,
  info: ServerInfo,
  resources: readonly AnyResource[],
): Stores {
  const byResource = new Map<AnyResource, RemoteResourceStore>();
  for (const r of resources) {
    const Cls =
      r === fixedIpResource
        ? RemoteFixedIpStore
        : r === migrationResource
          ? RemoteMigrationStore
          : r === serviceResource
            ? RemoteServiceStore
            : RemoteResourceStore;
    byResource.set(r, new Cls(client, r, info.manifest[r.name]));
  }
  return assembleStores(byResource as ReadonlyMap<AnyResource, ResourceStore<AnyResource>>, {
    backend: `remote:${info.backend}`,
    capabilities: info.capabilities,
    close: () => client.close(),
  });
}
