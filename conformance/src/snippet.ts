import { adminContext, type Stores } from '@polystore/core';
import { STORE_NAMES } from '@polystore/core/adapter';
import { type ContextName, contextSource, contextVar } from './contexts.js';
import { literal, type Op, opExpression, opSource } from './op.js';
import { type Outcome, show, showOutcome } from './outcome.js';
import { CLOCK_EPOCH } from './session.js';

/** One executed command and the reference model's outcome. */
export interface TraceStep {
  readonly op: Op;
  readonly expected: Outcome;
}

function expectation(o: Outcome): string {
  if (o.ok) return `.resolves.toEqual(${literal(o.value)})`;
  const { untyped, ...rest } = o.error;
  return `.rejects.toMatchObject(${literal(rest)})`;
}

/**
 * The shrunk sequence as a vitest test to paste into the adapter's test folder. `open` is
 * the adapter's own open function, as given to the suite.
 */
export function buildSnippet(
  before: readonly TraceStep[],
  failing: { readonly op: Op; readonly expected: Outcome; readonly actual: Outcome },
  token: string,
): string {
  const ops = [...before.map((s) => s.op), failing.op];
  const ctxs = [
    ...new Set(ops.flatMap((o) => (o.kind === 'tick' ? [] : [o.ctx]))),
  ] as ContextName[];
  const pages = ops.some((o) => o.kind === 'pages');
  const lines = [
    `import { createContext, ManualClock, sequentialIds } from '@polystore/core';`,
    pages ? `import { listAllPages } from '@polystore/conformance';` : undefined,
    `import { expect, it } from 'vitest';`,
    `import { open } from './open.js'; // your open(namespace, deps); with { adapter, url }: export const { open } = conformanceOptionsFor({ adapter, url })`,
    '',
    `// POLYSTORE_REPLAY=${token}`,
    `it('conformance counterexample', async () => {`,
    `  const clock = new ManualClock(${CLOCK_EPOCH}); // ${new Date(CLOCK_EPOCH).toISOString()}`,
    `  const s = await open('replay_${Date.now().toString(36)}', { clock, ids: sequentialIds(), route: (u) => u });`,
    ...ctxs.map((c) => `  const ${contextVar(c)} = ${contextSource(c)};`),
    ...before.map((s) =>
      s.op.kind === 'tick'
        ? `  ${opSource(s.op)}`
        : s.expected.ok
          ? `  ${opSource(s.op)} // → ${showOutcome(s.expected).slice(0, 100)}`
          : `  await expect(${opExpression(s.op)})${expectation(s.expected)};`,
    ),
    `  // ✗ the adapter gave: ${showOutcome(failing.actual).slice(0, 400)}`,
    failing.op.kind === 'tick'
      ? `  ${opSource(failing.op)}`
      : `  await expect(${opExpression(failing.op)})${expectation(failing.expected)};`,
    '  await s.close();',
    '});',
  ];
  return lines.filter((l) => l !== undefined).join('\n');
}

/** Every record of a bag (deleted ones included), one short line each. */
export async function dumpState(stores: Stores): Promise<string> {
  const ctx = adminContext({ readDeleted: 'yes' });
  const lines: string[] = [];
  for (const name of STORE_NAMES) {
    const page = await stores[name].list(ctx, { limit: 1000 });
    for (const r of page.items as unknown as readonly Record<string, unknown>[]) {
      const { id, projectId, revision, deletedAt, createdAt, updatedAt, objectVersion, ...fields } =
        r;
      const tail = deletedAt === null ? '' : ` deleted ${String(deletedAt)}`;
      lines.push(
        `${name} ${String(id).slice(-4)} ${String(projectId)} rev ${String(revision)}${tail} ${show(fields, 200)}`,
      );
    }
  }
  return lines.length === 0 ? '(empty)' : lines.join('\n');
}
