import { Redis } from 'ioredis';
import pg from 'pg';
import type { ServerClock } from './measure.js';

/**
 * PostgreSQL's own time (planning + execution, from `pg_stat_statements`, which the bench
 * server preloads) since the last reset, over every statement but the clock's own.
 */
export async function postgresClock(url: string): Promise<ServerClock> {
  const client = new pg.Client({ connectionString: url });
  // The server's shutdown at the end of the run cuts this connection; that is no failure.
  client.on('error', () => {});
  await client.connect();
  await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  return {
    reset: async () => {
      await client.query('SELECT pg_stat_statements_reset()');
    },
    elapsedUs: async () => {
      const { rows } = await client.query<{ ms: string | null }>(
        `SELECT sum(total_exec_time + total_plan_time) AS ms FROM pg_stat_statements
         WHERE query NOT LIKE '%pg_stat_statements%'`,
      );
      return Number(rows[0]?.ms ?? 0) * 1000;
    },
    close: () => client.end(),
  };
}

/**
 * Redis's own time (`INFO commandstats`, the `usec` of every command, scripts included)
 * since the last `CONFIG RESETSTAT`, leaving out the clock's own `INFO` and `CONFIG`.
 */
export async function redisClock(url: string): Promise<ServerClock> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  // The server's shutdown at the end of the run cuts this connection; that is no failure.
  redis.on('error', () => {});
  await redis.connect();
  return {
    reset: async () => {
      await redis.config('RESETSTAT');
    },
    elapsedUs: async () => {
      const info = await redis.info('commandstats');
      let us = 0;
      for (const m of info.matchAll(/^cmdstat_([^:]+):calls=\d+,usec=(\d+)/gm)) {
        if (m[1] !== 'info' && m[1] !== 'config') us += Number(m[2]);
      }
      return us;
    },
    close: async () => {
      redis.disconnect();
    },
  };
}
