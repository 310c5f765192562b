// The floor of what node:http itself can do for a static file: every file of ROOT read once at
// start and answered from memory with the head web-server sends (Content-Type, Content-Length,
// ETag, Last-Modified, Accept-Ranges, Date), a small HTML page for a missing one. No checks, no
// log, no cache to revalidate: what web-server's per-request work costs is its distance to this.
// usage: node node_http_floor_server.mjs ROOT HOST PORT
import { readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';

const [root, host, port] = process.argv.slice(2);
const files = new Map();
for (const name of readdirSync(root)) {
  const st = statSync(join(root, name));
  if (!st.isFile()) continue;
  files.set(`/${name}`, {
    body: readFileSync(join(root, name)),
    head: {
      'Content-Type': 'application/octet-stream', 'Content-Length': st.size,
      ETag: `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`,
      'Last-Modified': st.mtime.toUTCString(), 'Accept-Ranges': 'bytes',
    },
  });
}
const notFound = Buffer.from('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>404 Not Found</title></head>\n<body><h1>404 Not Found</h1></body></html>\n');
http.createServer((req, res) => {
  const file = files.get(req.url);
  if (!file) {
    res.writeHead(404, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': notFound.length }).end(notFound);
    return;
  }
  res.writeHead(200, file.head).end(file.body);
}).listen(Number(port), host, () => console.log(`Listening on ${host}:${port}`));
