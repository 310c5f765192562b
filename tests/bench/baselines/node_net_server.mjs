// The handout's TCP server in plain Node, as short as it gets: the start-up baseline that shows
// what the Node runtime itself takes before it can accept. usage: node node_net_server.mjs HOST PORT
import net from 'node:net';

const [host, port] = process.argv.slice(2);
net.createServer((socket) => socket.end()).listen(Number(port), host, () => console.log(`Listening on ${host}:${port}`));
