#!/usr/bin/env node
// The `polystore` binary: dist/bin.js when installed, src/bin.ts from source
// (`node --conditions=source --import tsx src/bin.ts`).
import { runCli } from './run-cli.js';

const code = await runCli(process.argv.slice(2));
// The command is over once runCli resolves. A driver whose connection failed may still hold
// a socket or a reconnect timer (some retry for ever against a server that accepts but never
// answers), which would keep the process alive after it printed its error; so the binary
// ends here with the command's code, once what it wrote has been handed to the OS.
await Promise.all([flush(process.stdout), flush(process.stderr)]);
process.exit(code);

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    stream.write('', () => resolve());
  });
}
