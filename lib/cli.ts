// The command line every socklab program shares: the spec of its options, parsing through mri
// (with the fixes for typical mistakes), --help that teaches, --version, and the value parsers.
import { isIP } from 'node:net';
import mri from 'mri';
import { closestName } from './did-you-mean.ts';
import { exitCodesHelp, type ExitCodeEntry } from './exit-codes.ts';
import { FinishedEarly, UsageError } from './program.ts';

declare const SOCKLAB_VERSION: string; // set by build.mjs from package.json

export interface OptionSpec {
  /** Long name, used as `--name` and as the key in the parsed flags. */
  name: string;
  /** One-letter alias, used as `-x`. */
  short?: string;
  /** Name of the value in help (`--timeout SECONDS`); absent for a boolean flag. */
  value?: string;
  /** One line for --help. */
  help: string;
}

export interface ProgramSpec {
  name: string;
  /** What the program does, in a sentence or two. */
  summary: string;
  /** Usage lines without the program name, e.g. `[HOST] [PORT]`. */
  usage: string[];
  options: OptionSpec[];
  /** Examples shown in --help, each a full command line followed by what it does. */
  examples: [command: string, what: string][];
  /** Anything else worth teaching in --help (printed before the exit codes). */
  notes?: string;
  /**
   * For a client that sends a message: the number of positionals before it (2: HOST PORT).
   * Every word after them is the message exactly as typed (`5 - 3 = 2`, `env -i`), never an
   * option, as ssh takes its command after the host; options go before HOST.
   */
  messageAfter?: number;
  /**
   * The exit codes this program can return, for --help (every shared sysexits code when absent);
   * [code, meaning] where the program's meaning is its own (lab-check's 1: a check failed).
   */
  exitCodes?: readonly ExitCodeEntry[];
}

export type Flags = Record<string, string | boolean | undefined>;

export const COMMON_OPTIONS: OptionSpec[] = [
  { name: 'verbose', short: 'v', help: 'trace every socket event on stderr (time, addresses, bytes, who closed)' },
  { name: 'quiet', short: 'q', help: 'print only data, errors and a server\'s ready line (no per-connection log)' },
  { name: 'ipv4', short: '4', help: 'use IPv4 only' },
  { name: 'ipv6', short: '6', help: 'use IPv6 only' },
  { name: 'help', short: 'h', help: 'show this help and exit' },
  { name: 'version', short: 'V', help: 'show the version and exit' },
];

/** Parses argv (without node and script), handling --help and --version itself. */
export function parseCommandLine(spec: ProgramSpec, argv: string[]): { flags: Flags; positionals: string[] } {
  const { head, message } = splitOffMessage(spec, argv);
  argv = head;
  refuseMisusedEquals(spec, argv);
  const alias: Record<string, string[]> = {};
  const booleans: string[] = [];
  const strings: string[] = [];
  for (const option of spec.options) {
    alias[option.name] = option.short ? [option.short] : [];
    (option.value ? strings : booleans).push(option.name);
  }
  let unknown: string | undefined;
  const parsed = mri(argv, {
    alias, boolean: booleans, string: strings,
    unknown: (flag: string) => { unknown = flag; },
  }) as unknown as (Flags & { _: (string | number)[] }) | undefined;
  if (unknown !== undefined || parsed === undefined) throw unknownOptionError(spec, argv, String(unknown));
  if (parsed.help) {
    process.stdout.write(helpText(spec));
    throw new FinishedEarly();
  }
  if (parsed.version) {
    process.stdout.write(`${versionLine(spec.name)}\n`);
    throw new FinishedEarly();
  }
  for (const option of spec.options) {
    if (option.value && parsed[option.name] === '') {
      throw new UsageError(`--${option.name} needs a value (${option.value}); see ${spec.name} --help`);
    }
    // mri turns a repeated string flag into an array; the last one wins, as in most tools.
    const value = parsed[option.name] as unknown;
    if (Array.isArray(value)) parsed[option.name] = String(value[value.length - 1]);
  }
  if (parsed.ipv4 && parsed.ipv6) throw new UsageError('-4 and -6 exclude each other: pick one');
  return { flags: parsed, positionals: [...parsed._.map(String), ...message] };
}

/**
 * Cuts argv where the message starts: after spec.messageAfter positionals. Walks it as mri will:
 * an option that takes a value consumes the next word unless that word starts with "-"; any other
 * flag consumes nothing that stays out of the positionals. A "--" right after PORT is dropped, so
 * that `tcp-client HOST PORT -- -5 degrees` still sends "-5 degrees".
 */
