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
