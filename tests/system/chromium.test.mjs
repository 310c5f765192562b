// web-server against a real browser: headless Chromium loads a page with its image and stylesheet
// (a script in the page proves both arrived and decoded) and shows the 404 page. A system test:
// Chromium is a large Debian package that `npm test` does not assume.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testNeeding } from '../helpers.mjs';
import { makeSite, runTool, startWebServer } from '../web-helpers.mjs';

let site;
let server;
const chromiumTest = testNeeding(test, ['chromium', 'chromium']);

test.before(async () => {
  site = makeSite();
  server = await startWebServer(['-d', site.www]);
});

test.after(async () => {
  await server?.stop();
  site?.cleanup();
});

async function chromiumDom(url) {
  const profile = mkdtempSync(join(tmpdir(), 'socklab-chromium-'));
  try {
    const r = await runTool('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`,
      '--virtual-time-budget=5000', '--dump-dom', url], { timeoutMs: 30000 });
    assert.is(r.code, 0, `chromium failed: ${r.error?.message} ${r.stderr.slice(-500)}`);
    return r.stdout.toString();
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

chromiumTest('headless Chromium shows the page with its image and stylesheet loaded; a missing path shows the 404 page', async () => {
  const before = server.output.stdout.length;
  const dom = await chromiumDom(`${server.url}/page.html`);
  // The page's script writes the image's decoded size and the stylesheet's colour into the title.
  assert.match(dom, /<title>image 7x5 color rgb\(1, 2, 3\)<\/title>/);
  assert.match(dom, /Styled text/);
  const log = server.output.stdout.slice(before);
  assert.match(log, /"GET \/style\.css HTTP\/1\.1" 200 /);
  assert.match(log, /"GET \/picture\.png HTTP\/1\.1" 200 /);
  const missing = await chromiumDom(`${server.url}/no-such-page.html`);
  assert.match(missing, /<h1>404 Not Found<\/h1>/);
  assert.match(missing, /\/no-such-page\.html/);
});

test.run();
