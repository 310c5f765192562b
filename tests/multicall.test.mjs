// The multi-call binary dist/socklab: one file that holds every program and runs the one named by
// the link it is called through (a symlink or a hard link tcp-server -> socklab, a copy, a renamed
// copy such as tcp-server-2) or by its first argument (socklab tcp-server 12000). With --help it
// lists the programs; bare, or with an unknown name, it is a usage error (64) with a did-you-mean;
// the chosen program sees only its own arguments. dist/tcp-server and the others are links to it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, linkSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROGRAMS, bin, freePort, importSource, pinnedNodeVersion, removeLater, removeTempDirs, root, run, startProgram, version } from './helpers.mjs';

const socklab = bin('socklab');

test.after(removeTempDirs);

/** A folder with a symlink and a hard link per program, both pointing at dist/socklab. */
let linkFolder;
function links() {
  if (linkFolder) return linkFolder;
  linkFolder = mkdtempSync(join(tmpdir(), 'socklab-links-'));
  removeLater(linkFolder);
  for (const p of PROGRAMS) {
    symlinkSync(socklab, join(linkFolder, p));
    try {
      linkSync(socklab, join(linkFolder, `hard-${p}`));
    } catch {
      // dist/ on another file system than /tmp: hard links cannot cross it (the symlinks still count)
    }
  }
  return linkFolder;
}

test('dist/socklab exists and dist/SHA256SUMS lists it', () => {
  assert.ok(existsSync(socklab), 'dist/socklab is missing: run `npm run build`');
  assert.match(readFileSync(bin('SHA256SUMS'), 'utf8'), /^[0-9a-f]{64}  socklab$/m);
});

test('dist/ holds one executable: every program is a symlink to socklab, and SHA256SUMS gives them its hash', () => {
  const sums = Object.fromEntries(readFileSync(bin('SHA256SUMS'), 'utf8').trimEnd().split('\n').map((l) => l.split(/\s+/).reverse()));
  for (const p of PROGRAMS) {
    assert.ok(lstatSync(bin(p)).isSymbolicLink(), `dist/${p} is not a symlink`);
    assert.is(readlinkSync(bin(p)), 'socklab', `dist/${p} points elsewhere`);
    assert.is(sums[p], sums.socklab, `SHA256SUMS gives ${p} another hash than socklab`);
  }
});

test('socklab --help lists every program, exit 0; socklab alone is a usage error (64) that lists them too', async () => {
  for (const args of [['--help'], ['-h'], []]) {
    const r = await run(socklab, args);
    const expected = args.length === 0 ? 64 : 0;
    assert.is(r.code, expected, `socklab ${args.join(' ')}: ${r.stderr}`);
    const out = expected === 0 ? r.stdout.toString() : r.stderr;
    for (const p of PROGRAMS) assert.match(out, new RegExp(`^  ${p}$`, 'm'), `socklab ${args.join(' ')} does not list ${p}`);
    assert.match(out, /socklab PROGRAM/);
    if (expected === 64) assert.match(out, /^socklab: name a program to run, e\.g\. socklab tcp-server 12000/);
  }
});

