// lib/log-lines.ts: the servers' log lines, gathered for one turn of the event loop and written
// in whole-line chunks, in-process.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { importSource } from './helpers.mjs';

const { createLineLog, wholeLineChunks } = await importSource('lib/log-lines.ts');

const chunks = suite('wholeLineChunks: at most LIMIT characters a write, never a line cut in two');
for (const [lines, limit, expected] of [
  [[], 10, []],
  [['a'], 10, ['a\n']],
  [['abc', 'def'], 8, ['abc\ndef\n']],
  [['abc', 'def'], 7, ['abc\n', 'def\n']],
  [['abcdefghijkl', 'x'], 5, ['abcdefghijkl\n', 'x\n']],
  [['a', 'b', 'c', 'd'], 4, ['a\nb\n', 'c\nd\n']],
]) {
  chunks(`${JSON.stringify(lines)} in ${limit}`, () => assert.equal(wholeLineChunks(lines, limit), expected));
}
chunks('4096-character writes for a thousand 80-character lines, every line whole', () => {
  const lines = Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(4, '0')} ${'x'.repeat(74)}`);
  const written = wholeLineChunks(lines, 4096);
  assert.ok(written.every((c) => c.length <= 4096 && c.endsWith('\n')));
  assert.is(written.join(''), lines.map((l) => `${l}\n`).join(''));
});
chunks.run();

const log = suite('createLineLog: one write per turn, flush at once');
log('lines added in one turn go out together at its end; flush writes what is pending now', async () => {
  const writes = [];
  const lines = createLineLog((chunk) => writes.push(chunk));
  lines.add('one');
  lines.add('two');
  assert.equal(writes, []);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(writes, ['one\ntwo\n']);
  lines.add('three');
  lines.flush();
  assert.equal(writes, ['one\ntwo\n', 'three\n']);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(writes, ['one\ntwo\n', 'three\n']);
});
log.run();
