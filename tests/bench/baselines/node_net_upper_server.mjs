// The handout's TCP server in plain Node: each chunk's a-z uppercased and written back, closed
// when the client closes. The floor that shows what Node's net module itself costs per
// connection, apart from anything socklab does (its log, its limits, its traces).
// usage: node node_net_upper_server.mjs HOST PORT
import net from 'node:net';

const [host, port] = process.argv.slice(2);
net.createServer({ allowHalfOpen: true }, (socket) => {
  socket.on('data', (chunk) => {
    for (let i = 0; i < chunk.length; i++) if (chunk[i] >= 0x61 && chunk[i] <= 0x7a) chunk[i] -= 0x20;
    socket.write(chunk);
  });
  socket.on('end', () => socket.end());
  socket.on('error', () => socket.destroy());
}).listen(Number(port), host, () => console.log(`Listening on ${host}:${port}`));
