// Faults against tcp-server: clients that reset mid-transfer (SO_LINGER 0), are SIGKILLed
// mid-transfer, half-close and read slowly, connect and send nothing, or send 100 MiB while
// reading nothing. Throughout each one a "canary" client keeps exchanging messages and must
// always be answered; afterwards the server holds no more descriptors than before (nothing
// leaked). Last, SIGTERM during 50 transfers: every one completes, then the server exits 0.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { bin, expectedUpper, freePort, patternBytes, tcpExchange } from '../helpers.mjs';
import { MiB, check, inParallel, mib, openFiles, rssMiB, sleep, startServer, watchRss, within } from './lib.mjs';

const IDLE_TIMEOUT_S = 3;

export default [
  faultScenario('50 clients reset (RST, SO_LINGER 0) mid-transfer while 20 others stream 1 MiB', async ({ port, log, seed }) => {
    let resets = 0;
    const data = patternBytes(4 * MiB, seed);
    const resetting = Array.from({ length: 50 }, (_, i) => new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write(data));
      let received = 0;
      // Reset after a different amount each: some before any reply, some deep into the stream.
      const resetAfter = (i % 10) * 256 * 1024;
      const reset = () => { if (!s.destroyed) { s.resetAndDestroy(); resets += 1; } };
      s.on('data', (d) => { received += d.length; if (received >= resetAfter) reset(); });
      if (resetAfter === 0) s.once('connect', () => setImmediate(reset));
      s.on('error', () => {});
      s.on('close', resolve);
    }));
    const normal = streamClients(port, 20, MiB, seed);
    await Promise.all(resetting);
    const wrong = await normal;
    log(`${resets} clients reset mid-transfer; 20 others streamed ${mib(20 * MiB)}, ${wrong} wrong`);
    check(wrong === 0, `${wrong} of the other clients lost bytes or got wrong ones`);
  }),

  faultScenario('10 tcp-client processes SIGKILLed mid-transfer while 20 others stream 1 MiB', async ({ port, log, seed }) => {
    const killed = await Promise.all(Array.from({ length: 10 }, () => killMidTransfer(port, seed)));
    const wrong = await streamClients(port, 20, MiB, seed);
    log(`10 tcp-client processes killed with SIGKILL after ${mib(Math.min(...killed))}-${mib(Math.max(...killed))} came back; ` +
      `20 others streamed ${mib(20 * MiB)}, ${wrong} wrong`);
    check(wrong === 0, `${wrong} of the other clients lost bytes or got wrong ones`);
  }),

  faultScenario('30 clients half-close (FIN) after 2 MiB, read nothing for 1 s, then read it all', async ({ port, log, seed }) => {
    const data = patternBytes(2 * MiB, seed);
    const want = expectedUpper(data);
    const results = await Promise.all(Array.from({ length: 30 }, () => new Promise((resolve) => {
      const chunks = [];
      const s = net.connect(port, '127.0.0.1', () => {
        s.pause();
        s.end(data);
        setTimeout(() => s.resume(), 1000);
      });
      s.on('data', (d) => chunks.push(d));
      s.on('error', () => {});
      s.on('close', () => resolve(Buffer.concat(chunks).equals(want)));
    })));
    const whole = results.filter(Boolean).length;
    log(`30 clients half-closed and read late: ${whole} got all ${mib(data.length)} back, byte for byte`);
    check(whole === 30, `${30 - whole} half-closed clients did not get everything back`);
  }),

  faultScenario(`200 clients connect and send nothing (closed by --idle-timeout ${IDLE_TIMEOUT_S})`, async ({ port, log, server }) => {
    const began = performance.now();
    const closedAfter = await within((IDLE_TIMEOUT_S + 5) * 1000, 'silent clients closed by the server', Promise.all(
      Array.from({ length: 200 }, () => new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => {});
        s.on('close', () => resolve(performance.now() - began));
      })),
    ));
    const idleLines = () => (server.output.stdout.match(/closed by server \(idle/g) ?? []).length;
    for (let waited = 0; idleLines() < 200 && waited < 3000; waited += 100) await sleep(100); // the log may trail the closes
    const byServer = idleLines();
    log(`200 silent clients closed by the server after ${(Math.min(...closedAfter) / 1000).toFixed(1)}-${(Math.max(...closedAfter) / 1000).toFixed(1)} s; ` +
      `${byServer} log lines say the server closed them for idling`);
    check(Math.min(...closedAfter) >= (IDLE_TIMEOUT_S - 0.5) * 1000, 'silent clients were closed before the idle timeout');
    check(byServer >= 200, `only ${byServer} "closed by server (idle ...)" lines for 200 silent clients`);
  }, { idleTimeout: IDLE_TIMEOUT_S }),

  faultScenario('5 clients each send 100 MiB while reading nothing (backpressure), then read it all', async ({ port, log, server }) => {
    const idle = rssMiB(server.pid);
    const rss = watchRss(server.pid);
    const data = Buffer.alloc(MiB);
    for (let i = 0; i < MiB; i++) data[i] = 0x61 + (i % 26); // lowercase: every byte changes
    const want = expectedUpper(data);
    const clients = Array.from({ length: 5 }, () => backpressuredClient(port, data, want));
    // Let them push until the server stops reading them; what they got rid of is what the kernel and server hold.
    await sleep(2500);
    const stalledAt = clients.map((c) => c.written());
    const stalledPeak = rss.stop();
    for (const c of clients) c.startReading();
    const results = await within(60_000, 'reading the 100 MiB back', Promise.all(clients.map((c) => c.done)));
    log(`while nobody read: the 5 senders got ${stalledAt.map((b) => mib(b)).join(', ')} out of 100 MiB each; ` +
      `server RSS ${idle.toFixed(0)} MiB idle, ${stalledPeak.toFixed(0)} MiB peak`);
    log(`then they read: ${results.map((r) => mib(r)).join(', ')} back, every byte checked`);
    check(stalledAt.every((b) => b < 32 * MiB), 'a sender was never slowed down: the server buffered what its client did not read');
    check(stalledPeak - idle < 64, `server RSS grew by ${(stalledPeak - idle).toFixed(0)} MiB while its clients read nothing`);
    check(results.every((r) => r === 100 * MiB), 'a backpressured client did not get its 100 MiB back intact');
  }),

  {
    name: 'tcp-server: SIGTERM during 50 transfers: each completes, then exit 0; new clients refused',
    timeoutMs: 40_000,
    async run({ log, seed }) {
      const port = await freePort();
      const server = await startServer('tcp-server', ['--grace', '20', '127.0.0.1', String(port)]);
      const data = patternBytes(4 * MiB, seed);
      const want = expectedUpper(data);
      let connected = 0;
      // Each sends 4 MiB in 64 KiB pieces, 20 ms apart (about 1.3 s), so all 50 are mid-transfer at the signal.
      const transfers = Array.from({ length: 50 }, () => new Promise((resolve) => {
        const chunks = [];
        const s = net.connect(port, '127.0.0.1', async () => {
          connected += 1;
          for (let at = 0; at < data.length; at += 64 * 1024) {
            s.write(data.subarray(at, at + 64 * 1024));
            await sleep(20);
          }
          s.end();
        });
        s.on('data', (d) => chunks.push(d));
        s.on('error', (err) => resolve({ ok: false, error: err.code }));
        s.on('close', () => resolve({ ok: Buffer.concat(chunks).equals(want), bytes: Buffer.concat(chunks).length }));
      }));
      while (connected < 50) await sleep(20);
      await sleep(300);
      server.child.kill('SIGTERM');
      await sleep(200);
      const late = await new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve('accepted'); });
        s.on('error', (err) => resolve(err.code));
      });
      const results = await within(30_000, 'the 50 transfers after SIGTERM', Promise.all(transfers));
      const exit = await within(15_000, 'the server exiting after SIGTERM', server.exit);
      const complete = results.filter((r) => r.ok).length;
      log(`SIGTERM with 50 transfers of ${mib(data.length)} in flight: ${complete} completed byte for byte; ` +
        `a new client after the signal: ${late}; exit ${exit.code ?? exit.signal}`);
      check(complete === 50, `${50 - complete} transfers did not complete after SIGTERM`);
      check(late === 'ECONNREFUSED', `a client connecting after SIGTERM got "${late}", not refused`);
      check(exit.code === 0, `exit ${exit.code ?? exit.signal} after SIGTERM, not 0`);
    },
  },
];

