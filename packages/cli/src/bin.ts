#!/usr/bin/env node
// The `polystore` binary: dist/bin.js when installed, src/bin.ts from source
// (`node --conditions=source --import tsx src/bin.ts`).
import { runCli } from './run-cli.js';

process.exitCode = await runCli(process.argv.slice(2));