test('chooseProgram (lib/multicall.ts), in-process: by name, by first argument, help, version, mistakes', async () => {
  const { chooseProgram } = await importSource('lib/multicall.ts');
  const names = ['tcp-client', 'tcp-server'];
  assert.equal(chooseProgram(names, '1.0', 'tcp-server', ['12000']), { run: 'tcp-server', args: ['12000'] });
  assert.equal(chooseProgram(names, '1.0', 'socklab', ['tcp-client', 'h', '1', 'hi']), { run: 'tcp-client', args: ['h', '1', 'hi'] });
  // Under a program's name, --help is that program's.
  assert.equal(chooseProgram(names, '1.0', 'tcp-server', ['--help']), { run: 'tcp-server', args: ['--help'] });
  assert.is(chooseProgram(names, '1.0', 'socklab', ['--help']).exit, 0);
  assert.match(chooseProgram(names, '1.0', 'socklab', ['-V']).stdout, /^socklab 1\.0 \(node /);
  assert.is(chooseProgram(names, '1.0', 'socklab', []).exit, 64);
  const unknown = chooseProgram(names, '1.0', 'socklab', ['tcp-sever\nx']);
  assert.is(unknown.exit, 64);
  assert.is(unknown.stderr.trimEnd().split('\n').length, 1, 'a newline in the name stays escaped');
  assert.match(unknown.stderr, /"tcp-sever\\nx"/);
});

// [name called as, arguments, what runs (or the start of the one line on stderr, exit 64)]
const DISPATCH = [
  ['tcp-server', ['12000'], 'tcp-server'],
  ['tcp-server-2', ['12000'], 'tcp-server'],
  ['tcp-server.old', ['12000'], 'tcp-server'],
  ['tcp-client-v0.1', ['h', '1', 'hi'], 'tcp-client'],
  ['socklab', ['tcp-server', '12000'], 'tcp-server'],
  ['socklab-0.1.0', ['tcp-client'], 'tcp-client'],
  ['a.out', ['tcp-server', '12000'], 'tcp-server'],
  ['socklab', ['tcp-sever'], 'socklab: no program named "tcp-sever" (did you mean tcp-server?); the programs are tcp-client, tcp-server'],
  ['socklab', ['TCP-Server'], 'socklab: no program named "TCP-Server" (did you mean tcp-server?)'],
  ['socklab', ['tcpclient', 'h'], 'socklab: no program named "tcpclient" (did you mean tcp-client?)'],
  ['socklab', ['nc'], 'socklab: no program named "nc"; the programs are'],
  ['tcpserver', ['127.0.0.1', '12000'], 'socklab: called as "tcpserver", which is no program\'s name (did you mean tcp-server?); rename the file tcp-server (or tcp-server-2, tcp-server.old), or name the program first: tcpserver tcp-server ...; the programs are'],
  ['a.out', [], 'socklab: called as "a.out", which is no program\'s name; rename the file tcp-server'],
  ['a.out', ['tcp-sever'], 'socklab: no program named "tcp-sever" (did you mean tcp-server?)'],
];

test('chooseProgram: a renamed copy runs the program its name starts with; an unknown name gets a did-you-mean', async () => {
  const { chooseProgram } = await importSource('lib/multicall.ts');
  for (const [calledAs, args, expected] of DISPATCH) {
    const choice = chooseProgram(['tcp-client', 'tcp-server'], '1.0', calledAs, args);
    const label = `${calledAs} ${args.join(' ')}`;
    if (!expected.startsWith('socklab:')) {
      assert.equal(choice.run, expected, label);
      continue;
    }
    assert.is(choice.exit, 64, label);
    assert.ok(choice.stderr.startsWith(expected), `${label}: ${choice.stderr}`);
    assert.is(choice.stderr.trimEnd().split('\n').length, 1, label);
  }
});

test('socklab --version names socklab, the runtime and the target', async () => {
  const r = await run(socklab, ['--version']);
  assert.is(r.code, 0);
  assert.is(r.stdout.toString(), `socklab ${version} (node ${pinnedNodeVersion}, linux-x64)\n`);
});

test('an unknown program: one line on stderr naming it, the program it is nearest and the programs, exit 64', async () => {
  const r = await run(socklab, ['tcp-sever', '127.0.0.1', '12000']);
  assert.is(r.code, 64);
  assert.is(r.stdout.length, 0);
  const lines = r.stderr.trimEnd().split('\n');
  assert.is(lines.length, 1, r.stderr);
  assert.match(lines[0], /^socklab: no program named "tcp-sever" \(did you mean tcp-server\?\); the programs are .*udp-server/);
});

test('renamed copies run the program their name starts with (tcp-server-2, udp-client.old); another name says what it could be', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'socklab-renamed-'));
  removeLater(folder);
  for (const name of ['tcp-server-2', 'udp-client.old', 'web-server_backup', 'tcpclient']) symlinkSync(socklab, join(folder, name));
  for (const [name, program] of [['tcp-server-2', 'tcp-server'], ['udp-client.old', 'udp-client'], ['web-server_backup', 'web-server']]) {
    const r = await run(join(folder, name), ['--version']);
    assert.is(r.stdout.toString(), `${program} ${version} (node ${pinnedNodeVersion}, linux-x64)\n`, `${name}: ${r.stderr}`);
  }
  const typo = await run(join(folder, 'tcpclient'), ['127.0.0.1', '12000', 'hi']);
  assert.is(typo.code, 64);
  assert.is(typo.stderr.trimEnd().split('\n').length, 1, typo.stderr);
  assert.match(typo.stderr, /^socklab: called as "tcpclient", which is no program's name \(did you mean tcp-client\?\)/);
});

test('each program by first argument, by symlink and by hard link prints its own --version', async () => {
  const folder = links();
  for (const p of PROGRAMS) {
    const ways = [[socklab, [p, '--version']], [join(folder, p), ['--version']], [join(folder, p), ['-V']]];
    if (existsSync(join(folder, `hard-${p}`))) ways.push([join(folder, `hard-${p}`), ['--version']]);
    for (const [file, args] of ways) {
      const r = await run(file, args);
      assert.is(r.code, 0, `${file} ${args.join(' ')}: ${r.stderr}`);
      // hard-tcp-server is not a program's name: it reads the program from the first argument
      const expected = file.includes('hard-') ? `socklab ${version}` : `${p} ${version}`;
      assert.is(r.stdout.toString(), `${expected} (node ${pinnedNodeVersion}, linux-x64)\n`, `${file} ${args.join(' ')}`);
    }
  }
});

test('a hard link named after a program runs that program', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'socklab-hardlink-'));
  removeLater(folder);
  try {
    linkSync(socklab, join(folder, 'udp-client'));
  } catch {
    return; // dist/ and /tmp on different file systems: covered by the symlinks
  }
  const r = await run(join(folder, 'udp-client'), ['--version']);
  assert.is(r.stdout.toString(), `udp-client ${version} (node ${pinnedNodeVersion}, linux-x64)\n`);
});

test('the program sees only its own arguments: usage errors and --help name it, not socklab', async () => {
  const r = await run(socklab, ['tcp-client', '127.0.0.1', '0', 'hello']);
  assert.is(r.code, 64);
  assert.match(r.stderr, /^tcp-client: bad port "0"/);
  const viaLink = await run(join(links(), 'udp-server'), ['--bogus']);
  assert.is(viaLink.code, 64);
  assert.match(viaLink.stderr, /^udp-server: unknown option/);
  const help = await run(socklab, ['tcp-server', '--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout.toString(), /^tcp-server: /);
  assert.match(help.stdout.toString(), /Usage:\n  tcp-server /);
});

test('the handout exchange over TCP and UDP through socklab (server by link, client by argument)', async () => {
  const folder = links();
  for (const proto of ['tcp', 'udp']) {
    const port = await freePort(proto);
    const server = await startProgram(join(folder, `${proto}-server`), ['127.0.0.1', String(port)]);
    try {
      assert.match(server.output.stdout, /^The server is ready to receive$/m);
      const r = await run(socklab, [`${proto}-client`, '127.0.0.1', String(port), 'hello, welcome']);
      assert.is(r.code, 0, `${proto}-client: ${r.stderr}`);
      assert.is(r.stdout.toString(), 'HELLO, WELCOME\n');
    } finally {
      assert.is((await server.stop()).code, 0);
    }
  }
});

test.run();
