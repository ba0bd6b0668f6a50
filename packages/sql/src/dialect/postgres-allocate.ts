import { DuplicateError, NotFoundError, UnavailableError } from '@polystore/core';
import {
  type AllocateInput,
  allocatedRecord,
  chooseAddress,
  type ReadScope,
  type StoredRecord,
} from '@polystore/core/adapter';
import { type RawBuilder, sql } from 'kysely';
import { toCoreError } from '../errors.js';
import type { AllocationTables, RowCodec } from '../sql-resource-driver.js';
import { networkQuery, takenQuery } from './allocation.js';

/** How often an allocation that lost the race for an address is repeated before giving up. */
const MAX_ATTEMPTS = 100;

function table(codec: RowCodec, schema: string | undefined): RawBuilder<unknown> {
  return schema === undefined ? sql.table(codec.layout.table) : sql.id(schema, codec.layout.table);
}

function networkScopeSql(scope: ReadScope): RawBuilder<unknown> {
  const parts = [sql`deleted_at IS NULL`];
  if (scope.projectId !== null) {
    parts.push(
      scope.includeShared
        ? sql`(project_id = ${scope.projectId} OR project_id IS NULL)`
        : sql`project_id = ${scope.projectId}`,
    );
  }
  return sql.join(parts, sql` AND `);
}

/**
 * The allocation statement: one `INSERT … SELECT` whose CTEs read the network and compute
 * the address with `inet` arithmetic.
 *
 * Lowest free address: the network address, the gateway and the taken addresses are the
 * "occupied" points, sorted; the first one whose successor is not occupied gives the
 * answer (its successor), if that is usable. Every usable address above the network
 * address has a predecessor that is usable or the network address, so the lowest free one
 * is always such a successor: exactly core's `lowestFreeAddress`. It is one ordered pass
 * over the network's slice of the `(network_id, address)` index (`lead()` over it), linear
 * whatever plan the statistics suggest.
 */
function allocationSql(
  { ctx, networks, fixedIps }: AllocationTables,
  networkScope: ReadScope,
  input: AllocateInput,
): RawBuilder<Record<string, unknown>> {
  const record = allocatedRecord(input, null);
  const values = fixedIps.layout.columns.map((c) => {
    if (c.field === 'address') return sql`candidate.c`;
    const type = sql.raw(ctx.support.columnType(c.kind).replace(' COLLATE "C"', ''));
    return sql`CAST(${fixedIps.encode(c, record[c.field])} AS ${type})`;
  });
  const candidate =
    input.address === undefined
      ? sql`
          SELECT g.o + 1 AS c
          FROM (
            SELECT o, lead(o) OVER (ORDER BY o) AS next
            FROM (
              SELECT lo AS o FROM bounds
              UNION SELECT gateway FROM bounds WHERE family(gateway) = fam AND gateway > lo AND gateway <= hi
              UNION SELECT f.address FROM ${table(fixedIps, ctx.schema)} f, bounds
                WHERE f.network_id = ${input.networkId} AND f.deleted_at IS NULL
                  AND family(f.address) = fam AND f.address > lo AND f.address <= hi
            ) occupied
          ) g, bounds
          WHERE g.o < hi AND (g.next IS NULL OR g.next > g.o + 1) AND (fam = 6 OR g.o + 1 < hi)
          ORDER BY g.o
          LIMIT 1`
      : sql`
          SELECT x.c FROM (SELECT CAST(${input.address} AS inet) AS c) x, bounds
          WHERE family(x.c) = fam AND x.c > lo AND x.c <= hi AND (fam = 6 OR x.c < hi)
            AND x.c IS DISTINCT FROM bounds.gateway`;
  return sql<Record<string, unknown>>`
    WITH net AS (
      SELECT cidr, gateway FROM ${table(networks, ctx.schema)}
      WHERE id = ${input.networkId} AND ${networkScopeSql(networkScope)}
    ),
    bounds AS (
      SELECT CAST(host(network(cidr)) AS inet) AS lo, CAST(host(broadcast(cidr)) AS inet) AS hi,
             family(cidr) AS fam, CAST(host(gateway) AS inet) AS gateway
      FROM net
    ),
    candidate AS (${candidate})
    INSERT INTO ${table(fixedIps, ctx.schema)} (${sql.join(fixedIps.layout.columns.map((c) => sql.ref(c.column)))})
    SELECT ${sql.join(values)} FROM candidate
    RETURNING *`;
}

/** The network (`NotFoundError` unless visible in `scope`) and its live addresses (only the requested one, if any). */
async function readNetwork(
  tables: AllocationTables,
  scope: ReadScope,
  input: AllocateInput,
): Promise<{ net: { cidr: string; gateway: string | null }; taken: Set<string> }> {
  const { networks, fixedIps } = tables;
  try {
    const row = await networkQuery(tables, scope, input.networkId).executeTakeFirst();
    if (row === undefined) throw new NotFoundError('network', input.networkId);
    const addresses = await takenQuery(tables, input).execute();
    const address = fixedIps.layout.column('address');
    return {
      net: {
        cidr: networks.decode(networks.layout.column('cidr'), row.cidr) as string,
        gateway: networks.decode(networks.layout.column('gateway'), row.gateway) as string | null,
      },
      taken: new Set(addresses.map((a) => fixedIps.decode(address, a.address) as string)),
    };
  } catch (err) {
    throw toCoreError(err);
  }
}

/**
 * PostgreSQL allocation: one statement, one round trip (see {@link allocationSql}).
 *
 * Race-free because the partial unique index on `(network_id, address) WHERE deleted_at
 * IS NULL` has the last word: two statements that chose the same address from the same
 * snapshot cannot both insert; the loser blocks until the winner commits, fails with a
 * unique violation, and is run again with a fresh snapshot that sees the winner's row.
 * A requested address that is taken is a `DuplicateError` at once. When no row comes back,
 * core's `chooseAddress` over a fresh read of the network (failure path only) tells a
 * missing network from a bad address or a full one.
 */
export async function postgresAllocate(
  tables: AllocationTables,
  networkScope: ReadScope,
  input: AllocateInput,
): Promise<StoredRecord> {
  const { ctx, fixedIps } = tables;
  const statement = allocationSql(tables, networkScope, input);
  for (let attempt = 1; ; attempt++) {
    let rows: Record<string, unknown>[];
    try {
      rows = (await statement.execute(ctx.db)).rows;
    } catch (err) {
      const mapped = toCoreError(err, { layout: fixedIps.layout });
      const lostRace =
        mapped instanceof DuplicateError &&
        mapped.fields.includes('address') &&
        input.address === undefined;
      if (
        (lostRace || ['40001', '40P01'].includes(String((err as { code?: unknown }).code))) &&
        attempt < MAX_ATTEMPTS
      ) {
        continue;
      }
      throw mapped;
    }
    if (rows[0] !== undefined) return fixedIps.fromRow(rows[0]);
    // No row: core's rule over a fresh read says why (network not visible, address not
    // usable, network full); if it finds an address after all, the network changed: again.
    const { net, taken } = await readNetwork(tables, networkScope, input);
    chooseAddress(net, input, taken);
    if (attempt >= MAX_ATTEMPTS) {
      throw new UnavailableError(
        `sql backend unavailable: network ${input.networkId} kept changing during allocation`,
      );
    }
  }
}
