// lib/network-errors.ts in-process: each errno a socket can give -> the sentence a student reads
// and the exit code, for a client and for a server.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { importSource } from './helpers.mjs';

const { explainNetworkError } = await importSource('lib/network-errors.ts');
const errno = (code) => Object.assign(new Error(code), { code });
const client = { proto: 'TCP', host: '127.0.0.1', port: 12000, during: 'connect' };

for (const [what, err, ctx, exit, sentence] of [
  ['refused: start the server first', errno('ECONNREFUSED'), client, 69, /nothing listens on TCP port 12000 at 127\.0\.0\.1\. Start the server first/],
  ['no such host', errno('ENOTFOUND'), { ...client, host: 'nosuch.example' }, 68, /unknown host "nosuch\.example"/],
  ['port in use', errno('EADDRINUSE'), { ...client, during: 'listen' }, 71, /already in use/],
  ['a privileged port: the lab\'s port by default', errno('EACCES'), { ...client, port: 80, during: 'listen' }, 77, /ports below 1024 need root\)\. Pick a port of 1024 or more; the lab uses 12000\./],
  ['a privileged port for web-server: its own port', errno('EACCES'), { ...client, port: 80, during: 'listen', labPort: 6789 }, 77, /the lab uses 6789\./],
]) {
  test(what, () => {
    const explained = explainNetworkError(err, ctx);
    assert.is(explained.exitCode, exit);
    assert.match(explained.message, sentence);
    assert.not.match(explained.message, '\n');
  });
}
test.run();
