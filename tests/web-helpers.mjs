// Shared by web-server.test.mjs, http-client.test.mjs and system/chromium.test.mjs: a throwaway site on disk (with a secret
// just outside its root), the web-server started on a free loopback port, and raw HTTP over a socket.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { freePort, patternBytes, startProgram } from './helpers.mjs';

/** Text no response may ever contain: it lives in a file just outside the served root. */
export const SECRET = `top-secret-${process.pid}-${Date.now()}`;

/**
 * base/secret.txt (outside the root) and base/www/ (the root), holding every kind of file the
 * tests fetch. Returns the paths and each file's bytes by its URL path.
 */
export function makeSite() {
  const base = mkdtempSync(join(tmpdir(), 'socklab-web-'));
  const www = join(base, 'www');
  mkdirSync(join(www, 'sub', 'deeper'), { recursive: true });
  mkdirSync(join(www, 'empty-folder'));
  mkdirSync(join(www, 'evil.example')); // a folder named like a host, for the "//evil.example" redirect
  mkdirSync(join(www, '.git'));
  writeFileSync(join(base, 'secret.txt'), `${SECRET}\n`);
  const files = {
    '/hello.txt': Buffer.from('Hello, world!\n'),
    '/index.html': Buffer.from('<!DOCTYPE html><html><head><title>Home</title></head><body><h1>Home page</h1></body></html>\n'),
    '/binary.bin': patternBytes(65536, 7),
    '/empty.txt': Buffer.alloc(0),
    '/big.dat': patternBytes(1 << 20, 11),
    '/name with spaces ü €.txt': Buffer.from('spaces and UTF-8 in the name\n'),
    '/page.html': Buffer.from(PAGE_HTML),
    '/style.css': Buffer.from('#box { color: rgb(1, 2, 3); }\n'),
    '/picture.png': pngBytes(7, 5),
    '/one-kib.txt': Buffer.from('x'.repeat(1023) + '\n'),
    '/hundred.bin': patternBytes(100, 3), // the file tests/web-cases.mjs's Range rows are written for
    '/sub/deeper/data.json': Buffer.from('{"ok":true}\n'),
    '/sub/a&b <c>.txt': Buffer.from('escaped name\n'),
    '/sub/50%.txt': Buffer.from('percent in the name\n'),
    '/sub/q?#.txt': Buffer.from('question mark and hash\n'),
    '/%2e%2e': Buffer.from('a file literally named %2e%2e\n'),
    '/.env': Buffer.from(`DOTFILE=${SECRET}\n`),
    '/.git/config': Buffer.from(`[core] ${SECRET}\n`),
    '/sub/.hidden.txt': Buffer.from(`hidden ${SECRET}\n`),
  };
  for (const [path, bytes] of Object.entries(files)) writeFileSync(join(www, ...path.split('/')), bytes);
  // Symlinks: out of the root (to the secret, to /etc and /etc/passwd) and one that stays inside.
  symlinkSync(join(base, 'secret.txt'), join(www, 'secret-link.txt'));
  symlinkSync('/etc', join(www, 'etc-link'));
  symlinkSync('/etc/passwd', join(www, 'passwd-link'));
  symlinkSync('../hello.txt', join(www, 'sub', 'hello-link.txt'));
  // A folder whose index.html is a symlink to the secret, and a FIFO that must not hang a read.
  mkdirSync(join(www, 'trap'));
  symlinkSync(join(base, 'secret.txt'), join(www, 'trap', 'index.html'));
  execFileSync('mkfifo', [join(www, 'fifo')]);
  return { base, www, files, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

/** The page Chromium loads: its script writes what it saw into the title, which --dump-dom shows. */
const PAGE_HTML = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>loading</title><link rel="stylesheet" href="style.css"></head>
<body><p id="box">Styled text</p><img id="pic" src="picture.png" alt="picture">
<script>
window.addEventListener('load', () => {
  const img = document.getElementById('pic');
  const color = getComputedStyle(document.getElementById('box')).color;
  document.title = 'image ' + img.naturalWidth + 'x' + img.naturalHeight + ' color ' + color;
});
</script></body></html>
`;

/** A real PNG of w×h grey pixels (so a browser's naturalWidth proves it decoded the bytes). */
export function pngBytes(width, height) {
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'latin1'), data])));
    return Buffer.concat([length, Buffer.from(type, 'latin1'), data, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  const rows = Buffer.alloc((width + 1) * height, 0x80);
  for (let y = 0; y < height; y++) rows[y * (width + 1)] = 0; // filter type 0 per row
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0)),
  ]);
}

function crc32(bytes) {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Starts dist/web-server on a free 127.0.0.1 port; resolves with the program handle plus port and url. */
export async function startWebServer(args = [], options = {}) {
  const port = await freePort();
  const server = await startProgram('web-server', ['127.0.0.1', String(port), ...args], { ready: /Serving /, ...options });
  return { ...server, port, url: `http://127.0.0.1:${port}` };
}

/**
 * Sends raw bytes and resolves with the first response, parsed: as soon as its body is complete
 * (by Content-Length), or when the server closes. `closed` says whether the server closed.
 */
export function rawRequest(port, data, { host = '127.0.0.1', timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const socket = net.connect({ host, port }, () => socket.write(data));
    const done = (closed) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parseResponse(Buffer.concat(chunks)), closed });
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response to ${JSON.stringify(String(data).slice(0, 80))} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (c) => {
      chunks.push(c);
      if (parseResponse(Buffer.concat(chunks)).complete) done(false);
    });
    socket.on('error', (err) => (err.code === 'ECONNRESET' ? done(true) : reject(err)));
    socket.on('close', () => done(true));
  });
}

/**
 * Status, lower-cased headers and body of one HTTP/1.1 response, framed by Content-Length or
 * chunked (a folder listing). `used` is how many bytes it took (the next answer starts there).
 */
export function parseResponse(bytes) {
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1) return { status: 0, headers: {}, body: Buffer.alloc(0), raw: bytes, complete: false };
  const [statusLine, ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const headers = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const status = Number(statusLine.split(' ')[1]);
  if (headers['transfer-encoding'] === 'chunked') return { status, statusLine, headers, raw: bytes, ...dechunk(bytes, end + 4) };
  const length = Number(headers['content-length'] ?? 0);
  const body = bytes.subarray(end + 4, end + 4 + length);
  return { status, statusLine, headers, body, raw: bytes, complete: body.length === length, used: end + 4 + body.length };
}

/** A chunked body from `at` on (RFC 9112 §7.1): its bytes, and whether its last chunk has come. */
function dechunk(bytes, at) {
  const pieces = [];
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd === -1) break;
    const size = parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16);
    if (size === 0) {
      const complete = bytes.length >= lineEnd + 4;
      return { body: Buffer.concat(pieces), complete, used: lineEnd + 4 };
    }
    if (bytes.length < lineEnd + 2 + size + 2) break;
    pieces.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return { body: Buffer.concat(pieces), complete: false, used: bytes.length };
}

/** A program that may be missing (Chromium, wrk): resolves with {code, stdout, stderr}, never rejects. */
export function runTool(file, args, { timeoutMs = 30000, input } = {}) {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 << 20, encoding: 'buffer', killSignal: 'SIGKILL' },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr: String(stderr), error: err }));
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}
