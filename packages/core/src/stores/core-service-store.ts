import type { RequestContext } from '../context.js';
import { assertContext } from '../context.js';
import { ConflictError, DuplicateError, type FieldIssue, InvalidInputError } from '../errors.js';
import { CoreResourceStore, type StoreKernel } from '../resource-store.js';
import type {
  HeartbeatRequest,
  Service,
  ServiceStore,
  serviceResource,
} from '../resources/service.js';
import { assertPlainInput, checkValue } from '../schema/validate.js';
import { isPlainObject } from '../schema/values.js';
import { readScope, writeScope } from '../scope.js';

const ATTEMPTS = 32;

/** A short random pause so racing heartbeats of one service spread out. */
const backoff = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));

/**
 * The service store. `heartbeat` is an upsert built from a lookup on the unique
 * `(host, binary)` and a revision-checked write, retried on a lost race, so it is
 * correct on every backend without a native upsert.
 */
export class CoreServiceStore
  extends CoreResourceStore<typeof serviceResource>
  implements ServiceStore
{
  readonly #k: StoreKernel<typeof serviceResource>;

  constructor(kernel: StoreKernel<typeof serviceResource>) {
    super(kernel);
    this.#k = kernel;
  }

  async heartbeat(ctx: RequestContext, request: HeartbeatRequest): Promise<Service> {
    this.#k.checkWrite(ctx);
    const fields = this.#k.resource.fields;
    const issues: FieldIssue[] = [];
    assertPlainInput(this.#k.resource, request, 'request');
    if (!isPlainObject(request)) {
      throw new InvalidInputError('service', [
        { field: 'request', message: 'must be a plain object' },
      ]);
    }
    for (const key of Object.keys(request)) {
      if (key !== 'host' && key !== 'binary' && key !== 'codeVersion')
        issues.push({ field: key, message: 'unknown field' });
    }
    const host = checkValue(fields.host, request.host, 'host', issues) as string;
    const binary = checkValue(fields.binary, request.binary, 'binary', issues) as string;
    const codeVersion = checkValue(
      fields.codeVersion,
      request.codeVersion,
      'codeVersion',
      issues,
    ) as number;
    if (issues.length > 0) throw new InvalidInputError('service', issues);
    const scope = { ...readScope(this.#k.resource, ctx), deleted: 'no' as const };
    for (let attempt = 0; ; attempt++) {
      const now = this.#k.now();
      const [found] = await this.#k.driver.list(scope, {
        where: [
          { field: 'host', op: 'eq', value: host },
          { field: 'binary', op: 'eq', value: binary },
        ],
        orderBy: { field: 'id', direction: 'asc' },
        limit: 1,
        after: null,
      });
      try {
        if (!found) {
          const values = { host, binary, codeVersion, lastSeenAt: now };
          return this.#k.finish(await this.#k.insert(ctx, values));
        }
        const outcome = await this.#k.driver.update(writeScope(this.#k.resource, ctx), found.id, {
          set: { codeVersion, lastSeenAt: now },
          updatedAt: now,
          objectVersion: this.#k.resource.version,
          expectedRevision: found.revision,
          expected: undefined,
        });
        if (outcome.status === 'ok') return this.#k.finish(outcome.record);
        if (attempt + 1 >= ATTEMPTS)
          return this.#k.settle(found.id, outcome, found.revision, undefined);
        await backoff(attempt);
      } catch (err) {
        // Another process registered the same (host, binary) first: read it again.
        if (
          !(err instanceof DuplicateError || err instanceof ConflictError) ||
          attempt + 1 >= ATTEMPTS
        )
          throw err;
        await backoff(attempt);
      }
    }
  }

  async minimumVersion(ctx: RequestContext, binary: string): Promise<number | null> {
    assertContext(ctx);
    const issues: FieldIssue[] = [];
    checkValue(this.#k.resource.fields.binary, binary, 'binary', issues);
    if (issues.length > 0) throw new InvalidInputError('service', issues);
    const scope = { ...readScope(this.#k.resource, ctx), deleted: 'no' as const };
    // With a lease window, a service not seen within it is not live: it does not hold the
    // fleet back (a crashed process never deregisters).
    const lease = this.#k.deps.serviceLeaseMs;
    const seenSince =
      lease === undefined ? undefined : new Date(this.#k.deps.clock.now() - lease).toISOString();
    let min: number | null = null;
    let after: { value: string; id: string } | null = null;
    for (;;) {
      const rows = await this.#k.driver.list(scope, {
        where: [{ field: 'binary', op: 'eq', value: binary }],
        orderBy: { field: 'id', direction: 'asc' },
        limit: 1000,
        after,
      });
      for (const r of rows) {
        if (r.disabled || (seenSince !== undefined && (r.lastSeenAt as string) < seenSince))
          continue;
        if (min === null || (r.codeVersion as number) < min) min = r.codeVersion as number;
      }
      const last = rows[rows.length - 1];
      if (rows.length < 1000 || !last) return min;
      after = { value: last.id, id: last.id };
    }
  }
}