/**
 * A fault scenario: its own tcp-server (with --idle-timeout idleTimeout), a canary client exchanging
 * a message every 50 ms for the whole time (every one must be answered), and afterwards no more
 * descriptors open in the server than before.
 */
function faultScenario(what, body, { idleTimeout = 30 } = {}) {
  return {
    name: `tcp-server: ${what}`,
    timeoutMs: 60_000,
    async run({ log, seed }) {
      const port = await freePort();
      const server = await startServer('tcp-server', ['--idle-timeout', String(idleTimeout), '127.0.0.1', String(port)]);
      const fdsBefore = openFiles(server.pid);
      const canary = startCanary(port);
      try {
        await body({ port, log, seed, server });
      } finally {
        await canary.stop();
      }
      await sleep(500);
      const fdsAfter = openFiles(server.pid);
      log(`canary: ${canary.count} exchanges meanwhile, slowest ${canary.maxMs.toFixed(0)} ms, ${canary.failures.length} failed; ` +
        `server descriptors ${fdsBefore} before, ${fdsAfter} after`);
      check(canary.failures.length === 0, `the canary failed: ${canary.failures[0]}`);
      check(canary.count > 0, 'the canary never got through');
      check(fdsAfter <= fdsBefore + 2, `the server holds ${fdsAfter - fdsBefore} more descriptors than before (leaked sockets?)`);
      check(server.isRunning(), 'the server died');
    },
  };
}

