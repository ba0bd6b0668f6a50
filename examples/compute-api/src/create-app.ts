import {
  createContext,
  InvalidInputError,
  isUuid,
  type RequestContext,
  TASK_STATES,
} from '@polystore/core';
import { type Context, Hono } from 'hono';
import type { BootRequest, ComputeService, NetworkRequest, TaskState } from './compute-service.js';
import { toProblem } from './problem.js';
import { parseBody, parseQuery, requireFields } from './request-input.js';

/** The header that names the caller's project. */
export const PROJECT_HEADER = 'X-Project-Id';
/** The optional header that names the calling user, for audit. */
export const USER_HEADER = 'X-User-Id';

/** Options of {@link createApp}. */
export interface AppOptions {
  /**
   * Called with every error answered with a 500, for logging; the response itself never
   * carries the details. Default: print the error to stderr.
   */
  readonly onInternalError?: (err: unknown) => void;
}

type Env = { Variables: { ctx: RequestContext } };

const BOOT_FIELDS = ['displayName', 'networkId', 'flavor', 'hostname', 'host', 'metadata'] as const;
const NETWORK_FIELDS = ['label', 'cidr', 'gateway', 'dnsServers', 'vlan'] as const;
const TASK_STATE_FIELDS = ['taskState', 'expected'] as const;

/**
 * Builds the HTTP API over a {@link ComputeService}. Every route needs the `X-Project-Id`
 * header; errors are JSON problem bodies `{ error: { code, message, fields? } }` mapped
 * in one place ({@link toProblem}).
 *
 * @example
 * ```ts
 * const app = createApp(new ComputeService(await openStores('memory:')));
 * serve({ fetch: app.fetch, port: 3000 });
 * ```
 */
export function createApp(service: ComputeService, options: AppOptions = {}): Hono<Env> {
  const onInternalError =
    options.onInternalError ??
    ((err: unknown) => console.error('compute-api: internal error', err));
  const app = new Hono<Env>();

  app.onError((err, c) => {
    const problem = toProblem(err);
    if (problem.status === 500) onInternalError(err);
    return c.json(problem.body, problem.status, { ...problem.headers });
  });
  app.notFound((c) =>
    c.json(
      { error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}` } },
      404,
    ),
  );

  app.get('/healthz', (c) =>
    c.json({ status: 'ok', backend: service.backend, release: service.release.name }),
  );

  // What a release adds to the instance (1.1: availabilityZone) is accepted on boot and as
  // a filter; an older release refuses it as an unknown field or parameter.
  const added = service.release.addedInstanceFields;
  const bootFields = [...BOOT_FIELDS, ...added];
  const instanceQuery: Record<string, 'string' | 'nullable-string' | 'limit'> = {
    host: 'nullable-string',
    vmState: 'string',
    taskState: 'nullable-string',
    limit: 'limit',
    after: 'string',
    ...Object.fromEntries(added.map((name) => [name, 'string'] as const)),
  };

  app.use('/v1/*', async (c, next) => {
    c.set('ctx', contextOf(c));
    await next();
  });

  app.post('/v1/networks', async (c) => {
    const body = parseBody(await c.req.text(), NETWORK_FIELDS);
    const network = await service.createNetwork(c.var.ctx, body as unknown as NetworkRequest);
    return c.json(network, 201);
  });

  app.get('/v1/networks', async (c) => {
    const q = parseQuery(c.req.url, { limit: 'limit', after: 'string' });
    return c.json(await service.listNetworks(c.var.ctx, q));
  });

  app.get('/v1/networks/:id', async (c) =>
    c.json(await service.getNetwork(c.var.ctx, c.req.param('id'))),
  );

  app.post('/v1/instances', async (c) => {
    const body = parseBody(await c.req.text(), bootFields);
    requireFields(body, ['displayName', 'networkId', 'flavor']);
    if (!isUuid(body.networkId)) {
      throw new InvalidInputError('request', [
        { field: 'networkId', message: 'must be a lowercase UUID' },
      ]);
    }
    const result = await service.bootInstance(c.var.ctx, body as unknown as BootRequest);
    return c.json(result, 201);
  });

  app.get('/v1/instances', async (c) => {
    const q = parseQuery(c.req.url, instanceQuery);
    return c.json(
      // parseQuery read each by its kind; the spec is built per release, so name the types.
      await service.listInstances(c.var.ctx, {
        host: q.host as string | null | undefined,
        vmState: q.vmState as never,
        taskState: q.taskState as never,
        availabilityZone: q.availabilityZone as string | undefined,
        limit: q.limit as number | undefined,
        after: q.after as string | undefined,
      }),
    );
  });

  app.get('/v1/instances/:id', async (c) =>
    c.json(await service.getInstance(c.var.ctx, c.req.param('id'))),
  );

  app.post('/v1/instances/:id/task-state', async (c) => {
    const body = parseBody(await c.req.text(), TASK_STATE_FIELDS);
    requireFields(body, TASK_STATE_FIELDS);
    const taskState = readTaskState(body.taskState, 'taskState');
    const expected = Array.isArray(body.expected)
      ? body.expected.map((v, i) => readTaskState(v, `expected.${i}`))
      : [readTaskState(body.expected, 'expected')];
    return c.json(await service.setTaskState(c.var.ctx, c.req.param('id'), taskState, expected));
  });

  app.delete('/v1/instances/:id', async (c) =>
    c.json(await service.deleteInstance(c.var.ctx, c.req.param('id'))),
  );

  app.get('/v1/fixed-ips', async (c) => {
    const q = parseQuery(c.req.url, {
      networkId: 'uuid',
      instanceId: 'nullable-uuid',
      limit: 'limit',
      after: 'string',
    });
    return c.json(await service.listFixedIps(c.var.ctx, q));
  });

  return app;
}

/** The request context from the project and user headers; 400 naming the header when bad. */
function contextOf(c: Context<Env>): RequestContext {
  const projectId = c.req.header(PROJECT_HEADER);
  const userId = c.req.header(USER_HEADER);
  if (projectId === undefined || projectId === '') {
    throw new InvalidInputError('request', [
      { field: PROJECT_HEADER, message: 'header is required' },
    ]);
  }
  try {
    return createContext({ projectId, userId: userId ?? null });
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    throw new InvalidInputError(
      'request',
      err.issues.map((i) => ({
        field: i.field === 'userId' ? USER_HEADER : PROJECT_HEADER,
        message: i.message,
      })),
    );
  }
}

function readTaskState(value: unknown, field: string): TaskState {
  if (value === null || TASK_STATES.includes(value as never)) return value as TaskState;
  throw new InvalidInputError('request', [
    { field, message: `must be null or one of ${TASK_STATES.join(', ')}` },
  ]);
}
