// How every socklab program runs and ends: its main function, its failures as one line and a
// sysexits code (never a stack trace), output flushed before exit, and Ctrl-C/SIGTERM.
import { EXIT, type ExitCode } from './exit-codes.ts';
import { escapeForPeople } from './terminal-text.ts';

/** A mistake on the command line: printed as one line, exit 64. */
export class UsageError extends Error {}

/** --help or --version has been answered: runProgram exits 0 without running the program. */
export class FinishedEarly extends Error {}

/** A failure with a sentence for the user and the exit code that classifies it. */
export class ExplainedError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * Runs a program's main function: a UsageError or ExplainedError becomes one line on stderr and
 * its exit code; anything else is a bug, reported in one line with exit 70 (stack only with -v).
 */
export function runProgram(program: string, main: () => Promise<void> | void, { server = false } = {}): void {
  whenOutputFails(program, server);
  let failed = false;
  const fail = (err: unknown) => {
    if (failed) return; // a second error while exiting adds nothing the first did not say
    failed = true;
    if (err instanceof FinishedEarly) return exitWhenFlushed(EXIT.ok);
    if (err instanceof UsageError) return exitWith(program, err.message, EXIT.usage);
    if (err instanceof ExplainedError) return exitWith(program, err.message, err.exitCode);
    const detail = process.argv.includes('-v') || process.argv.includes('--verbose')
      ? (err as Error)?.stack ?? String(err)
      : String((err as Error)?.message ?? err);
    exitWith(program, `internal error (please report it): ${detail}`, EXIT.software);
  };
  process.on('uncaughtException', fail);
  try {
    Promise.resolve(main()).catch(fail);
  } catch (err) {
    fail(err);
  }
}

/**
 * Whoever reads our stdout may go away (`| head`, a closed terminal), the disk under a log file
 * may fill (`> log` on a full disk, `> /dev/full`: ENOSPC), a terminal may be gone (EIO): writes
 * then fail, which would surface as an "internal error". A client has nothing left to do: it exits
 * 74, quietly for a closed pipe (as `head` expects), else saying why. A server says so once and
 * goes on serving without its log, as nginx does. stderr failing cannot be reported anywhere: it
 * is ignored, and the exit code still tells.
 */
function whenOutputFails(program: string, server: boolean): void {
  let said = false;
  process.stdout.on('error', (err: Error & { code?: string }) => {
    const why = STDOUT_FAILURES[err.code ?? ''];
    if (why === undefined) throw err;
    if (!server) {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') process.stderr.write(`${program}: ${why}\n`);
      return exitWhenFlushed(EXIT.ioErr);
    }
    if (!said) process.stderr.write(`${program}: ${why}; no more log lines, still serving\n`);
    said = true;
  });
  process.stderr.on('error', () => {});
}

/** The failures of a write to stdout that are not socklab's bug, in a user's words. */
const STDOUT_FAILURES: Record<string, string> = {
  EPIPE: 'stdout was closed',
  ERR_STREAM_DESTROYED: 'stdout was closed',
  ENOSPC: 'cannot write to stdout (no space left on its device: ENOSPC)',
  EDQUOT: 'cannot write to stdout (the disk quota is used up: EDQUOT)',
  EFBIG: 'cannot write to stdout (its file reached the size limit: EFBIG)',
  EIO: 'cannot write to stdout (input/output error: EIO; was its terminal closed?)',
};

/** One line on stderr, then exit with `code` once it (and any data before it) is out. */
function exitWith(program: string, message: string, code: ExitCode): void {
  // An argument or a server's bytes inside the sentence must not split it or steer the terminal.
  process.stderr.write(`${program}: ${escapeForPeople(message)}\n`);
  exitWhenFlushed(code);
}

/**
 * Exits once everything written to stdout and stderr has reached the kernel. A bare
 * process.exit() drops what is still queued for a busy pipe: `tcp-client < 10MB | cat` lost
 * its last 300 KB that way. A write's callback runs after all earlier writes are flushed.
 */
export function exitWhenFlushed(code: ExitCode): void {
  let pending = 2;
  const exitWhenBothDone = () => { if (--pending === 0) process.exit(code); };
  process.stdout.write('', exitWhenBothDone);
  process.stderr.write('', exitWhenBothDone);
}

/**
 * Ctrl-C and SIGTERM for a server: the first calls `stop`, which stops accepting and lets what is
 * in flight finish; a second calls `again`, which by default exits at once (with what was written
 * flushed), as a user who presses Ctrl-C twice expects. (web-server --workers: the supervisor
 * relays it to its workers, which themselves leave it to the supervisor.)
 */
export function onStopSignals(stop: (signal: 'SIGINT' | 'SIGTERM') => void,
  { again = () => exitWhenFlushed(EXIT.ok) }: { again?: () => void } = {}): void {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return again();
      stopping = true;
      stop(signal);
    });
  }
}

/**
 * How a stop line names its cause: "Ctrl-C (SIGINT)" on a fresh line at a terminal (where the
 * keypress left "^C" at the cursor), else the signal's or the reason's own name.
 */
export function stopCause(why: string): string {
  if (why !== 'SIGINT') return why;
  return `${process.stdout.isTTY ? '\n' : ''}Ctrl-C (SIGINT)`;
}
