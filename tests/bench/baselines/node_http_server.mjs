// A plain node:http static file server, the way one would write it in 30 lines: the baseline that
// shows what socklab's web-server adds or costs. usage: node node_http_server.mjs ROOT HOST PORT
import { createReadStream, stat } from 'node:fs';
import http from 'node:http';
import { join, normalize } from 'node:path';

const [root, host, port] = process.argv.slice(2);
const server = http.createServer((req, res) => {
  const path = normalize(join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname)));
  if (!path.startsWith(root)) {
    res.writeHead(403).end();
    return;
  }
  stat(path, (err, st) => {
    if (err || !st.isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/html' }).end('<h1>404 Not Found</h1>');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': st.size });
    createReadStream(path).pipe(res);
  });
});
server.listen(Number(port), host, () => console.log(`Listening on ${host}:${port}`));
