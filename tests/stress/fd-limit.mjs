// Out of file descriptors: tcp-server and web-server started with `prlimit --nofile=64:64`, then
// 200 clients connect at once and hold their connections. Each server must serve what fits,
// refuse (close) or delay the rest, say so on stderr once rather than once per failed accept,
// never answer wrongly (a web-server that cannot open a file must not call it 404), and serve
// again once the load drops — without dying and without spinning the CPU.
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { freePort } from '../helpers.mjs';
import { makeSite, parseResponse } from '../web-helpers.mjs';
import { check, cpuSeconds, openFiles, sleep, startServer } from './lib.mjs';

const LIMIT = 64;
const CLIENTS = 200;
const FILES = 200;

export default [
  {
    name: `tcp-server under ulimit -n ${LIMIT}: ${CLIENTS} clients at once, then recovery`,
    timeoutMs: 60_000,
    async run({ log }) {
      const port = await freePort();
      const server = await startServer('tcp-server', ['127.0.0.1', String(port)], { nofile: LIMIT });
      const ask = (i) => ({
        request: Buffer.from(`hello ${i}\n`),
        isRight: (reply) => {
          const want = `HELLO ${i}\n`;
          return reply.toString() === want ? true : want.startsWith(reply.toString()) ? undefined : false;
        },
      });
      await overloadAndRecover({ server, port, log, ask, name: 'tcp-server' });
    },
  },
  {
    name: `web-server under ulimit -n ${LIMIT}: ${CLIENTS} clients at once asking for ${FILES} different files, then recovery`,
    timeoutMs: 60_000,
    async run({ log }) {
      const site = makeSite();
      try {
        mkdirSync(join(site.www, 'many'));
        for (let i = 0; i < FILES; i++) writeFileSync(join(site.www, 'many', `f${i}.txt`), `file number ${i}\n`);
        const port = await freePort();
        const server = await startServer('web-server', ['-q', '127.0.0.1', String(port), '-d', site.www], { nofile: LIMIT });
        const ask = (i) => ({
          request: Buffer.from(`GET /many/f${i % FILES}.txt HTTP/1.1\r\nHost: x\r\n\r\n`),
          isRight: (reply) => {
            const r = parseResponse(reply);
            if (!r.complete) return undefined; // not all there yet
            // 503 (busy, try again) is an honest answer; a 404 for a file that exists is not.
            return (r.status === 200 && r.body.toString() === `file number ${i % FILES}\n`) || r.status === 503 ? r.status : false;
          },
        });
        await overloadAndRecover({ server, port, log, ask, name: 'web-server' });
      } finally {
        site.cleanup();
      }
    },
  },
];

/**
 * Phase 1: CLIENTS connections at once, each sends its request and waits up to 3 s for the
 * answer, keeping the connection open. Phase 2: everybody closes; then clients one batch at a
 * time must all be served. Throughout: the log line about running out of descriptors at most
 * once per overload, CPU time low while idle, the server alive.
 */
async function overloadAndRecover({ server, port, log, ask, name }) {
  const cpuStart = cpuSeconds(server.pid);
  const outcomes = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => holdOne(port, ask(i))));
  const count = (what) => outcomes.filter((o) => o.outcome === what).length;
  const fds = openFiles(server.pid);
  log(`${CLIENTS} clients at once: ${count('served')} served, ${count('busy')} told 503, ${count('refused')} closed unanswered, ` +
    `${count('waiting')} still waiting after 3 s, ${count('wrong')} answered wrongly; the server has ${fds} descriptors open`);
  const wrong = outcomes.find((o) => o.outcome === 'wrong');
  check(!wrong, `a wrong answer under the limit: ${JSON.stringify(wrong?.reply.toString('latin1').slice(0, 200))}`);
  check(count('served') > 0, 'not one client was served');
  check(server.isRunning(), 'the server died under the limit');

  // While overloaded and held, the server must wait, not spin.
  const cpuHeld = cpuSeconds(server.pid);
  await sleep(2000);
  const spinHeld = cpuSeconds(server.pid) - cpuHeld;
  for (const o of outcomes) o.socket.destroy();
  await sleep(1500);

  // Load dropped: 5 rounds of 10 clients (fewer than either cap under 64 descriptors), every one served.
  let recovered = 0;
  for (let round = 0; round < 5; round++) {
    const again = await Promise.all(Array.from({ length: 10 }, (_, k) => holdOne(port, ask(1000 + round * 10 + k))));
    for (const o of again) o.socket.destroy();
    const notServed = again.filter((o) => o.outcome !== 'served');
    check(notServed.length === 0, `after the load dropped, ${notServed.length} of 10 clients were not served (${notServed[0]?.outcome})`);
    recovered += again.length;
  }
  await sleep(1000);
  const cpuIdle = cpuSeconds(server.pid);
  await sleep(2000);
  const spinIdle = cpuSeconds(server.pid) - cpuIdle;
  const complaints = server.output.stderr.split('\n').filter((l) => /EMFILE|descriptor|accept/i.test(l));
  log(`then ${recovered} clients in rounds of 10: all served. CPU: ${(cpuHeld - cpuStart).toFixed(2)} s during the rush, ` +
    `${spinHeld.toFixed(2)} s in 2 s held at the limit, ${spinIdle.toFixed(2)} s in 2 s idle afterwards`);
  log(`stderr about it (${complaints.length} lines): ${complaints.slice(0, 3).join(' | ') || '(none)'}`);
  check(complaints.length >= 1, `${name} never said it ran out of file descriptors`);
  check(complaints.length <= 2, `${name} logged the descriptor shortage ${complaints.length} times, not once`);
  check(spinHeld < 0.5, `${name} used ${spinHeld.toFixed(2)} s of CPU in 2 s while held at the limit (a busy loop?)`);
  check(spinIdle < 0.2, `${name} used ${spinIdle.toFixed(2)} s of CPU in 2 idle seconds (a busy loop?)`);
  check(!/internal error|    at /.test(server.output.stderr), `${name} reported an internal error: ${server.output.stderr.slice(0, 300)}`);
  check(server.isRunning(), `${name} died`);
}

/** Connects, sends one request, waits up to 3 s for the whole answer; leaves the socket open. */
function holdOne(port, { request, isRight }) {
  return new Promise((resolve) => {
    const chunks = [];
    let settled = false;
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(request));
    const settle = (outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ outcome, socket, reply: Buffer.concat(chunks) });
    };
    const timer = setTimeout(() => settle('waiting'), 3000);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const verdict = isRight(Buffer.concat(chunks));
      if (verdict === true || verdict === 200) settle('served');
      else if (verdict === 503) settle('busy');
      else if (verdict === false) settle('wrong');
    });
    socket.on('error', () => settle(chunks.length ? 'wrong' : 'refused'));
    socket.on('close', () => settle(chunks.length ? 'wrong' : 'refused'));
  });
}
