import type { RequestContext } from '../context.js';
import { assertContext } from '../context.js';
import { type FieldIssue, InvalidInputError } from '../errors.js';
import { compareValues } from '../query/evaluate.js';
import { CoreResourceStore, type StoreKernel } from '../resource-store.js';
import {
  IN_PROGRESS_STATUSES,
  type Migration,
  type MigrationStore,
  type migrationResource,
} from '../resources/migration.js';
import { checkValue, notNull } from '../schema/validate.js';
import { readScope } from '../scope.js';

const MAX = 1000;

/** The migration store; `listInProgressByHost` is two indexed queries merged by id. */
export class CoreMigrationStore
  extends CoreResourceStore<typeof migrationResource>
  implements MigrationStore
{
  readonly #k: StoreKernel<typeof migrationResource>;

  constructor(kernel: StoreKernel<typeof migrationResource>) {
    super(kernel);
    this.#k = kernel;
  }

  async listInProgressByHost(ctx: RequestContext, host: string): Promise<Migration[]> {
    assertContext(ctx);
    const issues: FieldIssue[] = [];
    const field = this.#k.resource.fields.sourceCompute;
    checkValue(notNull(field), host, 'host', issues);
    if (issues.length > 0) throw new InvalidInputError('migration', issues);
    const scope = { ...readScope(this.#k.resource, ctx), deleted: 'no' as const };
    const status = { field: 'status', op: 'in' as const, value: [...IN_PROGRESS_STATUSES] };
    const orderBy = { field: 'id', direction: 'asc' as const };
    const [from, to] = await Promise.all(
      (['sourceCompute', 'destCompute'] as const).map((side) =>
        this.#k.driver.list(scope, {
          where: [{ field: side, op: 'eq', value: host }, status],
          orderBy,
          limit: MAX,
          after: null,
        }),
      ),
    );
    const byId = new Map([...from!, ...to!].map((r) => [r.id, r]));
    return [...byId.values()]
      .sort((a, b) => compareValues(a.id, b.id))
      .slice(0, MAX)
      .map((r) => this.#k.finish(r));
  }
}
