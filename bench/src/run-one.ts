import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BACKENDS, type BackendName } from './backend-target.js';
import { FULL, QUICK, withScale, withScaleBudget } from './bench-config.js';
import { runBackend } from './run-backend.js';
import { TARGETS } from './targets.js';

// One backend in a process of its own (started by main.ts): its peak memory is its own, and
// a client that hangs or crashes costs that backend only.
const { values } = parseArgs({
  options: {
    backend: { type: 'string' },
    mode: { type: 'string' },
    work: { type: 'string' },
    result: { type: 'string' },
    scale: { type: 'string' },
    'scale-budget': { type: 'string' },
  },
});
const name = values.backend as BackendName;
if (!BACKENDS.includes(name) || !values.work || !values.result) {
  console.error('usage: run-one.ts --backend NAME --mode quick|full --work DIR --result FILE');
  process.exit(2);
}
const config = withScaleBudget(
  withScale(values.mode === 'quick' ? QUICK : FULL, values.scale),
  values['scale-budget'],
);
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const result = await runBackend(TARGETS[name], config, values.work, log);
writeFileSync(values.result, JSON.stringify(result));
// Some peer clients keep handles open after close (a KeyvMongo that never connected).
process.exit(0);
