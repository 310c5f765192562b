// The test tiers through uvu, each ending with one plain line "N passed, N failed, N skipped" that
// CI and people can read without knowing uvu's summary format.
//   node tests/run.mjs [PATTERN]            `npm test`: tests/*.test.mjs, as a user, on loopback
//   node tests/run.mjs --system [PATTERN]   `npm run test:system`: tests/system/*.test.mjs (root,
//                                           network namespaces, Debian packages .ci/run installs)
// e.g. node tests/run.mjs udp runs tests/udp.test.mjs only.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { root, runOnPinnedRuntime } from './helpers.mjs';

runOnPinnedRuntime();
const system = process.argv.includes('--system');
const filter = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? '';
// uvu searches its folder recursively: [^/]* keeps `npm test` out of tests/system, stress and bench.
const pattern = `^[^/]*${filter}[^/]*\\.test\\.mjs$`;
// uvu colours even a pipe (its --color defaults to on): plain text in a CI log or a file.
const color = process.stdout.isTTY ? [] : ['--no-color'];
const uvu = spawn(process.execPath, [join(root, 'node_modules', 'uvu', 'bin.js'), system ? 'tests/system' : 'tests', pattern, ...color], {
  cwd: root, stdio: ['ignore', 'pipe', 'inherit'],
});
let output = '';
uvu.stdout.on('data', (chunk) => { output += chunk; process.stdout.write(chunk); });
uvu.on('close', (code) => {
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const count = (label) => Number(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(plain)?.[1] ?? 0);
  // uvu's Total leaves out skipped tests; a file that throws while loading ends uvu with no
  // summary and a non-zero code: that counts as one failure.
  const total = count('Total');
  const passed = count('Passed');
  const skipped = count('Skipped');
  const failed = total - passed + (code !== 0 && total === passed ? 1 : 0);
  console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(code === 0 && failed === 0 && total + skipped > 0 ? 0 : 1);
});