/** Exchanges "canary N" with the server every 50 ms until stopped; records failures and the slowest. */
function startCanary(port) {
  const state = { count: 0, maxMs: 0, failures: [], running: true };
  const loop = (async () => {
    while (state.running) {
      const message = `canary ${state.count}`;
      const began = performance.now();
      try {
        const reply = await tcpExchange(port, message, { timeoutMs: 5000 });
        if (reply.toString() !== message.toUpperCase()) state.failures.push(`got ${JSON.stringify(reply.toString())} for ${message}`);
      } catch (err) {
        state.failures.push(`${message}: ${err.message}`);
      }
      state.maxMs = Math.max(state.maxMs, performance.now() - began);
      state.count += 1;
      await sleep(50);
    }
  })();
  return Object.assign(state, { stop: async () => { state.running = false; await loop; } });
}

/** `count` clients each stream `bytes` and half-close; resolves with how many got wrong or missing bytes. */
async function streamClients(port, count, bytes, seed) {
  let wrong = 0;
  await inParallel(count, count, async (i) => {
    const data = patternBytes(bytes, seed + 1000 + i);
    try {
      const reply = await tcpExchange(port, data, { timeoutMs: 30_000 });
      if (!reply.equals(expectedUpper(data))) wrong += 1;
    } catch {
      wrong += 1;
    }
  });
  return wrong;
}

/**
 * A tcp-client process streaming its stdin through the server, killed with SIGKILL once some of
 * the reply has come back: the kernel then closes its socket, with unread data, so with a RST.
 * Resolves with how many bytes had come back.
 */
function killMidTransfer(port, seed) {
  return new Promise((resolve) => {
    const child = spawn(bin('tcp-client'), ['127.0.0.1', String(port)], { stdio: ['pipe', 'pipe', 'ignore'] });
    const chunk = patternBytes(256 * 1024, seed);
    let back = 0;
    let feeding = true;
    const feed = () => { while (feeding && child.stdin.write(chunk)); };
    child.stdin.on('drain', feed);
    child.stdin.on('error', () => {});
    child.stdout.on('data', (d) => {
      back += d.length;
      if (back >= 2 * MiB && feeding) { feeding = false; child.kill('SIGKILL'); }
    });
    child.on('close', () => resolve(back));
    feed();
  });
}

/**
 * A client that writes 100 MiB as fast as the connection takes it and reads nothing until
 * startReading(); then it checks every byte that comes back. written() says how far it got.
 */
function backpressuredClient(port, data, want) {
  const total = 100 * MiB;
  let written = 0;
  let received = 0;
  let intact = true;
  const s = net.connect(port, '127.0.0.1');
  s.pause();
  const push = () => {
    while (written < total) {
      written += data.length;
      if (!s.write(data)) return; // the kernel and the server took no more: wait for 'drain'
    }
    s.end();
  };
  s.on('drain', push);
  s.once('connect', push);
  s.on('data', (d) => {
    // Each reply chunk continues the repeating pattern where the last one ended.
    for (let at = 0; at < d.length;) {
      const offset = (received + at) % data.length;
      const n = Math.min(d.length - at, data.length - offset);
      if (!d.subarray(at, at + n).equals(want.subarray(offset, offset + n))) intact = false;
      at += n;
    }
    received += d.length;
  });
  s.on('error', () => { intact = false; });
  const done = new Promise((resolve) => s.on('close', () => resolve(intact ? received : -received)));
  // Bytes handed to the kernel: what was written minus what Node still queues for the socket.
  return { written: () => written - s.writableLength, startReading: () => s.resume(), done };
}
