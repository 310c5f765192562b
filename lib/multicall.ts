// socklab, the every-program binary (busybox's applet table): one file that holds each program
// and runs the one it is called as (a link tcp-server -> socklab) or the one its first argument
// names (socklab tcp-server 12000). build.mjs bundles this file like a program and hands it the
// table of programs; each program's code runs only when chosen.
import { getAsset } from 'node:sea';
import { compileFunction } from 'node:vm';
import { closestName } from './did-you-mean.ts';


/** What socklab does with its command line: run a program, or say something and exit. */
export type Choice =
  | { run: string; args: string[] }
  | { exit: 0 | 64; stdout?: string; stderr?: string };

/**
 * socklab's own command line. `calledAs` is the name it was started under (argv0's last part),
 * `args` what follows it; pure, so that its table of cases runs in-process.
 */
export function chooseProgram(names: readonly string[], version: string, calledAs: string, args: readonly string[]): Choice {
  // Under a program's name it is that program: a link (tcp-server -> socklab), a copy (cp -L, scp)
  // or a renamed copy (tcp-server-2, tcp-server.old). Under any other name (socklab) the first
  // argument names the program.
  const byName = programCalled(names, calledAs);
  if (byName) return { run: byName, args: [...args] };
  const [name, ...rest] = args;
  if (name !== undefined && names.includes(name)) return { run: name, args: rest };
  if (name === '--help' || name === '-h') return { exit: 0, stdout: helpText(names, version) };
  if (name === '--version' || name === '-V') {
    return { exit: 0, stdout: `socklab ${version} (node ${process.versions.node}, ${process.platform}-${process.arch})\n` };
  }
  // From here, a usage error like any other (64), naming what is wrong and what would work.
  const list = `the programs are ${names.join(', ')}`;
  const shown = (text: string) => JSON.stringify(text).slice(1, -1); // a newline or escape in it stays one line
  const asSocklab = calledAs.startsWith('socklab');
  const near = name === undefined ? undefined : closestName(name, names);
  if (name !== undefined && (asSocklab || near)) {
    return { exit: 64, stderr: `socklab: no program named "${shown(name)}"${near ? ` (did you mean ${near}?)` : ''}; ${list} (see socklab --help)\n` };
  }
  if (asSocklab) return { exit: 64, stderr: `socklab: name a program to run, e.g. socklab tcp-server 12000\n\n${helpText(names, version)}` };
  // A copy or link under a name that is no program's (tcpserver, a.out): what to call it instead.
  const nearName = closestName(calledAs, names);
  const example = nearName ?? 'tcp-server';
  return {
    exit: 64,
    stderr: `socklab: called as "${shown(calledAs)}", which is no program's name${nearName ? ` (did you mean ${nearName}?)` : ''}; ` +
      `rename the file ${example} (or ${example}-2, ${example}.old), or name the program first: ${shown(calledAs)} ${example} ...; ${list}\n`,
  };
}

/**
 * The program a file name stands for: the program's name itself, or one that starts with it, as
 * a renamed copy does (tcp-server-2, tcp-server.old); the longest such name wins.
 */
export function programCalled(names: readonly string[], calledAs: string): string | undefined {
  return names.filter((n) => calledAs.startsWith(n)).sort((a, b) => b.length - a.length)[0];
}

function helpText(names: readonly string[], version: string): string {
  return `socklab ${version}: every program of the socket lab in one file.\n\nUsage:\n` +
    '  socklab PROGRAM [ARGUMENTS...]   e.g. socklab tcp-server 12000\n' +
    '  PROGRAM [ARGUMENTS...]           under a program\'s name: a link (ln -s socklab tcp-server),\n' +
    '                                   a copy (cp -L tcp-server ~/bin), a renamed copy (tcp-server-2)\n\n' +
    `Programs:\n${names.map((n) => `  ${n}\n`).join('')}\nEach one explains itself: socklab PROGRAM --help\n` +
    'Exit codes: 0 for --help and --version, 64 when no program or an unknown one is named;\n' +
    'otherwise the program\'s own (see its --help).\n';
}

/**
 * Node's environment variables that add to what a packaged program prints on stderr: debug lines
 * (NODE_DEBUG=net,http: dozens per connection; NODE_DEBUG_NATIVE) and warnings (more of them, or
 * sent to a file). NODE_OPTIONS the SEA blob ignores by itself (build.mjs: execArgvExtension
 * "none"). Of the others Node reads, NODE_V8_COVERAGE and NODE_COMPILE_CACHE still write into the
 * folder they name (Node does so outside any program code, even across a restart); NODE_PATH,
 * NODE_EXTRA_CA_CERTS and NODE_TLS_* change nothing (no module is loaded from disk, no TLS is
 * spoken); UV_THREADPOOL_SIZE tunes speed only, and TZ sets the logs' time zone, as it should.
 */
export const NODE_VARIABLES = ['NODE_DEBUG', 'NODE_DEBUG_NATIVE', 'NODE_PENDING_DEPRECATION', 'NODE_REDIRECT_WARNINGS'];

/**
 * Node reads those variables while it starts, before any program code runs: so when one is set,
 * socklab starts itself again without them, in place (execve: the same PID, descriptors and
 * arguments), before it has read or written anything. Costs one more start only then.
 */
function restartWithoutNodeVariables(): void {
  const set = NODE_VARIABLES.filter((name) => process.env[name] !== undefined);
  if (set.length === 0 || !process.execve) return;
  const env = { ...process.env };
  for (const name of set) delete env[name];
  try {
    process.execve(process.execPath, [process.argv0, ...process.argv.slice(2)], env);
  } catch {
    // execve refused: run as we are, with what those variables do
  }
}

/**
 * Runs the chosen program as if it had been started under its own name, or exits. Each program's
 * bundle is a SEA asset named after it (build.mjs); only the chosen one is read and compiled, as
 * Node wraps a CommonJS module.
 */
export function runMultiCall(programs: readonly string[], version: string, require: NodeJS.Require,
  filename: string, dirname: string): void {
  restartWithoutNodeVariables();
  const calledAs = process.argv0.slice(process.argv0.lastIndexOf('/') + 1);
  const choice = chooseProgram(programs, version, calledAs, process.argv.slice(2));
  if ('exit' in choice) {
    if (choice.stdout) process.stdout.write(choice.stdout);
    if (choice.stderr) process.stderr.write(choice.stderr);
    process.exitCode = choice.exit;
    return;
  }
  process.argv = [process.argv[0], process.argv[1], ...choice.args];
  const chosen = { exports: {} };
  const program = compileFunction(getAsset(choice.run, 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], { filename: `${choice.run}.cjs` });
  program.call(chosen.exports, chosen.exports, require, chosen, filename, dirname);
}
