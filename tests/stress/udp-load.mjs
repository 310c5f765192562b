// UDP: 200,000 numbered datagrams through udp-server with 32 in flight, each reply checked against
// the transform of the datagram with that number (a wrong, duplicated or unknown reply fails;
// loss is counted and printed, never hidden). Then the edges: 0 bytes, 65507 bytes, random
// binary from several source addresses, a sender that floods and never reads, and clients that
// vanish before their reply (the server's reply draws ICMP "port unreachable").
import dgram from 'node:dgram';
import { expectedUpper, freePort, patternBytes, udpExchange } from '../helpers.mjs';
import { check, cpuSeconds, prng, rssMiB, sleep, startServer, within } from './lib.mjs';

const DATAGRAMS = 200_000;
const IN_FLIGHT = 32;
// A datagram unanswered this long counts as lost; a new one takes its place.
const LOST_AFTER_MS = 1000;
// UDP may lose datagrams, and the suite says how many; this many lost means the server is in trouble.
const MAX_LOSS = 0.01;

export default [
  {
    name: `udp-server: ${DATAGRAMS.toLocaleString('en')} datagrams, ${IN_FLIGHT} in flight, every reply checked`,
    timeoutMs: 90_000,
    async run({ log, seed }) {
      const port = await freePort('udp');
      const server = await startServer('udp-server', ['-q', '127.0.0.1', String(port)]);
      const letters = patternBytes(4096, seed).map((b) => 0x61 + (b % 26)); // lowercase only, so every byte changes
      const began = performance.now();
      const result = await within(80_000, 'the UDP load', pingPong(port, letters));
      const seconds = (performance.now() - began) / 1000;
      log(`${result.sent} datagrams sent (${(result.bytes / 1e6).toFixed(1)} MB), ${result.replies} replies checked in ${seconds.toFixed(1)} s ` +
        `(${Math.round(result.replies / seconds)}/s); lost ${result.lost} (${(100 * result.lost / result.sent).toFixed(3)} %), ` +
        `late ${result.late}, wrong ${result.wrong}, unknown ${result.unknown}`);
      log(`server RSS after: ${rssMiB(server.pid).toFixed(0)} MiB`);
      check(result.wrong === 0, `${result.wrong} replies did not match their datagram`);
      check(result.unknown === 0, `${result.unknown} replies answered no datagram that was sent (or came twice)`);
      check(result.lost <= result.sent * MAX_LOSS, `${result.lost} of ${result.sent} datagrams lost`);
      check(server.isRunning(), 'the server died');
    },
  },
  {
    name: 'udp-server: 0 and 65507 bytes, random binary from 8 addresses, a flooder that never reads, 200 vanishing clients',
    timeoutMs: 60_000,
    async run({ log, seed }) {
      const port = await freePort('udp');
      const server = await startServer('udp-server', ['-q', '127.0.0.1', String(port)]);
      const random = prng(seed);

      const empty = await udpExchange(port, Buffer.alloc(0));
      check(empty.length === 0, `a 0-byte datagram got ${empty.length} bytes back`);
      const biggest = patternBytes(65507, seed);
      const big = await udpExchange(port, biggest);
      check(big.equals(expectedUpper(biggest)), `the 65507-byte datagram came back as ${big.length} bytes, not its transform`);
      log('0 bytes -> 0 bytes; 65507 bytes -> 65507 bytes, transformed');

      let binaryChecked = 0;
      for (let address = 2; address <= 9; address++) {
        const sizes = Array.from({ length: 25 }, () => random.pick([0, 1, 2, 3, 512, 1472, 1473, 9000, 65507, random.int(65508)]));
        for (const size of sizes) {
          const data = random.bytes(size);
          const reply = await udpExchangeFrom(`127.0.0.${address}`, port, data);
          check(reply.equals(expectedUpper(data)), `${size} random bytes from 127.0.0.${address}: the reply differs`);
          binaryChecked += 1;
        }
      }
      log(`${binaryChecked} datagrams of random bytes (0..65507) from 127.0.0.2-9: every reply checked`);

      const cpuBefore = cpuSeconds(server.pid);
      const flooded = await flood(port, 20_000);
      log(`a flooder sent ${flooded} datagrams without ever reading a reply, then closed`);
      for (let i = 0; i < 200; i++) await sendAndVanish(port, Buffer.from(`vanishing client ${i}`));
      log('200 clients sent a datagram and closed before the reply (the reply draws ICMP port unreachable)');
      await sleep(1000);

      const started = performance.now();
      const after = await udpExchange(port, Buffer.from('still there?'), { timeoutMs: 2000 });
      const ms = performance.now() - started;
      check(after.toString() === 'STILL THERE?', `after the abuse the reply was ${JSON.stringify(after.toString())}`);
      await sleep(2000);
      const cpuIdle = cpuSeconds(server.pid);
      await sleep(2000);
      const spin = cpuSeconds(server.pid) - cpuIdle;
      log(`afterwards a normal datagram is answered in ${ms.toFixed(1)} ms; CPU used by all that: ${(cpuIdle - cpuBefore).toFixed(2)} s, ` +
        `then ${spin.toFixed(2)} s in 2 s idle; stderr: ${server.output.stderr.split('\n').filter(Boolean).length} lines`);
      check(spin < 0.2, `the server used ${spin.toFixed(2)} s of CPU in 2 idle seconds (a busy loop?)`);
      check(!/internal error|stack|    at /.test(server.output.stderr), `the server reported: ${server.output.stderr.slice(0, 300)}`);
      check(server.isRunning(), 'the server died');
    },
  },
];

