// SIGTERM against web-server while 50 clients are downloading an 8 MiB file and reading slowly:
// every download must complete byte for byte, a new connection after the signal is refused, and
// the server exits 0 (within --grace).
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { freePort, patternBytes } from '../helpers.mjs';
import { makeSite, parseResponse } from '../web-helpers.mjs';
import { MiB, check, sleep, startServer, within } from './lib.mjs';

const DOWNLOADS = 50;

export default [{
  name: `web-server: SIGTERM during ${DOWNLOADS} downloads of 8 MiB: each completes, then exit 0; new clients refused`,
  timeoutMs: 60_000,
  async run({ log, seed }) {
    const site = makeSite();
    try {
      const file = patternBytes(8 * MiB, seed);
      writeFileSync(join(site.www, 'eight.bin'), file);
      const port = await freePort();
      const server = await startServer('web-server', ['-q', '127.0.0.1', String(port), '-d', site.www, '--grace', '30']);
      let started = 0;
      // Each client reads nothing until the signal, so its download is still in flight then.
      const resumes = [];
      const downloads = Array.from({ length: DOWNLOADS }, () => new Promise((resolve) => {
        const chunks = [];
        const s = net.connect(port, '127.0.0.1', () => s.write('GET /eight.bin HTTP/1.1\r\nHost: x\r\n\r\n'));
        s.once('data', () => { started += 1; s.pause(); });
        resumes.push(() => s.resume());
        s.on('data', (d) => chunks.push(d));
        s.on('error', (err) => resolve({ ok: false, why: err.code }));
        s.on('close', () => {
          const r = parseResponse(Buffer.concat(chunks));
          resolve({ ok: r.status === 200 && r.body.equals(file), why: `${r.status}, ${r.body.length} bytes` });
        });
      }));
      while (started < DOWNLOADS) await sleep(20);
      server.child.kill('SIGTERM');
      await sleep(300);
      const late = await new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve('accepted'); });
        s.on('error', (err) => resolve(err.code));
      });
      for (const resume of resumes) resume();
      const results = await within(40_000, 'the downloads after SIGTERM', Promise.all(downloads));
      const exit = await within(35_000, 'the server exiting after SIGTERM', server.exit);
      const complete = results.filter((r) => r.ok).length;
      log(`SIGTERM with ${DOWNLOADS} downloads of 8 MiB in flight: ${complete} completed byte for byte` +
        `${complete < DOWNLOADS ? ` (first other: ${results.find((r) => !r.ok).why})` : ''}; a new client after the signal: ${late}; ` +
        `exit ${exit.code ?? exit.signal}`);
      check(complete === DOWNLOADS, `${DOWNLOADS - complete} downloads did not complete after SIGTERM`);
      check(late === 'ECONNREFUSED', `a client connecting after SIGTERM got "${late}", not refused`);
      check(exit.code === 0, `exit ${exit.code ?? exit.signal} after SIGTERM, not 0`);
    } finally {
      site.cleanup();
    }
  },
}];