export function splitOffMessage(spec: ProgramSpec, argv: string[]): { head: string[]; message: string[] } {
  const wanted = spec.messageAfter;
  if (wanted === undefined) return { head: argv, message: [] };
  const cut = (at: number) => {
    const message = argv.slice(at);
    return { head: argv.slice(0, at), message: message[0] === '--' ? message.slice(1) : message };
  };
  let positionals = 0;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      // From here mri takes every word as a positional: the message starts after the rest of HOST PORT.
      const at = i + 1 + (wanted - positionals);
      return at < argv.length ? cut(at) : { head: argv, message: [] };
    }
    if (arg.startsWith('-') && arg.length > 1) {
      if (takesValue(spec, arg) && i + 1 < argv.length && !argv[i + 1].startsWith('-')) i++;
      continue;
    }
    if (++positionals === wanted) return cut(i + 1);
  }
  return { head: argv, message: [] };
}

/** Whether `--name`, `-x` or the last letter of `-abx` is an option that takes a value. */
function takesValue(spec: ProgramSpec, arg: string): boolean {
  if (arg.includes('=')) return false;
  const option = arg.startsWith('--')
    ? spec.options.find((o) => o.name === arg.slice(2))
    : spec.options.find((o) => o.short === arg.slice(-1));
  return Boolean(option?.value);
}

/** An unknown option, with the fix when we can guess it: a typo, or a port given as an option. */
function unknownOptionError(spec: ProgramSpec, argv: string[], flag: string): UsageError {
  // mri reads "-1" as flags; a user who typed it meant a number.
  if (/^-\d/.test(flag)) return new UsageError(`unknown option ${flag}: negative numbers are never valid here`);
  const name = flag.replace(/^-+/, '');
  if (name === 'port' || name === 'p') {
    const at = argv.indexOf(flag);
    const value = at === -1 ? argv.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1) : argv[at + 1];
    const instead = value !== undefined && /^\d+$/.test(value) ? ` (write ${value} without ${flag})` : '';
    return new UsageError(`there is no ${flag} option: the port is a plain argument${instead}; usage: ${spec.name} ${spec.usage[0].split(/ {2,}/)[0]}`);
  }
  const near = flag.startsWith('--') ? closestName(name, spec.options.map((o) => o.name)) : undefined;
  if (near) return new UsageError(`unknown option ${flag}: did you mean --${near}?`);
  return new UsageError(`unknown option ${flag}; see ${spec.name} --help`);
}

/**
 * `--flag=VALUE` where mri goes wrong: a switch given a value (`--verbose=1` became --verbose plus
 * an argument "1", which tcp-server then took for its port), and an empty value (`--grace=`
 * took the NEXT argument as the value). Both are refused here.
 */
function refuseMisusedEquals(spec: ProgramSpec, argv: string[]): void {
  for (const arg of argv) {
    if (arg === '--') return;
    const m = /^--?([^=]+)=(.*)$/s.exec(arg);
    const option = m && spec.options.find((o) => o.name === m[1] || o.short === m[1]);
    if (!m || !option) continue; // not of that form, or unknown: mri reports those
    if (!option.value) throw new UsageError(`--${option.name} takes no value (got "${arg}"); see ${spec.name} --help`);
    if (m[2] === '') throw new UsageError(`--${option.name} needs a value (${option.value}); see ${spec.name} --help`);
  }
}

function versionLine(program: string): string {
  return `${program} ${SOCKLAB_VERSION} (node ${process.versions.node}, ${process.platform}-${process.arch})`;
}

function helpText(spec: ProgramSpec): string {
  const flagColumn = (o: OptionSpec) =>
    `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.value ? ` ${o.value}` : ''}`;
  const width = Math.max(...spec.options.map((o) => flagColumn(o).length)) + 2;
  return [
    `${spec.name}: ${spec.summary}`,
    '',
    'Usage:',
    ...spec.usage.map((u) => `  ${spec.name} ${u}`),
    '',
    'Options:',
    ...spec.options.map((o) => `  ${flagColumn(o).padEnd(width)}${o.help}`),
    '',
    'Examples:',
    ...spec.examples.flatMap(([command, what]) => [`  ${command}`, `      ${what}`]),
    '',
    ...(spec.notes ? [spec.notes.trimEnd(), ''] : []),
    exitCodesHelp(spec.exitCodes),
    '',
  ].join('\n');
}

/** A port from the command line: a whole number 1-65535 (0 would mean "any port" to the kernel). */
export function parsePort(text: string): number {
  refuseHostColonPort(text);
  // 012000 and +12000 read as 12000 to Number(), but not to every tool (inet_aton takes 012 as
  // octal): refused, with the port they most likely mean.
  if (/^(\+\d+|0\d+)$/.test(text)) {
    const meant = Number(text);
    throw new UsageError(`bad port "${text}": write it with no leading zero or sign` +
      (meant >= 1 && meant <= 65535 ? `: ${meant}` : ' (a port is a whole number from 1 to 65535)'));
  }
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new UsageError(`bad port "${text}": a port is a whole number from 1 to 65535`);
  }
  return Number(text);
}

