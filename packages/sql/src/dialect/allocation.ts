import {
  type AllocateInput,
  allocatedRecord,
  type ReadScope,
  type StoredRecord,
} from '@polystore/core/adapter';
import type { RowCodec, SqlDriverContext } from '../sql-resource-driver.js';

/** What an allocation needs: the backend, and the tables of networks and fixed IPs. */
export interface AllocationTables {
  readonly ctx: SqlDriverContext;
  readonly networks: RowCodec;
  readonly fixedIps: RowCodec;
}

/** A dialect's atomic allocation: read the network, choose the address, insert the fixed IP. */
export type AllocateFn = (
  tables: AllocationTables,
  networkScope: ReadScope,
  input: AllocateInput,
) => Promise<StoredRecord>;

/** The fixed IP record an allocation inserts, with `address` to be chosen. */
export function fixedIpRecord(
  codec: RowCodec,
  input: AllocateInput,
  address: string | null,
): StoredRecord {
  const record: Record<string, unknown> = {};
  for (const c of codec.layout.columns) record[c.field] = null;
  Object.assign(record, allocatedRecord(input, address));
  return record as StoredRecord;
}
