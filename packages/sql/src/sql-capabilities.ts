import type { Capabilities } from '@polystore/core';
import { defineCapabilities } from '@polystore/core/adapter';

/** The SQL adapter's capability manifest, the same for both dialects. */
export const SQL_CAPABILITIES: Capabilities = defineCapabilities({
  // Well below PostgreSQL's 1 GB field limit and SQLite's 1 GB default SQLITE_MAX_LENGTH.
  maxRecordBytes: 1_048_576,
  reads: 'linearizable',
  serverSideQueries: true,
  // setWriteFloor: triggers refuse a write below the fleet's pin inside the writing statement.
  fencing: 'atomic',
  features: {},
});
