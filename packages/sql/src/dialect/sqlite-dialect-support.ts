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
    const decode = decoder(kind);
    return decode === undefined ? raw : decode(raw);
  },
  decoder,
});

function decoder(kind: ColumnKind): ((raw: unknown) => unknown) | undefined {
  if (isJsonKind(kind)) return parseJson;
  if (kind === 'bool') return bool;
  return undefined;
}

const parseJson = (raw: unknown): unknown => JSON.parse(raw as string);
const bool = (raw: unknown): boolean => raw !== 0;