/** Keeps IN_FLIGHT numbered datagrams outstanding until DATAGRAMS have been sent; checks each reply. */
function pingPong(port, letters) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const pending = new Map(); // number -> time sent
    const lostNumbers = new Set();
    const counts = { sent: 0, bytes: 0, replies: 0, lost: 0, late: 0, wrong: 0, unknown: 0 };
    // Datagram n: its number, ":", then 16..79 lowercase letters chosen by n; only digits and ":" pass unchanged.
    const datagram = (n) => Buffer.concat([Buffer.from(`${n}:`), letters.subarray(n % 4000, n % 4000 + 16 + (n % 64))]);
    const sendNext = () => {
      if (counts.sent >= DATAGRAMS) {
        if (pending.size === 0) finish();
        return;
      }
      const n = counts.sent++;
      const data = datagram(n);
      counts.bytes += data.length;
      pending.set(n, performance.now());
      socket.send(data);
    };
    const finish = () => {
      clearInterval(sweeper);
      socket.close();
      resolve(counts);
    };
    socket.on('message', (reply) => {
      const n = Number(reply.subarray(0, reply.indexOf(':')).toString());
      if (!pending.has(n)) {
        if (lostNumbers.delete(n)) counts.late += 1; // answered after we gave up on it: still not wrong
        else counts.unknown += 1;
        return;
      }
      pending.delete(n);
      counts.replies += 1;
      if (!reply.equals(expectedUpper(datagram(n)))) counts.wrong += 1;
      sendNext();
    });
    socket.on('error', (err) => { clearInterval(sweeper); socket.close(); reject(new Error(`UDP load socket: ${err.code}`)); });
    const sweeper = setInterval(() => {
      const now = performance.now();
      for (const [n, sentAt] of pending) {
        if (now - sentAt < LOST_AFTER_MS) continue;
        pending.delete(n);
        lostNumbers.add(n);
        counts.lost += 1;
        sendNext();
      }
    }, 200);
    socket.connect(port, '127.0.0.1', () => {
      for (let i = 0; i < IN_FLIGHT; i++) sendNext();
    });
  });
}

/** udpExchange from a chosen source address (127.0.0.2 and up are loopback too). */
function udpExchangeFrom(address, port, data) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => { socket.close(); reject(new Error(`no reply to ${data.length} bytes from ${address}`)); }, 3000);
    socket.on('message', (msg) => { clearTimeout(timer); socket.close(); resolve(msg); });
    socket.bind(0, address, () => socket.send(data, port, '127.0.0.1'));
  });
}

/** Sends `count` datagrams as fast as the kernel takes them and never reads; returns how many went out. */
async function flood(port, count) {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4096 });
  socket.on('message', () => {});
  await new Promise((r) => socket.connect(port, '127.0.0.1', r));
  // Node reads every socket; a 4 KiB receive buffer makes the kernel drop the replies, as for a client that never reads.
  let sent = 0;
  const payload = Buffer.from('flood '.repeat(20));
  for (let i = 0; i < count; i++) {
    await new Promise((r) => socket.send(payload, () => { sent += 1; r(); }));
    if (i % 1000 === 999) await sleep(5);
  }
  await new Promise((r) => socket.close(r));
  return sent;
}

/** One datagram, then the socket is gone before the reply can arrive. */
function sendAndVanish(port, data) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.send(data, port, '127.0.0.1', () => socket.close(resolve));
  });
}
