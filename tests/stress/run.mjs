// `npm run stress`: attacks the real binaries in dist/ with load, faults, fuzz and bad input, and
// checks that nothing is lost and no server dies. Each scenario prints what it did and one
// PASS/FAIL line; the run ends with "stress: N passed, N failed" and exits 1 on any failure.
//   node tests/stress/run.mjs [--seed N] [--only WORD]
// Bounded: each scenario has its own time limit, and the whole run stops itself after 290 s.
import { parseArgs } from 'node:util';
import { runOnPinnedRuntime } from '../helpers.mjs';
import { stopLeftovers } from './lib.mjs';
import tcpLoad from './tcp-load.mjs';
import udpLoad from './udp-load.mjs';
import tcpFaults from './tcp-faults.mjs';
import fdLimit from './fd-limit.mjs';
import httpFuzz from './http-fuzz.mjs';
import slowloris from './slowloris.mjs';
import webSigterm from './web-sigterm.mjs';
import webRace from './web-race.mjs';
import webPipeline from './web-pipeline.mjs';
import webListings from './web-listings.mjs';
import badCli from './bad-cli.mjs';

runOnPinnedRuntime();
let values;
try {
  ({ values } = parseArgs({ options: { seed: { type: 'string' }, only: { type: 'string' } } }));
} catch (err) {
  console.error(`stress: ${err.message}; usage: node tests/stress/run.mjs [--seed N] [--only WORD]`);
  process.exit(64);
}
const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
const RUN_LIMIT_MS = 290_000;

const scenarios = [...badCli, ...tcpLoad, ...udpLoad, ...tcpFaults, ...fdLimit, ...slowloris, ...webSigterm, ...webRace, ...webPipeline, ...webListings, ...httpFuzz]
  .filter((s) => !values.only || s.name.includes(values.only));
// A word that matches nothing would pass by running nothing: say so and fail.
if (scenarios.length === 0) {
  console.error(`stress: no scenario's name contains "${values.only}"; pick a word from one of them (e.g. fuzz, listings, "bad command")`);
  process.exit(64);
}

const runStarted = performance.now();
// The last resort: whatever hangs, the run ends (failed) within its bound.
setTimeout(() => {
  console.log(`FAIL the whole run took over ${RUN_LIMIT_MS / 1000} s`);
  console.log(`stress: ${passed} passed, ${failed + 1} failed`);
  process.exit(1);
}, RUN_LIMIT_MS).unref();

console.log(`stress: ${scenarios.length} scenarios, seed ${seed} (replay with: npm run stress -- --seed ${seed})`);
let passed = 0;
let failed = 0;
for (const scenario of scenarios) {
  console.log(`\n== ${scenario.name}`);
  const began = performance.now();
  const log = (line) => console.log(`   ${line}`);
  let timer;
  try {
    const hang = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`hung: not done after ${scenario.timeoutMs / 1000} s`)), scenario.timeoutMs);
    });
    await Promise.race([scenario.run({ log, seed }), hang]);
    passed += 1;
    console.log(`PASS ${scenario.name} (${((performance.now() - began) / 1000).toFixed(1)} s)`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${scenario.name} (${((performance.now() - began) / 1000).toFixed(1)} s): ${err?.message ?? err}`);
  } finally {
    clearTimeout(timer);
    await stopLeftovers();
  }
}
console.log(`\nran ${scenarios.length} scenarios in ${((performance.now() - runStarted) / 1000).toFixed(0)} s, seed ${seed}`);
console.log(`stress: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
