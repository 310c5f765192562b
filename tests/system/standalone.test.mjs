// Standalone: a program from dist/ must run with nothing around it, as on a lab host that has never
// seen Node. dist/tcp-server and the others are symlinks to dist/socklab: each is copied alone into
// an empty folder the ways a user copies it (cp, cp -L, scp: each follows the link and copies the
// whole program) and run with an empty environment (env -i: no PATH, no HOME, no NODE_*), then
// inside a chroot that holds only the binaries and the shared libraries `ldd` lists. Both ways: --version, and the handout's exchange over TCP and UDP on
// loopback (a chroot shares the network namespace, so 127.0.0.1 reaches the other chrooted program).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT, bin, findCommand, freePort, removeLater, removeTempDirs, run, startProgram, testNeeding, whichCommand } from '../helpers.mjs';

const PROGRAMS = ['tcp-server', 'tcp-client', 'udp-server', 'udp-client'];
const MESSAGE = 'hello, welcome';
const REPLY = 'HELLO, WELCOME\n';

test.after(removeTempDirs);
const chrootTest = testNeeding(test, ROOT);

function copyProgram(name, folder) {
  copyFileSync(bin(name), join(folder, name));
  chmodSync(join(folder, name), 0o755);
}

/**
 * scp with the classic protocol (-O) and, instead of ssh, a stand-in that runs the remote side
 * (`scp -t FOLDER`) here: scp reads the file as it would for a lab host, without a network.
 */
function scpHere(file, folder) {
  const fakeSsh = join(folder, '..', 'ssh-here');
  writeFileSync(fakeSsh, '#!/bin/sh\nwhile [ "$1" != "--" ]; do shift; done\nshift 2\nexec /bin/sh -c "$*"\n', { mode: 0o755 });
  execFileSync(findCommand('scp'), ['-O', '-S', fakeSsh, file, `lab-host:${folder}/`]);
}

/** How each program reaches the empty folder: the commands a user types. */
const COPY_WITH = {
  'tcp-server': (file, folder) => execFileSync(findCommand('cp'), [file, folder]),
  'tcp-client': (file, folder) => execFileSync(findCommand('cp'), ['-L', file, folder]),
  'udp-server': (file, folder) => {
    if (whichCommand('scp')) return scpHere(file, folder);
    if (process.env.CI === 'true') throw new Error('scp not found: install openssh-client (CI=true: a missing tool fails)');
    return execFileSync(findCommand('cp'), [file, folder]);
  },
  'udp-client': (file, folder) => execFileSync(findCommand('cp'), ['-L', file, folder]),
};

// Built once, on first use, so that a failure shows up as a failed test (uvu swallows errors
// thrown by test.before).
let emptyFolder;
function folderWithOnlyTheBinaries() {
  if (emptyFolder) return emptyFolder;
  const parent = mkdtempSync(join(tmpdir(), 'socklab-standalone-'));
  removeLater(parent);
  const folder = join(parent, 'lab-host');
  mkdirSync(folder);
  for (const p of PROGRAMS) COPY_WITH[p](bin(p), folder);
  return (emptyFolder = folder);
}

/** Every shared object `ldd` names for the program, by absolute path (the dynamic loader included). */
function sharedLibraries(name) {
  const out = execFileSync(findCommand('ldd'), [bin(name)], { encoding: 'utf8' });
  assert.not.match(out, /not found/, `ldd ${name} lists a missing library:\n${out}`);
  // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)";
  // linux-vdso.so.1 has no file: the kernel maps it into every process.
  return out.split('\n').map((line) => line.match(/=>\s*(\/\S+)/)?.[1] ?? line.match(/^\s*(\/\S+)/)?.[1]).filter(Boolean);
}

