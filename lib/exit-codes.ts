// Exit codes from BSD sysexits.h, so that scripts (and students) can tell failures apart.
export const EXIT = {
  ok: 0,
  usage: 64, // EX_USAGE: bad command line
  dataErr: 65, // EX_DATAERR: the message cannot be sent as asked (e.g. a datagram over 65507 bytes)
  noHost: 68, // EX_NOHOST: the host name does not resolve
  unavailable: 69, // EX_UNAVAILABLE: refused, unreachable, nothing listens there
  software: 70, // EX_SOFTWARE: a bug in socklab
  osErr: 71, // EX_OSERR: cannot bind (address in use, not an address of this host)
  ioErr: 74, // EX_IOERR: connection reset or broken while transferring
  tempFail: 75, // EX_TEMPFAIL: timed out (connect, reply); trying again later may work
  protocol: 76, // EX_PROTOCOL: the peer answered, but not as the protocol says (e.g. a short reply)
  noPerm: 77, // EX_NOPERM: not allowed (ports below 1024 need root or CAP_NET_BIND_SERVICE)
  interrupted: 130, // 128 + SIGINT: what a shell reports for Ctrl-C
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** What each exit code means, as --help says it. */
const MEANINGS: [code: number, meaning: string][] = [
  [0, 'success'],
  [22, 'the server answered 4xx or 5xx, with --fail (as curl -f)'],
  [64, 'usage error (bad option, host or port)'],
  [65, 'message too large to send'],
  [68, 'unknown host name'],
  [69, 'refused or unreachable: nothing listens there'],
  [70, 'internal error (a bug: please report it)'],
  [71, 'cannot bind: address in use or not on this host'],
  [74, 'connection reset or broken mid-transfer, or stdout closed'],
  [75, 'timed out (connect, reply, --max-time)'],
  [76, 'the peer broke the protocol (e.g. sent back fewer or more bytes than it got)'],
  [77, 'permission denied (ports below 1024 need root; a firewall rule)'],
  [130, 'interrupted with Ctrl-C at the prompt'],
];

/** The sysexits codes every program may share: the table for a program that does not list its own. */
const ALL_SHARED = [0, 64, 65, 68, 69, 70, 71, 74, 75, 76, 77];

/** A code a program can return: shared (its meaning from MEANINGS) or with the program's own meaning. */
export type ExitCodeEntry = number | readonly [code: number, meaning: string];

/** The exit-code table a --help ends with: only `codes`, the ones that program can return. */
export function exitCodesHelp(codes: readonly ExitCodeEntry[] = ALL_SHARED): string {
  const shared = new Map(MEANINGS);
  const lines = codes
    .map((entry) => (typeof entry === 'number' ? [entry, shared.get(entry) ?? ''] as const : entry))
    .sort(([a], [b]) => a - b)
    .map(([code, meaning]) => `  ${String(code).padEnd(4)}${meaning}`);
  return ['Exit codes:', ...lines].join('\n');
}

/** The exit-code table of a program that does not list its own codes. */
export const EXIT_CODES_HELP = exitCodesHelp();
