import {
  type AddressAllocator,
  type AllocateInput,
  KeyedQueue,
  type ReadScope,
  type StoredRecord,
  type WriteScope,
} from '@polystore/core/adapter';
import { sql } from 'kysely';
import type { AllocateFn } from './dialect/allocation.js';
import { withDeadline, withRetries } from './errors.js';
import type { AllocationTables } from './sql-resource-driver.js';

/**
 * Atomic address allocation over the `networks` and `fixed_ips` tables. How the address is
 * chosen atomically differs by dialect (one statement on PostgreSQL, an immediate
 * transaction on SQLite); releasing is one statement on both.
 */
export class SqlAddressAllocator implements AddressAllocator {
  readonly #tables: AllocationTables;
  readonly #allocate: AllocateFn;
  readonly #queue = new KeyedQueue();

  constructor(tables: AllocationTables, allocate: AllocateFn) {
    this.#tables = tables;
    this.#allocate = allocate;
  }

  allocate(networkScope: ReadScope, input: AllocateInput): Promise<StoredRecord> {
    // Allocations of one network from this process take turns: concurrent ones would pick
    // the same lowest address and all but one retry. Other processes still race safely.
    // The bound covers the wait for this process's earlier allocations too.
    return withDeadline(this.#tables.ctx.failFastMs, 'allocate', () =>
      this.#queue.run(input.networkId, () => this.#allocate(this.#tables, networkScope, input)),
    );
  }

  async releaseAllForInstance(scope: WriteScope, instanceId: string, at: string): Promise<number> {
    const { ctx, fixedIps } = this.#tables;
    const table = fixedIps.layout.table;
    return withDeadline(ctx.failFastMs, 'releaseAllForInstance', () =>
      withRetries(
        async () => {
          if (fixedIps.layout.resource.softDelete) {
            const result = await ctx.db
              .updateTable(table)
              .set({ deleted_at: at, updated_at: at, revision: sql`${sql.ref('revision')} + 1` })
              .where((eb) =>
                eb.and([eb('instance_id', '=', instanceId), ...fixedIps.writeScope(eb, scope)]),
              )
              .executeTakeFirst();
            return Number(result.numUpdatedRows);
          }
          const result = await ctx.db
            .deleteFrom(table)
            .where((eb) =>
              eb.and([eb('instance_id', '=', instanceId), ...fixedIps.writeScope(eb, scope)]),
            )
            .executeTakeFirst();
          return Number(result.numDeletedRows);
        },
        ctx.maxRetries,
        fixedIps.layout,
      ),
    );
  }
}
