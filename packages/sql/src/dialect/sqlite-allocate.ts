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
import type { AllocateFn } from './allocation.js';

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
    const { ctx, networks, fixedIps } = tables;
    const run = (query: Compilable, mode: 'get' | 'all') => {
      const { sql, parameters } = query.compile();
      return database.prepare(sql)[mode](...(parameters as unknown[]));
    };
    const allocate = database.transaction((): StoredRecord => {
      const net = run(
        ctx.db
          .selectFrom(networks.layout.table)
          .select(['cidr', 'gateway'])
          .where((eb) =>
            eb.and([eb('id', '=', input.networkId), ...networks.readScope(eb, networkScope)]),
          ),
        'get',
      ) as { cidr: string; gateway: string | null } | undefined;
      if (net === undefined) throw new NotFoundError('network', input.networkId);
      const taken = run(
        ctx.db
          .selectFrom(fixedIps.layout.table)
          .select('address')
          .where((eb) =>
            eb.and([
              eb('network_id', '=', input.networkId),
              eb('deleted_at', 'is', null),
              ...(input.address === undefined ? [] : [eb('address', '=', input.address)]),
            ]),
          ),
        'all',
      ) as { address: string }[];
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
