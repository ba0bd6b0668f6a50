import type { ColumnKind } from '../layout.js';
import { type DialectSupport, isJsonKind } from './dialect-support.js';

/**
 * SQLite storage: text as `TEXT` (BINARY collation compares UTF-8 bytes, which is code
 * point order), ints and booleans as `INTEGER` (booleans read back as `true`/`false`),
 * JSON values as JSON text.
 */
export const sqliteSupport: DialectSupport = Object.freeze({
  name: 'sqlite' as const,
  columnType(kind: ColumnKind): string {
    switch (kind) {
      case 'int':
      case 'revision':
      case 'bool':
        return 'integer';
      default:
        return 'text';
    }
  },
  encode(kind: ColumnKind, value: unknown): unknown {
    if (isJsonKind(kind)) return JSON.stringify(value);
    // better-sqlite3 binds no booleans.
    if (kind === 'bool') return value ? 1 : 0;
    return value;
  },
  decode(kind: ColumnKind, raw: unknown): unknown {
    if (isJsonKind(kind)) return JSON.parse(raw as string);
    if (kind === 'bool') return raw !== 0;
    return raw;
  },
});
