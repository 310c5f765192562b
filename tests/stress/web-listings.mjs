// 40 clients at once ask for the listing of a 20,000-entry folder while another fetches small
// files: the small files must still be answered within 100 ms, and the server's peak RSS must stay
// within 100 MiB of idle. Before listings were bounded this took web-server from 47 MiB to 2.2 GiB
// and held a 6-byte file's answer 20 s (nginx autoindex: 0.00 s, 6 MiB). A second round's
// clients ask and then read nothing for 3 s, holding their listings open meanwhile.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { freePort } from '../helpers.mjs';
import { makeSite } from '../web-helpers.mjs';
import { check, rssMiB, sleep, startServer, within } from './lib.mjs';

export const ENTRIES = 20_000;
export const LISTINGS = 40;
const SMALL_FILES = 10;
const SMALL_WITHIN_MS = 100;
const RSS_GROWTH_MIB = 100;

export default [{
  name: `web-server: ${LISTINGS} listings of a ${ENTRIES.toLocaleString('en')}-entry folder at once; a small file still answered within ${SMALL_WITHIN_MS} ms, RSS within ${RSS_GROWTH_MIB} MiB of idle`,
  timeoutMs: 120_000,
  async run({ log }) {
    const site = makeSite();
    try {
      makeListingSite(site.www);
      const port = await freePort();
      const server = await startServer('web-server', ['-q', '127.0.0.1', String(port), '-d', site.www]);
      await sleep(500);
      const idle = rssMiB(server.pid);
      for (const [round, readAfterMs] of [['readers', 0], ['clients that read nothing for 3 s', 3000]]) {
        const result = await within(90_000, `round "${round}"`, listingAttack(port, { readAfterMs, smallPrefix: `/small-${readAfterMs}-` }));
        const peak = peakRssMiB(server.pid);
        log(`${round}: ${describe(result)}; RSS ${idle.toFixed(0)} MiB idle, peak so far ${peak.toFixed(0)} MiB`);
        check(result.small.every((s) => s.status === 200), `a small file got ${result.small.map((s) => s.status).join(' ')}`);
        check(Math.max(...result.small.map((s) => s.ms)) <= SMALL_WITHIN_MS, `a small file took ${Math.max(...result.small.map((s) => s.ms)).toFixed(0)} ms`);
        check(result.listings.every((l) => (l.status === 200 && l.rows === ENTRIES && l.whole) || (l.status === 503 && l.retryAfter)),
          `a listing was neither whole nor 503 with Retry-After: ${JSON.stringify(result.listings.find((l) => !((l.status === 200 && l.rows === ENTRIES && l.whole) || l.status === 503)))}`);
        check(result.listings.some((l) => l.status === 200), 'no listing was answered at all');
        check(peak - idle <= RSS_GROWTH_MIB, `peak RSS ${peak.toFixed(0)} MiB, ${(peak - idle).toFixed(0)} MiB above idle`);
        check(server.isRunning(), 'the server died');
      }
    } finally {
      site.cleanup();
    }
  },
}];

/** A folder `many/` of ENTRIES files, and small files beside it (never served before, so not cached). */
export function makeListingSite(www) {
  mkdirSync(join(www, 'many'));
  for (let i = 0; i < ENTRIES; i++) writeFileSync(join(www, 'many', `entry-${String(i).padStart(5, '0')}-of-a-long-listing.txt`), '');
  for (const prefix of ['small-0-', 'small-3000-']) {
    for (let i = 0; i < SMALL_FILES; i++) writeFileSync(join(www, `${prefix}${i}.txt`), 'small\n');
  }
}

/**
 * LISTINGS clients ask for /many/ at once (reading after `readAfterMs`); meanwhile small files are
 * fetched one after another, each timed. Resolves when every listing has ended.
 */
export async function listingAttack(port, { readAfterMs = 0, smallPrefix = '/small-0-' } = {}) {
  const listings = Array.from({ length: LISTINGS }, () => fetchListing(port, readAfterMs));
  await sleep(50);
  // Timed by a process of its own: this one is busy reading the listings, and its own delays
  // would count against the server.
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', TIME_SMALL_FILES, String(port), smallPrefix,
    String(SMALL_FILES)], { encoding: 'utf8', timeout: 30_000 });
  const small = JSON.parse(stdout);
  return { listings: await Promise.all(listings), small };
}

/** argv: port, path prefix, count. GETs PREFIX0.txt, PREFIX1.txt, ... one after another, 100 ms apart. */
const TIME_SMALL_FILES = `
import net from 'node:net';
const [port, prefix, count] = process.argv.slice(1);
const fetchStatus = (path) => new Promise((resolve) => {
  const socket = net.connect(Number(port), '127.0.0.1', () => socket.write('GET ' + path + ' HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'));
  let head = '';
  socket.on('data', (chunk) => { head += chunk.toString('latin1'); });
  const done = () => resolve(Number(/^HTTP\\/1\\.1 (\\d{3})/.exec(head)?.[1] ?? 0));
  socket.on('error', done);
  socket.on('close', done);
});
const times = [];
for (let i = 0; i < Number(count); i++) {
  const began = performance.now();
  const status = await fetchStatus(prefix + i + '.txt');
  times.push({ status, ms: performance.now() - began });
  await new Promise((resolve) => setTimeout(resolve, 100));
}
console.log(JSON.stringify(times));
`;

export function describe({ listings, small }) {
  const count = (status) => listings.filter((l) => l.status === status).length;
  const seconds = listings.filter((l) => l.status === 200).map((l) => l.ms / 1000);
  return `${count(200)} listings whole (${seconds.length ? `${Math.min(...seconds).toFixed(2)}-${Math.max(...seconds).toFixed(2)} s` : '-'}), ` +
    `${count(503)} 503, ${listings.length - count(200) - count(503)} other; ` +
    `small files ${small.map((s) => s.ms.toFixed(0)).join(' ')} ms`;
}

/** The peak RSS of a process so far (the kernel's high-water mark), in MiB. */
export function peakRssMiB(pid) {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
}

/** GET /many/ with Connection: close; counts rows as they come, keeps nothing else. */
function fetchListing(port, readAfterMs) {
  return new Promise((resolve) => {
    const began = performance.now();
    const socket = net.connect(port, '127.0.0.1', () => socket.write('GET /many/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    if (readAfterMs > 0) {
      socket.pause();
      setTimeout(() => socket.resume(), readAfterMs);
    }
    const row = '<tr><td><a href="./entry-';
    let head = '';
    let rows = 0;
    // A row's start may be cut between two chunks: the end of one is looked at again with the next.
    let carry = '';
    let tail = '';
    socket.on('data', (chunk) => {
      const text = chunk.toString('latin1');
      if (head.length < 4096 && !head.includes('\r\n\r\n')) head += text.slice(0, 4096);
      const joined = carry + text;
      rows += joined.split(row).length - 1;
      carry = joined.slice(-(row.length - 1));
      tail = (tail + text).slice(-40);
    });
    const done = () => resolve({
      status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
      retryAfter: /\r\nRetry-After: \d+\r\n/i.test(head),
      rows,
      whole: tail.endsWith('</html>\n\r\n0\r\n\r\n'),
      ms: performance.now() - began,
    });
    socket.on('error', done);
    socket.on('close', done);
  });
}
