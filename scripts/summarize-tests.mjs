// Prints the one closing line CI reads ("N passed, N failed, N skipped") from vitest's JSON report.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (err) {
  console.log(`tests: no report at ${file} (${err.message})`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
const failed = (report.numFailedTests ?? 0) + (report.numRuntimeErrorTests ?? 0);
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
const broken = (report.testResults ?? []).filter(
  (r) => r.status === 'failed' && (r.assertionResults ?? []).length === 0,
);
for (const suite of broken)
  console.log(`failed to run: ${suite.name}: ${suite.message?.split('\n')[0] ?? ''}`);
console.log(`${passed} passed, ${failed + broken.length} failed, ${skipped} skipped`);
process.exit(failed + broken.length > 0 || passed === 0 ? 1 : 0);
