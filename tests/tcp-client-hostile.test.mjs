// tcp-client against servers that break the rules on purpose (tests/peers/hostile_server.py on
// 127.0.0.1), and at a real pseudo-terminal's prompt: it always ends, within its limits, prints
// only what the uppercase service could have sent, and says what happened in one line.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PYTHON3, bin, freePort, patternBytes, root, run, startProgram, testNeeding, withoutTerminalCodes } from './helpers.mjs';

const PEERS = join(root, 'tests', 'peers');
const pythonTest = testNeeding(test, PYTHON3); // the hostile peers and the pseudo-terminal are Python

/** Runs `body(port)` against a hostile server in MODE, which is stopped afterwards. */
async function against(mode, body) {
  const peer = await startProgram('/usr/bin/python3', [join(PEERS, 'hostile_server.py'), mode]);
  try {
    await body(Number(/Listening on (\d+)/.exec(peer.output.stdout)[1]));
  } finally {
    await peer.stop();
  }
}

/** The one line on stderr, checked to be one line naming tcp-client. */
function oneLine(r) {
  const lines = r.stderr.trimEnd().split('\n');
  assert.is(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  assert.ok(lines[0].startsWith('tcp-client: '), lines[0]);
  return lines[0];
}

pythonTest('a server that resets without answering a 2-byte message: a reset (74), not "the 1024-byte cut"; no empty line on stdout', async () => {
  await against('reset', async (port) => {
    const r = await run('tcp-client', ['127.0.0.1', String(port), 'hi']);
    assert.is(r.code, 74, r.stderr);
    const line = oneLine(r);
    assert.match(line, 'reset the connection');
    assert.match(line, '0 of the 2 bytes');
    assert.not.match(line, '1024');
    assert.is(r.stdout.length, 0, `stdout: ${JSON.stringify(r.stdout.toString())}`);
  });
});

pythonTest('a server that closes without answering: said so (76), no 1024 hint, nothing on stdout', async () => {
  await against('close', async (port) => {
    const r = await run('tcp-client', ['127.0.0.1', String(port), 'hello']);
    assert.is(r.code, 76, r.stderr);
    const line = oneLine(r);
    assert.match(line, 'closed the connection without answering');
    assert.not.match(line, '1024');
    assert.is(r.stdout.length, 0, `stdout: ${JSON.stringify(r.stdout.toString())}`);
  });
});

pythonTest('an endless reply: the answer is printed, the excess is not, exit 76 at once (never gathered in memory)', async () => {
  await against('endless', async (port) => {
    const r = await run('tcp-client', ['127.0.0.1', String(port), 'hello'], { timeoutMs: 10000 });
    assert.is(r.code, 76, r.stderr);
    assert.match(oneLine(r), 'sent back more than it got');
    assert.is(r.stdout.toString(), 'HELLO\n');
    // The same from a stream: at no moment may more come back than has gone out.
    const streamed = await run('tcp-client', ['127.0.0.1', String(port)], { input: patternBytes(1000, 3), timeoutMs: 10000 });
    assert.is(streamed.code, 76, streamed.stderr);
    assert.ok(streamed.stdout.length <= 1000, `${streamed.stdout.length} bytes printed for 1000 sent`);
  });
});

pythonTest('a reply 10 MiB longer than the message is reported (76), not exit 0', async () => {
  await against('longer', async (port) => {
    const r = await run('tcp-client', ['127.0.0.1', String(port), 'hi']);
    assert.is(r.code, 76, r.stderr);
    assert.match(oneLine(r), 'at least');
    assert.is(r.stdout.toString(), 'HI\n');
  });
});

pythonTest('--max-time ends a server that trickles its reply (which the idle timeout never notices): exit 75, what came printed', async () => {
  await against('trickle', async (port) => {
    const r = await run('tcp-client', ['--max-time', '1.5', '127.0.0.1', String(port), 'a sentence of forty bytes, or about that'], { timeoutMs: 10000 });
    assert.is(r.code, 75, r.stderr);
    assert.match(oneLine(r), '--max-time 1.5 s');
    assert.ok(r.ms < 4000, `took ${r.ms} ms`);
    const out = r.stdout.toString();
    assert.ok(out.length > 1 && out.length < 20 && out.endsWith('\n'), JSON.stringify(out));
    assert.ok('A SENTENCE OF FORTY BYTES'.startsWith(out.trimEnd()), JSON.stringify(out));
  });
});

pythonTest('--max-time ends a stream to a server that never reads (stdin never ends): exit 75', async () => {
  await against('deaf', async (port) => {
    const child = spawn(bin('tcp-client'), ['--max-time', '1', '127.0.0.1', String(port)], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => { stderr += c; });
    child.stdin.on('error', () => {});
    const feed = setInterval(() => child.stdin.write(Buffer.alloc(65536)), 10);
    const killer = setTimeout(() => child.kill('SIGKILL'), 8000);
    const code = await new Promise((r) => child.on('close', r));
    clearInterval(feed);
    clearTimeout(killer);
    assert.is(code, 75, stderr);
    assert.match(stderr, 'gave up after --max-time 1 s');
  });
});

test('a bad --max-time is a usage error', async () => {
  const r = await run('tcp-client', ['--max-time', 'soon', '127.0.0.1', '1', 'hi']);
  assert.is(r.code, 64);
  assert.match(oneLine(r), 'bad --max-time');
});

for (const program of ['tcp-client', 'udp-client']) {
  pythonTest(`${program} at a real terminal: Ctrl-C at the prompt ends the line and exits 130, no internal error`, async () => {
    const port = await freePort(program === 'tcp-client' ? 'tcp' : 'udp');
    // tcp-client connects before it asks, as the handout's TCPClient.py does: give it a listener.
    const server = await startProgram(program === 'tcp-client' ? 'tcp-server' : 'udp-server', ['127.0.0.1', String(port)]);
    try {
      const r = await run('/usr/bin/python3', [join(PEERS, 'on_terminal.py'), '^C', bin(program), '127.0.0.1', String(port)]);
      const screen = withoutTerminalCodes(r.stdout.toString());
      assert.is(r.code, 130, screen);
      assert.not.match(screen, 'internal error');
      assert.ok(screen.endsWith('Input lowercase sentence: ^C\n'), JSON.stringify(screen));
    } finally {
      await server.stop();
    }
  });

  pythonTest(`${program} at a real terminal: Ctrl-D at the prompt sends nothing, ends the line, exits 0`, async () => {
    const port = await freePort(program === 'tcp-client' ? 'tcp' : 'udp');
    const server = await startProgram(program === 'tcp-client' ? 'tcp-server' : 'udp-server', ['127.0.0.1', String(port)]);
    try {
      const r = await run('/usr/bin/python3', [join(PEERS, 'on_terminal.py'), '^D', bin(program), '127.0.0.1', String(port)]);
      const screen = withoutTerminalCodes(r.stdout.toString());
      assert.is(r.code, 0, screen);
      assert.ok(screen.endsWith('Input lowercase sentence: \n'), JSON.stringify(screen));
      if (program === 'tcp-client') {
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.match(server.output.stdout, /closed by client; 0 bytes in, 0 bytes out/);
      }
    } finally {
      await server.stop();
    }
  });
}

test.run();
