// The handout's `input('Input lowercase sentence')`, shared by tcp-client and udp-client: one
// line typed at a terminal. The terminal stays in its ordinary (cooked) mode, so the kernel's
// line editing works, Ctrl-D on an empty line is end of input, and Ctrl-C is a real SIGINT.
import { createInterface } from 'node:readline';
import { EXIT } from './exit-codes.ts';

const PROMPT = 'Input lowercase sentence: ';

/**
 * The sentence typed, or undefined when the student pressed Ctrl-D instead (no sentence: the
 * caller sends nothing). Ctrl-C ends the program with 130, as a shell reports an interrupt; both
 * first end the line the terminal was on, so the shell's prompt starts on a fresh one.
 */
export function askSentence(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const interrupted = () => {
      process.stderr.write('\n');
      process.exit(EXIT.interrupted);
    };
    // Listening before the prompt shows: a Ctrl-C pressed the moment it appears is ours too.
    process.once('SIGINT', interrupted);
    process.stderr.write(PROMPT);
    const terminal = createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity });
    let sentence: string | undefined;
    terminal.once('line', (line) => {
      sentence = line;
      terminal.close();
    });
    terminal.once('close', () => {
      process.off('SIGINT', interrupted);
      // The input is done with: a paused stdin keeps no handle open, so the program can end.
      process.stdin.pause();
      if (sentence === undefined) process.stderr.write('\n');
      resolve(sentence);
    });
  });
}
