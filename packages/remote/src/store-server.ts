import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import {
  type AnyResource,
  assertContext,
  ConfigError,
  createContext,
  ForbiddenError,
  historyOf,
  InvalidInputError,
  NotFoundError,
  PolystoreError,
  type RequestContext,
  type Stores,
  UnavailableError,
} from '@polystore/core';
import {
  RESOURCE_STORE_METHODS,
  recordForVersion,
  resourcesOf,
  STORE_METHODS,
  upgradeFields,
} from '@polystore/core/adapter';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { type CallRequest, type HelloResponse, PROTOCOL_VERSION } from './protocol.js';
import { RateLimiter } from './rate-limiter.js';
import type { StoreServerOptions } from './store-server-options.js';
import type { TokenIdentity } from './token-verifier.js';
import { manifestOf, negotiateVersions } from './version-manifest.js';
import { encodeError, statusOf } from './wire-errors.js';
import { decodeWire } from './wire-values.js';

/** A running store server. */
export interface StoreServer {
  /** The base URL clients open, e.g. `http://127.0.0.1:41234` (or `https://…`). */
  readonly url: string;
  /** `host:port` it listens on. */
  readonly address: string;
  /** Stops listening and drops every connection; the served `Stores` stays open (it is the caller's). */
  close(): Promise<void>;
  /** Listens again on the same port after `close()` (a restart, for fault tests). */
  listen(): Promise<void>;
}

type Env = { Variables: { identity: TokenIdentity } };

const READ_METHODS = new Set(['get', 'getMany', 'list', 'count', 'listInProgressByHost']);

function methodsOf(resource: AnyResource): Readonly<Record<string, number>> {
  return (
    (STORE_METHODS as Readonly<Record<string, Readonly<Record<string, number>>>>)[
      resource.plural
    ] ?? RESOURCE_STORE_METHODS
  );
}

function badRequest(message: string): InvalidInputError {
  return new InvalidInputError('request', [{ field: 'body', message }]);
}

/**
 * The context a call runs in, from the caller's identity: a project or admin token fixes
 * who the caller is (the request may only choose `readDeleted`), a service token acts for
 * the context it sends. The client can never widen its own scope.
 */
function contextFor(identity: TokenIdentity, sent: unknown): RequestContext {
  if (identity.role === 'service') {
    assertContext(sent);
    return sent;
  }
  assertContext(sent);
  const want = identity.role === 'admin' ? null : identity.projectId;
  if (sent.isAdmin !== (identity.role === 'admin') || (want !== null && sent.projectId !== want)) {
    throw new ForbiddenError(
      identity.role === 'admin'
        ? 'remote: an admin token acts only as an admin context'
        : `remote: this token acts only for project ${JSON.stringify(identity.projectId)}`,
    );
  }
  return createContext({
    projectId: identity.role === 'admin' ? sent.projectId : identity.projectId,
    userId: identity.userId ?? sent.userId,
    isAdmin: identity.role === 'admin',
    readDeleted: sent.readDeleted,
  });
}

/** A result as a client at `version` holds it: every record backported, `objectVersion` included. */
function backport(resource: AnyResource, version: string, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => backport(resource, version, v));
  if (typeof value !== 'object' || value === null) return value;
  const o = value as Record<string, unknown>;
  if ('items' in o && Array.isArray(o.items) && 'next' in o) {
    return { ...o, items: o.items.map((v) => backport(resource, version, v)) };
  }
  if (typeof o.objectVersion === 'string' && typeof o.id === 'string') {
    return { ...recordForVersion(resource, o, version), objectVersion: version };
  }
  return value;
}

/** The arguments of a call from a client at an older `version`, as the server's code takes them. */
function upgradeArgs(
  resource: AnyResource,
  version: string,
  method: string,
  args: readonly unknown[],
): unknown[] {
  const out = [...args];
  // A create from an older client gets the fields added since (defaults, up-transforms);
  // an update's record is upgraded by core when it is written.
  if (method === 'create' && typeof out[0] === 'object' && out[0] !== null) {
    out[0] = upgradeFields(
      resource.name,
      historyOf(resource),
      out[0] as Record<string, unknown>,
      version,
      resource.version,
    );
  }
  return out;
}

function errorResponse(c: Context, err: unknown): Response {
  if (!(err instanceof PolystoreError)) {
    // Never leak it to the caller, but never swallow it either: it is a bug or a driver fault.
    console.error('polystore serve: untyped error', err);
  }
  const status = err instanceof PolystoreError ? statusOf(err) : 503;
  return c.json({ error: encodeError(err) }, status);
}

/**
 * Serves a `Stores` bag over HTTP: every method of every resource store, custom resources
 * included — the store API, never the driver SPI. Scope comes from the caller's token.
 *
 * @example
 * ```ts
 * const stores = await openStores('postgres://db/nova');
 * const server = await createStoreServer(stores, {
 *   port: 8443,
 *   host: '0.0.0.0',
 *   tls: { key, cert },
 *   verifyToken: await loadTokenFile('/etc/polystore/tokens.json'),
 * });
 * // services: openStores('https://svc:TOKEN@conductor:8443')
 * ```
 */
