import { readFileSync } from 'node:fs';
import pg from 'pg';
import { expect, it } from 'vitest';
import { freshNamespace, startPostgres } from '../src/index.js';
import { describeLifecycle } from './lifecycle.js';

describeLifecycle(
  'postgres',
  () => startPostgres(),
  (server) => {
    it('is durable by default', async () => {
      expect(await show(server().url, 'fsync')).toBe('on');
      expect(await show(server().url, 'synchronous_commit')).toBe('on');
      expect(await show(server().url, 'full_page_writes')).toBe('on');
    });

    it('createDatabase() gives a fresh, separate database', async () => {
      const name = freshNamespace('harness');
      const url = await server().createDatabase(name);
      expect(url).toBe(`postgres://postgres@127.0.0.1:${server().port}/${name}`);
      expect(await show(url, 'lc_collate')).toBe('C');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
        expect(rows[0]?.db).toBe(name);
      } finally {
        await client.end();
      }
      await expect(server().createDatabase('Bad-Name')).rejects.toThrow(TypeError);
    });

    it('runs as an unprivileged user when we are root', () => {
      const uid = Number(
        /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${server().pid}/status`, 'utf8'))?.[1],
      );
      if (process.getuid?.() === 0) expect(uid).not.toBe(0);
      else expect(uid).toBe(process.getuid?.());
    });
  },
);

it('fast: true turns the unsafe settings on', async () => {
  const server = await startPostgres({ fast: true });
  try {
    expect(await show(server.url, 'fsync')).toBe('off');
    expect(await show(server.url, 'synchronous_commit')).toBe('off');
    expect(await show(server.url, 'full_page_writes')).toBe('off');
  } finally {
    await server.stop();
  }
});

async function show(url: string, setting: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<Record<string, string>>(`SHOW ${setting}`);
    return Object.values(rows[0] ?? {})[0] ?? '';
  } finally {
    await client.end();
  }
}