/** A duration in seconds from a flag, e.g. `--timeout 2.5`. */
export function parseSeconds(flags: Flags, name: string, fallback: number): number {
  const text = flags[name];
  if (text === undefined) return fallback;
  const value = Number(text);
  // Timers count whole milliseconds: below 0.001 s one would be 0, which node reads as "never".
  if (typeof text !== 'string' || !/^\d*\.?\d+$/.test(text) || !(value >= 0.001) || value > 86400) {
    throw new UsageError(`bad --${name} "${text}": give a number of seconds from 0.001 to 86400, e.g. --${name} 2.5`);
  }
  return value;
}

/**
 * A whole number from a flag within [min, max], e.g. `--retries 3`. `orElse` names what else
 * the caller accepts, for the error message (e.g. "auto for one per core").
 */
export function parseCount(flags: Flags, name: string, fallback: number, min: number, max: number, orElse?: string): number {
  const text = flags[name];
  if (text === undefined) return fallback;
  if (typeof text !== 'string' || !/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`bad --${name} "${text}": give a whole number from ${min} to ${max}${orElse ? `, or ${orElse}` : ''}`);
  }
  return Number(text);
}

/** The IP family -4/-6 ask for, or 0 for either. */
export function familyOf(flags: Flags): 0 | 4 | 6 {
  return flags.ipv4 ? 4 : flags.ipv6 ? 6 : 0;
}

/** A client's `HOST PORT [MESSAGE...]`: the two it cannot do without, checked. */
export function clientAddressFromArgs(program: string, positionals: string[], family: 0 | 4 | 6): { host: string; port: number } {
  const [hostText, portText] = positionals;
  const host = hostText === undefined ? undefined : checkHost(hostText);
  if (host === undefined || portText === undefined) {
    throw new UsageError(`missing ${host === undefined ? 'HOST and PORT' : 'PORT'}; usage: ${program} HOST PORT [MESSAGE...]`);
  }
  if (/^\d+$/.test(host) && !/^\d+$/.test(portText)) {
    throw new UsageError(`HOST comes first: ${program} ${portText} ${host}`);
  }
  return { host: checkFamily(host, family), port: portAfterIPv6(host, portText) };
}

/**
 * PORT, read after an IPv6 HOST that may have swallowed it: `::1:8080 hi` is the address ::1:8080
 * and the port "hi", though ::1 port 8080 is what a URL-minded user meant.
 */
function portAfterIPv6(host: string, portText: string): number {
  try {
    return parsePort(portText);
  } catch (err) {
    const m = /^(.*):(\d{1,5})$/.exec(host);
    if (!(err instanceof UsageError) || isIP(host) !== 6 || !m || isIP(m[1]) !== 6) throw err;
    throw new UsageError(`${err.message}; if ${host} was meant as ${m[1]} port ${m[2]}, give HOST and PORT as two words: ${m[1]} ${m[2]}`);
  }
}

/** -4 or -6 with an IP address of the other family cannot be honoured: say so instead of ignoring it. */
export function checkFamily(host: string, family: 0 | 4 | 6): string {
  const literal = isIP(host);
  if (family !== 0 && literal !== 0 && literal !== family) {
    throw new UsageError(`-${family} asks for IPv${family}, but ${host} is an IPv${literal} address: drop -${family} or give an IPv${family} address`);
  }
  return host;
}

/**
 * A host given on the command line: anything non-empty that cannot be mistaken for a port or
 * flag. An IPv6 address may come in brackets, as in a URL (`[::1]`); they are dropped.
 */
export function checkHost(host: string): string {
  const bracketed = /^\[(.*)\]$/s.exec(host);
  if (bracketed && isIP(bracketed[1]) === 6) return bracketed[1];
  refuseHostColonPort(host);
  if (host === '' || /\s/.test(host)) throw new UsageError(`bad host "${host}": give a name or an IP address`);
  // DNS names end at 253 characters; past that getaddrinfo fails with a bare EINVAL.
  if (host.length > 253) throw new UsageError(`bad host "${host.slice(0, 40)}..." (${host.length} characters): a host name has at most 253`);
  return host;
}

/**
 * `127.0.0.1:12000`, `[::1]:12000` or `::1:12000` (no address: its last group has five digits)
 * in one word, as a URL would have it: say to split it.
 */
function refuseHostColonPort(text: string): void {
  if (isIP(text) !== 0) return;
  const m = /^\[([^\]]*)\]:(\d+)$/.exec(text) ?? /^([^:\[\]]+):(\d+)$/.exec(text) ?? ipv6ColonPort(text);
  if (m) throw new UsageError(`give HOST and PORT as two words: ${m[1]} ${m[2]}`);
}

function ipv6ColonPort(text: string): RegExpExecArray | null {
  const m = /^(.*):(\d+)$/.exec(text);
  return m && isIP(m[1]) === 6 ? m : null;
}