let chrootRoot;
function chrootWithOnlyTheBinaries() {
  if (chrootRoot) return chrootRoot;
  const root = mkdtempSync(join(tmpdir(), 'socklab-chroot-'));
  removeLater(root);
  for (const p of PROGRAMS) copyProgram(p, root);
  for (const lib of new Set(PROGRAMS.flatMap(sharedLibraries))) {
    // copyFileSync follows symlinks: the root gets real files at the paths the loader looks for.
    mkdirSync(join(root, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(root, lib));
  }
  return (chrootRoot = root);
}

/** Every file under dir, as "/relative/path". */
function listFiles(dir, prefix = '') {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}/${e.name}`) : [`${prefix}/${e.name}`]);
}

// How a program is started in each setting: [command, args, spawn options] for run()/startProgram().
const inEmptyFolder = (name, args) => [findCommand('env'), ['-i', `./${name}`, ...args], { cwd: folderWithOnlyTheBinaries() }];
const inChroot = (name, args) => [findCommand('env'), ['-i', findCommand('chroot'), chrootWithOnlyTheBinaries(), `/${name}`, ...args], {}];

async function checkVersions(launch) {
  for (const p of PROGRAMS) {
    const [command, args, options] = launch(p, ['--version']);
    const r = await run(command, args, { ...options, timeoutMs: 10000 });
    assert.is(r.code, 0, `${p} --version exited ${r.code}; stderr: ${r.stderr}`);
    assert.match(r.stdout.toString(), new RegExp(`^${p} \\d+\\.\\d+\\.\\d+ \\(node \\d+\\.\\d+\\.\\d+, linux-x64\\)\\n$`));
  }
}

/** The handout's sample exchange between two copies started by `launch`, server then client. */
async function checkExchange(proto, launch) {
  const port = String(await freePort(proto));
  const [serverCommand, serverArgs, serverOptions] = launch(`${proto}-server`, ['127.0.0.1', port]);
  const server = await startProgram(serverCommand, serverArgs, serverOptions);
  let client;
  let stopped;
  try {
    const [command, args, options] = launch(`${proto}-client`, ['127.0.0.1', port, MESSAGE]);
    client = await run(command, args, { ...options, timeoutMs: 10000 });
  } finally {
    stopped = await server.stop();
  }
  assert.is(client.stdout.toString(), REPLY, `${proto}-client stdout; stderr: ${client.stderr}`);
  assert.is(client.code, 0, `${proto}-client exit code; stderr: ${client.stderr}`);
  assert.equal(stopped, { code: 0, signal: null }, `${proto}-server after SIGTERM; stderr: ${server.output.stderr}`);
}

test('empty folder, env -i: the folder holds nothing but the four programs, each a whole copy of socklab (cp, cp -L, scp)', () => {
  const folder = folderWithOnlyTheBinaries();
  assert.equal(readdirSync(folder).sort(), [...PROGRAMS].sort());
  const socklab = readFileSync(bin('socklab'));
  for (const p of PROGRAMS) {
    assert.ok(lstatSync(join(folder, p)).isFile(), `${p} arrived as a link, not a file`);
    assert.ok(readFileSync(join(folder, p)).equals(socklab), `${p} is not socklab's bytes`);
  }
  if (!whichCommand('scp')) console.log('  (scp not found: udp-server was copied with cp; install openssh-client to copy it with scp)');
});

test('empty folder, env -i: --version of each program', () => checkVersions(inEmptyFolder));
test('empty folder, env -i: hello, welcome -> HELLO, WELCOME over TCP', () => checkExchange('tcp', inEmptyFolder));
test('empty folder, env -i: hello, welcome -> HELLO, WELCOME over UDP', () => checkExchange('udp', inEmptyFolder));

chrootTest('chroot: the root holds only the binaries and the libraries ldd lists, no Node', () => {
  const files = listFiles(chrootWithOnlyTheBinaries());
  const libs = new Set(PROGRAMS.flatMap(sharedLibraries));
  assert.ok(libs.size > 0, 'ldd listed no libraries: is the binary static? then this test needs rethinking');
  assert.ok([...libs].some((l) => /\/ld-linux[^/]*\.so/.test(l)), `no dynamic loader among ${[...libs].join(' ')}`);
  assert.equal(files.sort(), [...PROGRAMS.map((p) => `/${p}`), ...libs].sort());
  assert.not.ok(files.some((f) => /(^|\/)(node|nodejs|node_modules)(\/|$)/.test(f)), files.join('\n'));
});

chrootTest('chroot: --version of each program', () => checkVersions(inChroot));
chrootTest('chroot: hello, welcome -> HELLO, WELCOME over TCP, server and client both chrooted', () => checkExchange('tcp', inChroot));
chrootTest('chroot: hello, welcome -> HELLO, WELCOME over UDP, server and client both chrooted', () => checkExchange('udp', inChroot));

test.run();
