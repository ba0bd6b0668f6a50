import { DuplicateError, UnavailableError } from '@polystore/core';
import type { Backend, StoredRecord } from '@polystore/core/adapter';
import { widgetL } from '@polystore/testing/upgrade-fixtures';
import Database from 'better-sqlite3';
import pg from 'pg';

/** The project every benchmark widget belongs to. */
export const MIGRATE_PROJECT = 'bench';

/** The id of widget `g`: a well-formed UUID (version 7 layout) whose order is `g`'s order. */
export function widgetId(g: number): string {
  return `00000000-0000-7000-8000-${g.toString(16).padStart(12, '0')}`;
}

/** Widget `g` as release L (1.0) stores it: serial unique, half of them large (size ≥ 50). */
export function widgetRecord(g: number): StoredRecord {
  const at = '2026-11-30T00:00:00.000Z';
  return {
    id: widgetId(g),
    projectId: MIGRATE_PROJECT,
    revision: 1,
    createdAt: at,
    updatedAt: at,
    deletedAt: null,
    objectVersion: '1.0',
    serial: `s-${g}`,
    name: `widget ${g}`,
    size: g % 100,
    note: null,
  } as StoredRecord;
}

/** Puts `n` release-L widgets into a fresh namespace; loading is not what is measured. */
export interface WidgetLoader {
  /** How the records get in, for the report. */
  readonly method: string;
  /** Adds widgets `from` to `to - 1`. */
  load(from: number, to: number): Promise<void>;
  /** Releases its connections. */
  close(): Promise<void>;
}

/**
 * Through the adapter's own `insert` (the driver SPI), `inFlight` at a time: the records
 * are exactly what the adapter writes for a create. A timed-out insert may have been
 * applied: it is tried again, and a duplicate id then counts as done.
 */
export function driverWidgetLoader(backend: Backend, inFlight: number): WidgetLoader {
  const driver = backend.driver(widgetL);
  const insert = async (g: number) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await driver.insert(widgetRecord(g));
        return;
      } catch (err) {
        if (err instanceof DuplicateError && attempt > 1) return;
        if (!(err instanceof UnavailableError) || attempt >= 5) throw err;
      }
    }
  };
  return {
    method: `adapter insert (driver SPI), ${inFlight} in flight`,
    async load(from, to) {
      let next = from;
      const worker = async () => {
        while (next < to) await insert(next++);
      };
      await Promise.all(Array.from({ length: inFlight }, worker));
    },
    close: async () => {},
  };
}

/**
 * The SELECT list copying the template row (widget 0, written by the adapter) with the
 * columns that differ per widget computed from `g`; every other column is the adapter's
 * own encoding.
 */
function selectList(columns: readonly string[], id: string): string {
  return columns
    .map((c) => {
      switch (c) {
        case 'id':
          return id;
        case 'serial':
          return `'s-' || g`;
        case 'name':
          return `'widget ' || g`;
        case 'size':
          return '(g % 100)';
        default:
          return `t."${c}"`;
      }
    })
    .join(', ');
}

/**
 * PostgreSQL: widget 0 through the adapter, then `INSERT … SELECT generate_series` copying
 * it, and `ANALYZE` (as autovacuum would) so the migrate's scans are planned on statistics.
 */
export function postgresWidgetLoader(backend: Backend, url: string): WidgetLoader {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  const connected = client.connect();
  let columns: string[] | undefined;
  return {
    method: 'INSERT … SELECT generate_series, copying a row the adapter wrote; ANALYZE',
    async load(from, to) {
      await connected;
      if (columns === undefined) {
        await backend.driver(widgetL).insert(widgetRecord(0));
        from = Math.max(from, 1);
        const { rows } = await client.query(
          `SELECT column_name FROM information_schema.columns WHERE table_name = 'widgets' ORDER BY ordinal_position`,
        );
        columns = rows.map((x: { column_name: string }) => x.column_name);
      }
      const id = `'00000000-0000-7000-8000-' || lpad(to_hex(g), 12, '0')`;
      for (let a = from; a < to; a += 200_000) {
        const b = Math.min(to, a + 200_000);
        await client.query(
          `INSERT INTO widgets (${columns.map((c) => `"${c}"`).join(', ')})
           SELECT ${selectList(columns, id)} FROM widgets t CROSS JOIN generate_series($1::int, $2::int) g
           WHERE t.id = $3`,
          [a, b - 1, widgetId(0)],
        );
      }
      await client.query('ANALYZE widgets');
    },
    close: () => client.end(),
  };
}

/** SQLite: the same as {@link postgresWidgetLoader}, with a recursive CTE, on a second connection. */
export function sqliteWidgetLoader(backend: Backend, path: string): WidgetLoader {
  const db = new Database(path, { timeout: 30_000 });
  let columns: string[] | undefined;
  return {
    method: 'INSERT … SELECT from a recursive CTE, copying a row the adapter wrote; ANALYZE',
    async load(from, to) {
      if (columns === undefined) {
        await backend.driver(widgetL).insert(widgetRecord(0));
        from = Math.max(from, 1);
        columns = (db.pragma('table_info(widgets)') as { name: string }[]).map((c) => c.name);
      }
      const id = `printf('00000000-0000-7000-8000-%012x', g)`;
      if (from < to) {
        db.prepare(
          `INSERT INTO widgets (${columns.map((c) => `"${c}"`).join(', ')})
           WITH RECURSIVE s(g) AS (SELECT ? UNION ALL SELECT g + 1 FROM s WHERE g < ?)
           SELECT ${selectList(columns, id)} FROM widgets t CROSS JOIN s
           WHERE t.id = ?`,
        ).run(from, to - 1, widgetId(0));
      }
      db.exec('ANALYZE');
    },
    close: async () => {
      db.close();
    },
  };
}
