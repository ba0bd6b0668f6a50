import { NotFoundError } from '@polystore/core';
import {
  type AllocateInput,
  allocatedRecord,
  chooseAddress,
  type ReadScope,
  type StoredRecord,
} from '@polystore/core/adapter';
import type { Database } from 'better-sqlite3';
import type { Compilable } from 'kysely';
import { toCoreError } from '../errors.js';
import type { AllocationTables } from '../sql-resource-driver.js';
import { type AllocateFn, networkQuery, takenQuery } from './allocation.js';

/**
 * SQLite allocation over one `better-sqlite3` database: an immediate transaction
 * (`BEGIN IMMEDIATE`) takes the write lock before reading, so no other connection or
 * process can insert between the read of the taken addresses and the insert; the choice
 * is core's own `chooseAddress` (a requested address: only its own row is read).
 *
 * The transaction runs synchronously, in one JS turn: an async transaction would hold the
 * lock across awaits, and another connection of the same process waiting on its busy
 * timeout would block the very thread that has to finish it.
 */
export function sqliteAllocate(database: Database): AllocateFn {
  return async (
    tables: AllocationTables,
    networkScope: ReadScope,
    input: AllocateInput,
  ): Promise<StoredRecord> => {
    const { ctx, fixedIps } = tables;
    const run = (query: Compilable, mode: 'get' | 'all') => {
      const { sql, parameters } = query.compile();
      return database.prepare(sql)[mode](...(parameters as unknown[]));
    };
    const allocate = database.transaction((): StoredRecord => {
      const net = run(networkQuery(tables, networkScope, input.networkId), 'get') as
        | { cidr: string; gateway: string | null }
        | undefined;
      if (net === undefined) throw new NotFoundError('network', input.networkId);
      const taken = run(takenQuery(tables, input), 'all') as { address: string }[];
      const address = chooseAddress(net, input, new Set(taken.map((t) => t.address)));
      const row = run(
        ctx.db
          .insertInto(fixedIps.layout.table)
          .values(fixedIps.toRow(allocatedRecord(input, address)))
          .returningAll(),
        'get',
      ) as Record<string, unknown>;
      return fixedIps.fromRow(row);
    });
    try {
      return allocate.immediate();
    } catch (err) {
      throw toCoreError(err, { layout: fixedIps.layout });
    }
  };
}
