// One connection, 2,000 pipelined requests: web-server must answer them one at a time, so that
// the connection costs one answer's buffers and one file descriptor, whatever it sends. Before,
// every pipelined request was worked on at once: ~1 MiB of RSS each for a small file, one
// descriptor each for a large one.
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { freePort, patternBytes } from '../helpers.mjs';
import { makeSite } from '../web-helpers.mjs';
import { MiB, check, openFiles, rssMiB, sleep, startServer, watchRss, within } from './lib.mjs';

const PIPELINED = 2000;

export default [{
  name: `web-server: ${PIPELINED} pipelined requests on one connection cost one answer's memory and one descriptor`,
  timeoutMs: 90_000,
  async run({ log, seed }) {
    const site = makeSite();
    try {
      const small = patternBytes(MiB, seed); // the largest file read whole and cached
      const large = patternBytes(3 * MiB, seed + 1); // streamed from an open descriptor
      writeFileSync(join(site.www, 'small.bin'), small);
      writeFileSync(join(site.www, 'large.bin'), large);
      const port = await freePort();
      // ulimit -n 1024, as on the machine where 1,500 pipelined requests took every descriptor.
      const server = await startServer('web-server', ['-q', '127.0.0.1', String(port), '-d', site.www], { nofile: 1024 });
      const idleRss = rssMiB(server.pid);
      const idleFiles = openFiles(server.pid);

      // The small file, not yet cached: all requests sent at once, nothing read for 2 s.
      const rss = watchRss(server.pid);
      const smallRun = pipelined(port, '/small.bin', PIPELINED, small);
      await sleep(2000);
      const filesWhileStalled = openFiles(server.pid);
      smallRun.read();
      const smallAnswers = await within(60_000, 'reading the small file\'s answers', smallRun.done);
      const peak = rss.stop();
      const smallRight = smallAnswers.filter((a) => a.status === 200 && a.whole).length;
      log(`${PIPELINED} pipelined GETs of a 1 MiB file: RSS ${idleRss.toFixed(0)} MiB idle, peak ${peak.toFixed(0)} MiB; ` +
        `${filesWhileStalled - idleFiles} more descriptors while unread; ${smallRight} of ${smallAnswers.length} answers whole (${statusCounts(smallAnswers)})`);
      check(smallRight === PIPELINED, `${smallRight} of ${PIPELINED} answers were 200 with the whole file`);
      check(peak - idleRss < 150, `RSS grew by ${(peak - idleRss).toFixed(0)} MiB for one connection`);

      // The large file: while the client reads nothing, at most one descriptor for it is open.
      const largeRun = pipelined(port, '/large.bin', PIPELINED, large);
      await sleep(2000);
      const largeFiles = openFiles(server.pid) - idleFiles;
      const others = await Promise.all(Array.from({ length: 20 }, () => fetchStatus(port, '/hello.txt')));
      largeRun.destroy();
      await sleep(500);
      const filesAfter = openFiles(server.pid) - idleFiles;
      log(`${PIPELINED} pipelined GETs of a 3 MiB file, unread: ${largeFiles} more descriptors (socket + file); ` +
        `20 other clients meanwhile: ${others.filter((s) => s === 200).length} answered 200; ` +
        `after the close: ${filesAfter} more descriptors`);
      check(largeFiles <= 3, `${largeFiles} descriptors more for one connection with pipelined requests`);
      check(filesAfter <= 0, `${filesAfter} descriptors still open after the connection closed`);
      check(others.every((s) => s === 200), `other clients got ${others.join(' ')}`);
      check(server.isRunning(), 'the server died');
    } finally {
      site.cleanup();
    }
  },
}];

/**
 * Sends `count` pipelined GETs for `path` at once and reads nothing until read() is called;
 * done resolves with every answer's status and whether its body equals `expected`, in order.
 */
function pipelined(port, path, count, expected) {
  const socket = net.connect(port, '127.0.0.1');
  socket.pause();
  const request = `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
  socket.on('connect', () => socket.write(request.repeat(count)));
  const answers = [];
  let head = Buffer.alloc(0);
  let status = 0;
  let body = null; // { chunks, need } while a body is being read
  const take = (chunk) => {
    while (chunk.length > 0) {
      if (body === null) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        const text = head.subarray(0, end).toString('latin1');
        status = Number(text.split(' ')[1]);
        body = { chunks: [], need: Number(/content-length: *(\d+)/i.exec(text)?.[1] ?? 0) };
        chunk = head.subarray(end + 4);
        head = Buffer.alloc(0);
      }
      const part = chunk.subarray(0, body.need);
      body.chunks.push(part);
      body.need -= part.length;
      chunk = chunk.subarray(part.length);
      if (body.need === 0) {
        answers.push({ status, whole: expected !== undefined && Buffer.concat(body.chunks).equals(expected) });
        body = null;
        if (answers.length === count) socket.end();
      }
    }
  };
  const done = new Promise((resolve, reject) => {
    socket.on('data', take);
    socket.on('error', reject);
    socket.on('close', () => resolve(answers));
  });
  done.catch(() => {});
  return { read: () => socket.resume(), done, destroy: () => socket.destroy() };
}

function statusCounts(answers) {
  const counts = new Map();
  for (const { status } of answers) counts.set(status, (counts.get(status) ?? 0) + 1);
  return [...counts].map(([status, n]) => `${status}: ${n}`).join(', ');
}

function fetchStatus(port, path) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.on('data', (d) => { text += d.toString('latin1'); });
    socket.on('error', () => resolve(0));
    socket.on('close', () => resolve(Number(text.split(' ')[1] ?? 0)));
    socket.setTimeout(5000, () => socket.destroy());
  });
}
