// Slowloris against web-server: 500 connections from 127.0.0.2-11 that trickle their request a
// byte at a time (400 never finish their head, 100 send a head with Content-Length and trickle the
// body), while a normal client fetches a small and a 1 MiB file on fresh connections every 100 ms.
// Each normal request must complete in under 1 s; the slow ones must be cut by the server's
// --headers-timeout / --request-timeout, not hold a connection forever.
import net from 'node:net';
import { freePort } from '../helpers.mjs';
import { makeSite, parseResponse, rawRequest } from '../web-helpers.mjs';
import { check, sleep, startServer, within } from './lib.mjs';

const HEADERS_TIMEOUT_S = 5;
const REQUEST_TIMEOUT_S = 8;
const SLOW_HEADS = 400;
const SLOW_BODIES = 100;
const TRICKLE_MS = 1000;

export default [{
  name: `web-server: slowloris, ${SLOW_HEADS + SLOW_BODIES} slow connections while a normal client keeps fetching`,
  timeoutMs: 60_000,
  async run({ log }) {
    const site = makeSite();
    try {
      const port = await freePort();
      const server = await startServer('web-server', ['-q', '127.0.0.1', String(port), '-d', site.www,
        '--headers-timeout', String(HEADERS_TIMEOUT_S), '--request-timeout', String(REQUEST_TIMEOUT_S)]);
      const began = performance.now();
      const slow = [
        ...Array.from({ length: SLOW_HEADS }, (_, i) => slowClient(port, `127.0.0.${2 + (i % 10)}`, 'head')),
        ...Array.from({ length: SLOW_BODIES }, (_, i) => slowClient(port, `127.0.0.${2 + (i % 10)}`, 'body')),
      ];
      await Promise.all(slow.map((c) => c.connected));
      const connectedMs = performance.now() - began;

      // The normal client, for as long as the slow ones are held (until just past the headers timeout).
      const latencies = [];
      const failures = [];
      while (performance.now() - began < (HEADERS_TIMEOUT_S + 2) * 1000) {
        for (const path of ['/hello.txt', '/big.dat']) {
          const t = performance.now();
          try {
            const r = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, { timeoutMs: 5000 });
            if (r.status !== 200 || !r.body.equals(site.files[path])) failures.push(`${path}: ${r.status}`);
          } catch (err) {
            failures.push(`${path}: ${err.message}`);
          }
          latencies.push(performance.now() - t);
        }
        await sleep(100);
      }
      const closed = await within((REQUEST_TIMEOUT_S + 6) * 1000, 'the slow connections to be closed by the server', Promise.all(slow.map((c) => c.closed)));
      const heads = closed.slice(0, SLOW_HEADS);
      const bodies = closed.slice(SLOW_HEADS);
      const sorted = [...latencies].sort((a, b) => a - b);
      const seconds = (list) => `${(Math.min(...list.map((c) => c.afterMs)) / 1000).toFixed(1)}-${(Math.max(...list.map((c) => c.afterMs)) / 1000).toFixed(1)} s`;
      const statuses = (list) => [...new Set(list.map((c) => c.status || 'closed'))].join('/');
      log(`${slow.length} slow connections open in ${(connectedMs / 1000).toFixed(1)} s; meanwhile ${latencies.length} normal requests ` +
        `(hello.txt and a 1 MiB file, a new connection each): median ${sorted[sorted.length >> 1].toFixed(1)} ms, ` +
        `max ${sorted[sorted.length - 1].toFixed(1)} ms, ${failures.length} failed`);
      log(`slow heads cut after ${seconds(heads)} (${statuses(heads)}), slow bodies after ${seconds(bodies)} (${statuses(bodies)})`);
      check(failures.length === 0, `normal requests failed: ${failures.slice(0, 3).join('; ')}`);
      check(sorted[sorted.length - 1] < 1000, `a normal request took ${sorted[sorted.length - 1].toFixed(0)} ms (over 1 s)`);
      check(heads.every((c) => c.afterMs < (HEADERS_TIMEOUT_S + 4) * 1000), 'a slow head outlived --headers-timeout by more than 4 s');
      check(bodies.every((c) => c.afterMs < (REQUEST_TIMEOUT_S + 4) * 1000), 'a slow body outlived --request-timeout by more than 4 s');
      check(server.isRunning(), 'the server died');
      const after = await rawRequest(port, 'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n');
      check(after.status === 200, `after the slowloris a normal request got ${after.status}`);
    } finally {
      site.cleanup();
    }
  },
}];

/**
 * A connection from `address` that sends its request one byte every TRICKLE_MS: a head that never
 * ends ('head'), or a whole head announcing a body that then trickles ('body'). `closed` resolves
 * with when the server closed it and the status it answered, if any.
 */
function slowClient(port, address, kind) {
  const head = kind === 'head'
    ? 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-Slow: '
    : 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n';
  const began = performance.now();
  const chunks = [];
  let timer;
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: address });
  const connected = new Promise((resolve) => socket.once('connect', () => {
    socket.write(head);
    timer = setInterval(() => socket.write('a'), TRICKLE_MS);
    resolve();
  }));
  socket.on('data', (d) => chunks.push(d));
  socket.on('error', () => {});
  const closed = new Promise((resolve) => socket.on('close', () => {
    clearInterval(timer);
    const reply = Buffer.concat(chunks);
    // A 'body' client got its answer at once; what counts is when the server let go of it.
    const status = parseResponse(reply).status;
    resolve({ afterMs: performance.now() - began, status });
  }));
  return { connected, closed };
}
