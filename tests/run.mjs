// `npm test`: every tests/*.test.mjs through uvu, then one closing line "N passed, N failed" that
// CI and people can read without knowing uvu's summary format.
//   node tests/run.mjs [PATTERN]   e.g. node tests/run.mjs 'udp' to run tests/udp.test.mjs only
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const pattern = process.argv[2] ? `${process.argv[2]}.*\\.test\\.mjs$` : '\\.test\\.mjs$';
const uvu = spawn(process.execPath, [join(root, 'node_modules', 'uvu', 'bin.js'), 'tests', pattern], {
  cwd: root, stdio: ['ignore', 'pipe', 'inherit'],
});
let output = '';
uvu.stdout.on('data', (chunk) => { output += chunk; process.stdout.write(chunk); });
uvu.on('close', (code) => {
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const count = (label) => Number(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(plain)?.[1] ?? 0);
  const total = count('Total');
  const passed = count('Passed');
  const skipped = count('Skipped');
  const failed = total - passed - skipped + (code !== 0 && total === passed + skipped ? 1 : 0);
  console.log(`\ntests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(code === 0 && failed === 0 && total > 0 ? 0 : 1);
});
