import type { AllocateInput, ReadScope, StoredRecord } from '@polystore/core/adapter';
import type { AllocationTables } from '../sql-resource-driver.js';

/**
 * A dialect's atomic allocation: read the network, choose the address by core's
 * `chooseAddress` rule, insert core's `allocatedRecord`, as one atomic step.
 */
export type AllocateFn = (
  tables: AllocationTables,
  networkScope: ReadScope,
  input: AllocateInput,
) => Promise<StoredRecord>;

/**
 * The network an allocation draws from, if `scope` sees it: its `cidr` and `gateway`
 * columns. Each dialect runs it its own way (awaited, or inside a synchronous transaction).
 */
export function networkQuery({ ctx, networks }: AllocationTables, scope: ReadScope, id: string) {
  return ctx.db
    .selectFrom(networks.layout.table)
    .select(['cidr', 'gateway'])
    .where((eb) => eb.and([eb('id', '=', id), ...networks.readScope(eb, scope)]));
}

/** The `address` column of the network's live fixed IPs: only the requested one, if any. */
export function takenQuery({ ctx, fixedIps }: AllocationTables, input: AllocateInput) {
  return ctx.db
    .selectFrom(fixedIps.layout.table)
    .select('address')
    .where((eb) =>
      eb.and([
        eb('network_id', '=', input.networkId),
        eb('deleted_at', 'is', null),
        ...(input.address === undefined ? [] : [eb('address', '=', input.address)]),
      ]),
    );
}
