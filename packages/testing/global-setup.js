// The file behind `globalSetup: ['@polystore/testing/global-setup']`.
//
// vitest resolves globalSetup entries with plain Node conditions and loads them in its own
// Vite environment, neither of which knows this repo's `source` condition: a conditional
// export would point at dist/, which a workspace checkout has not built. So this shim picks
// the TypeScript source when it is there (this monorepo; Vite transpiles it) and the
// compiled file otherwise (an installed package, which ships dist/ only).
import { existsSync } from 'node:fs';

const setup = existsSync(new URL('./src/global-setup.ts', import.meta.url))
  ? (await import('./src/global-setup.ts')).default
  : (await import('./dist/global-setup.js')).default;

export default setup;
