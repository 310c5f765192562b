// web-server against a writer in its own folder: a file and a folder under the root are swapped
// in a loop (rename, so each swap is atomic) for symlinks to a secret outside the root, while
// keep-alive clients fetch them as fast as they can. Not one byte of the secret may come back,
// neither during the race nor afterwards from the small-file cache.
import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { freePort } from '../helpers.mjs';
import { SECRET, makeSite } from '../web-helpers.mjs';
import { check, startServer, within } from './lib.mjs';

const RACE_MS = 4000;
const CLIENTS = 8;
/** A bound on the requests, whatever the machine's speed. */
const MAX_REQUESTS = 200_000;

/**
 * The attacker, in a process of its own so that its renames run while the server works: swaps
 * race.txt between a file and a symlink to the secret, and racedir/ between a folder and a
 * symlink to a folder outside the root, until told to stop or `ms` passes.
 */
const SWAPPER = `
const fs = require('node:fs');
const [www, outside, ms] = [process.argv[1], process.argv[2], Number(process.argv[3])];
const at = (name) => www + '/' + name;
let swaps = 0;
const until = Date.now() + ms;
while (Date.now() < until) {
  fs.symlinkSync(outside + '/file.txt', at('.link-new'));
  fs.renameSync(at('.link-new'), at('race.txt'));
  fs.renameSync(at('racedir'), at('.dir-real'));
  fs.renameSync(at('.dir-link'), at('racedir'));
  fs.writeFileSync(at('.file-new'), 'inside the root\\n');
  fs.renameSync(at('.file-new'), at('race.txt'));
  fs.renameSync(at('racedir'), at('.dir-link'));
  fs.renameSync(at('.dir-real'), at('racedir'));
  swaps += 1;
}
console.log(swaps);
`;

export default [{
  name: `web-server: a file and a folder swapped for symlinks out of the root for ${RACE_MS / 1000} s: no byte of the outside file served, now or from the cache`,
  timeoutMs: 40_000,
  async run({ log }) {
    const site = makeSite();
    try {
      const outside = join(site.base, 'outside');
      mkdirSync(outside);
      writeFileSync(join(outside, 'file.txt'), `${SECRET}\n`);
      writeFileSync(join(site.www, 'race.txt'), 'inside the root\n');
      mkdirSync(join(site.www, 'racedir'));
      writeFileSync(join(site.www, 'racedir', 'file.txt'), 'inside the root\n');
      symlinkSync(outside, join(site.www, '.dir-link'));
      const port = await freePort();
      const server = await startServer('web-server', ['-q', '127.0.0.1', String(port), '-d', site.www]);

      const swapper = spawn(process.execPath, ['-e', SWAPPER, site.www, outside, String(RACE_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let swaps = '';
      swapper.stdout.on('data', (d) => { swaps += d; });
      const swapperDone = new Promise((resolve) => swapper.on('exit', resolve));
      const tally = { answers: 0, leaks: 0, statuses: new Map() };
      const until = Date.now() + RACE_MS;
      await within(RACE_MS + 15_000, 'the racing clients', Promise.all(Array.from({ length: CLIENTS }, (_, i) =>
        fetchInLoop(port, i % 2 === 0 ? '/race.txt' : '/racedir/file.txt', until, tally))));
      await swapperDone;
      // Afterwards, with the symlinks in place and no race: both names must still be refused.
      // (The swapper ends with both as the real thing; make them the links for this last look.)
      symlinkSync(join(outside, 'file.txt'), join(site.www, '.link-last'));
      renameSync(join(site.www, '.link-last'), join(site.www, 'race.txt'));
      renameSync(join(site.www, 'racedir'), join(site.www, '.dir-real'));
      renameSync(join(site.www, '.dir-link'), join(site.www, 'racedir'));
      const after = { answers: 0, leaks: 0, statuses: new Map() };
      await fetchInLoop(port, '/race.txt', Date.now() + 300, after, 50);
      await fetchInLoop(port, '/racedir/file.txt', Date.now() + 300, after, 50);
      const shown = (t) => [...t.statuses].map(([s, n]) => `${s}: ${n}`).join(', ');
      log(`${swaps.trim()} swaps; ${tally.answers} answers during the race (${shown(tally)}), ` +
        `${tally.leaks} with outside bytes; after it: ${after.answers} answers (${shown(after)}), ${after.leaks} with outside bytes`);
      check(Number(swaps) > 100, `the swapper made only ${swaps.trim() || 0} swaps`);
      check(tally.answers > 1000, `only ${tally.answers} answers during the race`);
      check(tally.leaks === 0, `${tally.leaks} answers carried the file outside the root`);
      check(after.leaks === 0 && after.answers > 0, `${after.leaks} of ${after.answers} answers after the race carried the outside file`);
      check(!after.statuses.has(200), 'a symlink out of the root was answered 200 after the race');
      check(server.isRunning(), 'the server died');
    } finally {
      site.cleanup();
    }
  },
}];

/**
 * GETs `path` on one keep-alive connection, one request at a time, until `until` (or `max`
 * answers, or MAX_REQUESTS in all); counts statuses and answers that hold the secret.
 */
function fetchInLoop(port, path, until, tally, max = MAX_REQUESTS) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    let mine = 0;
    const ask = () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
    socket.on('connect', ask);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buffer.subarray(0, end).toString('latin1');
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        const answer = buffer.subarray(0, end + 4 + length);
        buffer = buffer.subarray(end + 4 + length);
        const status = head.split(' ')[1];
        tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + 1);
        tally.answers += 1;
        mine += 1;
        if (answer.includes(SECRET) || answer.includes('top-secret-')) tally.leaks += 1;
        if (Date.now() >= until || mine >= max || tally.answers >= MAX_REQUESTS) {
          socket.end();
          return;
        }
        ask();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
}