export async function createStoreServer(
  stores: Stores,
  options: StoreServerOptions,
): Promise<StoreServer> {
  if (typeof options?.verifyToken !== 'function') {
    throw new ConfigError('createStoreServer: verifyToken is required');
  }
  const resources = new Map<string, AnyResource>();
  for (const r of resourcesOf({ resources: options.resources })) resources.set(r.name, r);
  const manifest = manifestOf([...resources.values()]);
  const maxBodyBytes = options.maxBodyBytes ?? 2 * stores.capabilities.maxRecordBytes + 64 * 1024;
  const limiter = options.rateLimit
    ? new RateLimiter(
        options.rateLimit.perSecond,
        options.rateLimit.burst ?? Math.max(1, options.rateLimit.perSecond),
      )
    : undefined;

  const storesAt = (mount: string | undefined): Stores => {
    if (mount === undefined) return stores;
    const found = options.mounts?.(mount);
    if (!found) throw new NotFoundError('mount', mount);
    return found;
  };

  const app = new Hono<Env>();
  app.onError((err, c) => errorResponse(c, err));
  app.notFound((c) =>
    c.json(
      { error: encodeError(new NotFoundError('route', `${c.req.method} ${c.req.path}`)) },
      404,
    ),
  );
  app.use('*', async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer ([\x21-\x7e]{1,4096})$/.exec(header);
    const identity = m ? await options.verifyToken(m[1]!) : undefined;
    if (!identity) {
      c.header('WWW-Authenticate', 'Bearer realm="polystore"');
      return c.json(
        {
          error: encodeError(
            new ForbiddenError(
              m ? 'remote: unknown bearer token' : 'remote: a bearer token is required',
            ),
          ),
        },
        401,
      );
    }
    if (limiter && !limiter.take(m![1]!)) {
      c.header('Retry-After', '1');
      return c.json(
        { error: encodeError(new UnavailableError('remote: rate limit exceeded, retry later')) },
        429,
      );
    }
    c.set('identity', identity);
    await next();
  });
  app.use(
    '*',
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: (c) =>
        c.json(
          { error: encodeError(badRequest(`request body is larger than ${maxBodyBytes} bytes`)) },
          413,
        ),
    }),
  );

  const hello = async (c: Context<Env>, mount?: string) => {
    const served = storesAt(mount);
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw badRequest('hello: not valid JSON');
    }
    const b = body as { protocol?: unknown; manifest?: unknown };
    if (b?.protocol !== PROTOCOL_VERSION) {
      throw new ConfigError(
        `remote: the server speaks protocol ${PROTOCOL_VERSION}, the client ${String(b?.protocol)}`,
      );
    }
    negotiateVersions(resources, b.manifest);
    const answer: HelloResponse = {
      protocol: PROTOCOL_VERSION,
      backend: served.backend,
      capabilities: served.capabilities,
      manifest,
    };
    return c.json({ value: answer });
  };

  const call = async (c: Context<Env>, mount?: string) => {
    const served = storesAt(mount);
    let req: CallRequest;
    try {
      req = decodeWire(await c.req.text()) as CallRequest;
    } catch {
      throw badRequest('call: not a valid encoded call');
    }
    if (
      typeof req !== 'object' ||
      req === null ||
      typeof req.resource !== 'string' ||
      typeof req.method !== 'string' ||
      !Array.isArray(req.args) ||
      (req.version !== undefined && typeof req.version !== 'string')
    ) {
      throw badRequest('call: expected { resource, method, ctx, args }');
    }
    const resource = resources.get(req.resource);
    if (!resource) throw badRequest(`call: unknown resource ${JSON.stringify(req.resource)}`);
    const methods = methodsOf(resource);
    if (!Object.hasOwn(methods, req.method)) {
      throw badRequest(`call: ${resource.plural} has no method ${JSON.stringify(req.method)}`);
    }
    const arity = methods[req.method]!;
    if (req.args.length > arity - 1) throw badRequest(`call: too many arguments`);
    const version =
      req.version === undefined || req.version === resource.version
        ? undefined
        : negotiateVersions(resources, { [resource.name]: req.version }).get(resource.name);
    const ctx = contextFor(c.get('identity'), req.ctx);
    const store = served.store(resource) as unknown as Record<
      string,
      (...a: unknown[]) => Promise<unknown>
    >;
    const args = version ? upgradeArgs(resource, version, req.method, req.args) : req.args;
    let value = await store[req.method]!(ctx, ...args);
    if (version) value = backport(resource, version, value);
    // Reads are safe to cache nowhere: every answer is the store's state at the call.
    if (READ_METHODS.has(req.method)) c.header('Cache-Control', 'no-store');
    return c.json({ value: value ?? null });
  };

  app.post('/v1/hello', (c) => hello(c));
  app.post('/v1/call', (c) => call(c));
  app.post('/:mount/v1/hello', (c) => hello(c, c.req.param('mount')));
  app.post('/:mount/v1/call', (c) => call(c, c.req.param('mount')));

  const listener = getRequestListener(app.fetch);
  const server = options.tls
    ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, listener)
    : http.createServer(listener);
  // Keep-alive longer than the client's, so the client is the one that closes idle sockets
  // (a server closing first races the client's next request on the same socket).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const host = options.host ?? '127.0.0.1';
  let port = options.port ?? 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const onError = (err: Error) =>
        reject(new ConfigError(`remote: cannot listen on ${host}:${port}: ${err.message}`));
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  await listen();
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    url: `${options.tls ? 'https' : 'http'}://${hostPart}:${port}`,
    address: `${hostPart}:${port}`,
    listen,
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
