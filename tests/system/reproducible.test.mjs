// Reproducible builds: a second build of the same tree gives dist/'s bytes, and so does a build
// with no network at all (unshare -n: needs root). dist/ must already be built from this tree
// (`npm run test:system` builds it first if needed).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, buildNode as node, findCommand, removeLater, removeTempDirs, root, run, testNeeding } from '../helpers.mjs';

const dist = join(root, 'dist');
const BUILD_TIMEOUT_MS = 90000; // about 3 s per program here

test.after(removeTempDirs);

/** The programs a folder's SHA256SUMS lists, in its order. */
function listedPrograms(dir) {
  const sums = join(dir, 'SHA256SUMS');
  assert.ok(existsSync(sums), `${sums} is missing: run \`npm run build\` first`);
  return readFileSync(sums, 'utf8').trimEnd().split('\n').map((line) => line.split(/\s+\*?/)[1]);
}

/** Builds the whole tree into a new temporary folder with `prefix` before the command (e.g. unshare -n). */
async function buildInto(prefix = []) {
  const out = mkdtempSync(join(tmpdir(), 'socklab-build-'));
  removeLater(out);
  const [command, ...args] = [...prefix, node, join(root, 'build.mjs'), '--out', out];
  const r = await run(command, args, { cwd: root, timeoutMs: BUILD_TIMEOUT_MS });
  assert.is(r.code, 0, `${[command, ...args].join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  return out;
}

/** Asserts that `out` holds the same binaries and SHA256SUMS as dist/, byte for byte. */
function assertSameAsDist(out) {
  assert.is(readFileSync(join(out, '.inputs'), 'utf8'), readFileSync(join(dist, '.inputs'), 'utf8'),
    'dist/ was built from other sources than the tree holds now: run `npm run build` (or `npm test`, which builds first if needed)');
  const programs = listedPrograms(out);
  assert.equal(listedPrograms(dist), programs, 'the rebuild made other programs than dist/ holds');
  for (const name of [...programs, 'SHA256SUMS']) {
    const ours = readFileSync(join(out, name));
    const theirs = readFileSync(join(dist, name));
    if (ours.equals(theirs)) continue;
    let at = 0;
    while (at < ours.length && ours[at] === theirs[at]) at++;
    assert.unreachable(`${name} differs from dist/${name} (${ours.length} vs ${theirs.length} bytes; first difference at byte ${at})`);
  }
}

test('a second build of the same tree is byte-identical to dist/ (binaries and SHA256SUMS)', async () => {
  const out = await buildInto();
  assertSameAsDist(out);
  removeTempDirs(); // ~100 MB per program
});

testNeeding(test, ROOT)('the build works offline: unshare -n node build.mjs --out DIR, and gives the same bytes', async () => {
  const unshare = findCommand('unshare');
  const probe = await run(unshare, ['-n', findCommand('true')], { timeoutMs: 10000 });
  assert.is(probe.code, 0, `unshare -n is not permitted here (needs root or unprivileged user namespaces), so the offline build cannot be checked: ${probe.stderr}`);
  const out = await buildInto([unshare, '-n']);
  assertSameAsDist(out);
  removeTempDirs();
});

test.run();
