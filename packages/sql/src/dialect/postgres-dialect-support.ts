import { normaliseCidr, normaliseIp } from '@polystore/core/adapter';
import type { ColumnKind } from '../layout.js';
import { type DialectSupport, isJsonKind } from './dialect-support.js';

/**
 * PostgreSQL storage: text as `text COLLATE "C"` (code point order whatever the database
 * locale), ints as `bigint`, addresses as `inet`/`cidr` (so allocation can compute with
 * them in SQL), JSON values as `jsonb`, datetimes as their ISO text (exact round trip,
 * and text order is time order).
 */
export const postgresSupport: DialectSupport = Object.freeze({
  name: 'postgres' as const,
  columnType(kind: ColumnKind): string {
    switch (kind) {
      case 'int':
      case 'revision':
        return 'bigint';
      case 'bool':
        return 'boolean';
      case 'ip':
        return 'inet';
      case 'cidr':
        return 'cidr';
      case 'list':
      case 'dict':
      case 'object':
        return 'jsonb';
      default:
        return 'text COLLATE "C"';
    }
  },
  encode(kind: ColumnKind, value: unknown): unknown {
    // Always text for jsonb: pg would turn a JS array into a PostgreSQL array literal.
    return isJsonKind(kind) ? JSON.stringify(value) : value;
  },
  decode(kind: ColumnKind, raw: unknown): unknown {
    const decode = decoder(kind);
    return decode === undefined ? raw : decode(raw);
  },
  decoder,
});

function decoder(kind: ColumnKind): ((raw: unknown) => unknown) | undefined {
  switch (kind) {
    case 'int':
    case 'revision':
      // bigint arrives as text.
      return int;
    case 'ip':
      return ip;
    case 'cidr':
      return cidr;
    default:
      // jsonb arrives parsed by pg's type parser.
      return undefined;
  }
}

const int = (raw: unknown): unknown => (typeof raw === 'string' ? Number(raw) : raw);
const ip = (raw: unknown): unknown => normaliseIp(String(raw)) ?? raw;
const cidr = (raw: unknown): unknown => normaliseCidr(String(raw)) ?? raw;
