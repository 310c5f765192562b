// The handout's UDP server in plain Node: node:dgram, toUpperCase-free a-z loop, send back. The
// baseline that shows what Node's dgram itself costs per datagram, apart from anything socklab
// does. usage: node node_dgram_server.mjs HOST PORT
import dgram from 'node:dgram';

const [host, port] = process.argv.slice(2);
const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
socket.on('message', (message, sender) => {
  for (let i = 0; i < message.length; i++) if (message[i] >= 0x61 && message[i] <= 0x7a) message[i] -= 0x20;
  socket.send(message, sender.port, sender.address);
});
socket.bind(Number(port), host, () => console.log(`Listening on ${host}:${port}`));
