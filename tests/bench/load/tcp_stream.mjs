// Streams BYTES through one TCP connection to an uppercase server and checks every byte of the
// reply (memcmp speed: the reply is compared with a precomputed uppercase block). Bounded by
// bytes and by a deadline. usage: node tcp_stream.mjs HOST PORT BYTES [SECONDS=60]
// prints: bytes=N seconds=S rate=MB/s wrong=W
import net from 'node:net';

const [host, port, total, limit = '60'] = process.argv.slice(2);
const bytes = Number(total);
const BLOCK = 64 * 1024;
const block = Buffer.alloc(BLOCK);
for (let i = 0; i < BLOCK; i++) block[i] = i % 256;
const expected = Buffer.from(block);
for (let i = 0; i < BLOCK; i++) if (expected[i] >= 97 && expected[i] <= 122) expected[i] -= 32;

const started = performance.now();
let sent = 0;
let received = 0;
let wrong = 0;
const socket = net.connect({ host, port: Number(port), allowHalfOpen: true });
const timer = setTimeout(() => { console.error('tcp_stream: deadline passed'); process.exit(75); }, Number(limit) * 1000);
socket.on('connect', pump);
socket.on('drain', pump);
socket.on('data', (chunk) => {
  // The reply stream is the expected block repeated; compare each chunk against its window.
  let offset = 0;
  while (offset < chunk.length) {
    const at = (received + offset) % BLOCK;
    const n = Math.min(chunk.length - offset, BLOCK - at);
    if (!chunk.subarray(offset, offset + n).equals(expected.subarray(at, at + n))) wrong++;
    offset += n;
  }
  received += chunk.length;
});
socket.on('end', () => {
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  console.log(`bytes=${received} seconds=${seconds.toFixed(3)} rate=${(received / seconds / 1e6).toFixed(1)} wrong=${wrong + (received !== bytes ? 1 : 0)}`);
  process.exit(wrong || received !== bytes ? 1 : 0);
});
socket.on('error', (err) => { console.error(`tcp_stream: ${err.code}`); process.exit(74); });

function pump() {
  while (sent < bytes) {
    const n = Math.min(BLOCK, bytes - sent);
    sent += n;
    if (!socket.write(n === BLOCK ? block : block.subarray(0, n))) return;
  }
  socket.end();
}
