// `npm run demo` (tests/demo.mjs) shows every program, lab-check included: one run against the
// demo's own tcp-server (every check passes) and one against a student's broken server.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { PROGRAMS, PYTHON3, pinnedNode, root, run, testNeeding } from './helpers.mjs';

testNeeding(test, PYTHON3)('the demo runs every program, and lab-check passes the demo\'s server and fails a broken one', async () => {
  const r = await run(pinnedNode, [join(root, 'tests', 'demo.mjs')], { timeoutMs: 60000 });
  assert.is(r.code, 0, r.stderr);
  const out = r.stdout.toString();
  for (const p of PROGRAMS) assert.match(out, new RegExp(`^\\$ ${p} `, 'm'), `the demo never runs ${p}`);
  assert.match(out, /9 checks: 9 passed, 0 warned, 0 failed\. Well done\.\n {2}\(exit 0/);
  assert.match(out, /FAIL only-a-z .*\n.*str\.upper\(\)/);
  assert.match(out, /\(exit 1: a check failed/);
});

test.run();
