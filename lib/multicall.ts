// socklab, the every-program binary (busybox's applet table): one file that holds each program
// and runs the one it is called as (a link tcp-server -> socklab) or the one its first argument
// names (socklab tcp-server 12000). build.mjs bundles this file like a program and hands it the
// table of programs; each program's code runs only when chosen.

/** A program's bundle, wrapped as Node wraps a CommonJS module, so that none runs unless chosen. */
export type ProgramModule = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;

/** What socklab does with its command line: run a program, or say something and exit. */
export type Choice =
  | { run: string; args: string[] }
  | { exit: 0 | 64; stdout?: string; stderr?: string };

/**
 * socklab's own command line. `calledAs` is the name it was started under (argv0's last part),
 * `args` what follows it; pure, so that its table of cases runs in-process.
 */
export function chooseProgram(names: readonly string[], version: string, calledAs: string, args: readonly string[]): Choice {
  // Under a program's name (a link, or a copy renamed) it is that program; under any other name
  // (socklab) the first argument names the program.
  if (names.includes(calledAs)) return { run: calledAs, args: [...args] };
  const [name, ...rest] = args;
  if (name === '--help' || name === '-h') return { exit: 0, stdout: helpText(names, version) };
  if (name === '--version' || name === '-V') {
    return { exit: 0, stdout: `socklab ${version} (node ${process.versions.node}, ${process.platform}-${process.arch})\n` };
  }
  // No program named is a usage error like any other (64), with the list to pick from.
  if (name === undefined) return { exit: 64, stderr: `socklab: name a program to run, e.g. socklab tcp-server 12000\n\n${helpText(names, version)}` };
  if (!names.includes(name)) {
    const shown = JSON.stringify(name).slice(1, -1); // a newline or escape in it stays one line
    return { exit: 64, stderr: `socklab: no program named "${shown}"; the programs are ${names.join(', ')} (see socklab --help)\n` };
  }
  return { run: name, args: rest };
}

function helpText(names: readonly string[], version: string): string {
  return `socklab ${version}: every program of the socket lab in one file.\n\nUsage:\n` +
    '  socklab PROGRAM [ARGUMENTS...]   e.g. socklab tcp-server 12000\n' +
    '  PROGRAM [ARGUMENTS...]           through a link named after it: ln -s socklab tcp-server\n\n' +
    `Programs:\n${names.map((n) => `  ${n}\n`).join('')}\nEach one explains itself: socklab PROGRAM --help\n` +
    'Exit codes: 0 for --help and --version, 64 when no program or an unknown one is named;\n' +
    'otherwise the program\'s own (see its --help).\n';
}

/** Runs the chosen program as if it had been started under its own name, or exits. */
export function runMultiCall(programs: Record<string, ProgramModule>, version: string, require: NodeJS.Require,
  filename: string, dirname: string): void {
  const calledAs = process.argv0.slice(process.argv0.lastIndexOf('/') + 1);
  const choice = chooseProgram(Object.keys(programs), version, calledAs, process.argv.slice(2));
  if ('exit' in choice) {
    if (choice.stdout) process.stdout.write(choice.stdout);
    if (choice.stderr) process.stderr.write(choice.stderr);
    process.exitCode = choice.exit;
    return;
  }
  process.argv = [process.argv[0], process.argv[1], ...choice.args];
  const chosen = { exports: {} };
  programs[choice.run].call(chosen.exports, chosen.exports, require, chosen, filename, dirname);
}
