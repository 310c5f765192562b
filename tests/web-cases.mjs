// web-server's request targets and Range headers, written once for every tier: the unit tables
// (web-server-unit.test.mjs) check every row against the pure function in-process; the end-to-end
// test (web-server.test.mjs) sends one row per class to the binary, the row marked `e2e` with the
// status the test site answers; the fuzz (stress/http-fuzz.mjs) mutates them all.

/**
 * [target, what parseTarget makes of it (segments, trailing slash, query) or the status it
 * refuses it with, its class, and for one row per class { e2e: status on makeSite's site }].
 */
export const TARGET_CASES = [
  ['/', { segments: [], trailingSlash: true }, 'plain path', { e2e: 200 }],
  ['/hello.txt', { segments: ['hello.txt'] }, 'plain path'],
  ['/sub/deeper/data.json', { segments: ['sub', 'deeper', 'data.json'] }, 'plain path'],
  ['/sub/', { segments: ['sub'], trailingSlash: true }, 'plain path'],
  ['//etc/passwd', { segments: ['etc', 'passwd'] }, 'empty segments stay under the root', { e2e: 404 }],
  ['/./hello.txt', { segments: ['hello.txt'] }, 'dot segments resolved inside the root', { e2e: 200 }],
  ['/sub/../hello.txt', { segments: ['hello.txt'] }, 'dot segments resolved inside the root'],
  ['/name%20with%20spaces', { segments: ['name with spaces'] }, 'percent-decoded once'],
  ['/%252e%252e', { segments: ['%2e%2e'] }, 'percent-decoded once', { e2e: 200 }], // makeSite has a file named %2e%2e
  ['/%252e%252e/secret.txt', { segments: ['%2e%2e', 'secret.txt'] }, 'percent-decoded once'],
  ['/hello.txt?../../secret', { segments: ['hello.txt'], query: '?../../secret' }, 'the query never reaches the file system', { e2e: 200 }],
  ['/sub?x=1#frag', { segments: ['sub'], query: '?x=1' }, 'the query never reaches the file system'],
  ['/a#frag?no', { segments: ['a'], query: '' }, 'the query never reaches the file system'],
  ['http://anything.example/hello.txt', { segments: ['hello.txt'] }, 'absolute-form: only its path counts', { e2e: 200 }],
  ['http://anything.example', { segments: [], trailingSlash: true }, 'absolute-form: only its path counts'],
  ['HTTP://X.EXAMPLE:8080/a', { segments: ['a'] }, 'absolute-form: only its path counts'],
  ['/../secret.txt', 403, 'dot-dot above the root', { e2e: 403 }],
  ['/../../../../etc/passwd', 403, 'dot-dot above the root'],
  ['/sub/../../secret.txt', 403, 'dot-dot above the root'],
  ['///../secret.txt', 403, 'dot-dot above the root'],
  ['/%2e%2e/secret.txt', 403, 'dot-dot spelled with %2e', { e2e: 403 }],
  ['/%2E%2E/%2E%2E/etc/passwd', 403, 'dot-dot spelled with %2e'],
  ['/.%2e/secret.txt', 403, 'dot-dot spelled with %2e'],
  ['/..%2fsecret.txt', 403, 'a slash spelled %2f', { e2e: 403 }],
  ['/sub%2f..%2f..%2fsecret.txt', 403, 'a slash spelled %2f'],
  ['/%2e%2e%2F%2e%2e%2Fetc%2Fpasswd', 403, 'a slash spelled %2f'],
  ['http://evil.example/../secret.txt', 403, 'dot-dot in absolute-form', { e2e: 403 }],
  ['http://127.0.0.1/%2e%2e/%2e%2e/etc/passwd', 403, 'dot-dot in absolute-form'],
  ['/..\\secret.txt', 400, 'a backslash', { e2e: 400 }],
  ['/%5c..%5csecret.txt', 400, 'a backslash'],
  ['/sub\\..\\..\\secret.txt', 400, 'a backslash'],
  ['/hello.txt%00.png', 400, 'NUL or another control character'],
  ['/%00', 400, 'NUL or another control character'],
  ['/%0d%0aSet-Cookie:%20x=1', 400, 'NUL or another control character', { e2e: 400 }], // and no header injected
  ['/sub%0d%0aLocation:%20http://evil.example/', 400, 'NUL or another control character'],
  ['/%7f', 400, 'NUL or another control character'],
  ['/a\0b', 400, 'NUL or another control character'],
  ['/%zz', 400, 'bad percent-encoding', { e2e: 400 }],
  ['/%', 400, 'bad percent-encoding'],
  ['/%c3%28', 400, 'bad percent-encoding'],
  ['file:///etc/passwd', 400, 'not a path', { e2e: 400 }],
  ['*', 400, 'not a path'],
  ['etc/passwd', 400, 'not a path'],
  ['http://user@host.example/hello.txt', 400, 'a bad host in absolute-form', { e2e: 400 }],
  ['http://host.example:99999/hello.txt', 400, 'a bad host in absolute-form'],
  ['http://[::1/hello.txt', 400, 'a bad host in absolute-form'],
];

/**
 * [Range header, what parseByteRanges makes of it for a 100-byte file (the ranges, 'unsatisfiable'
 * or undefined for "ignore it, send the whole file"), its class, and for one row per class
 * { e2e: true }: sent for makeSite's 100-byte /hundred.bin, where the answer follows from the
 * parse alone (one range: 206; 'unsatisfiable': 416; undefined: 200 with the whole file); several
 * ranges cost more than 100 bytes as parts, so their row goes to the multipart test instead].
 */
const R = (...pairs) => pairs.map(([start, end]) => ({ start, end }));
export const RANGE_CASES = [
  ['bytes=0-9', R([0, 9]), 'a-b', { e2e: true }],
  ['bytes=0-0', R([0, 0]), 'a-b'],
  ['bytes=99-99', R([99, 99]), 'a-b'],
  ['bytes=50-1000', R([50, 99]), 'a-b past the end, clipped', { e2e: true }],
  ['bytes=90-', R([90, 99]), 'a-', { e2e: true }],
  ['bytes=0-', R([0, 99]), 'a-'],
  ['bytes=-10', R([90, 99]), '-n', { e2e: true }],
  ['bytes=-100', R([0, 99]), '-n'],
  ['bytes=-1000', R([0, 99]), '-n'],
  ['BYTES=0-9', R([0, 9]), 'the unit in any case, spaces around', { e2e: true }],
  ['Bytes=0-9', R([0, 9]), 'the unit in any case, spaces around'],
  ['bytes= 0-9 ', R([0, 9]), 'the unit in any case, spaces around'],
  ['bytes=0-9,20-29', R([0, 9], [20, 29]), 'several', { e2e: 'multipart' }], // web-server.test.mjs's multipart test, on a larger file
  ['bytes=0-9, 20-29', R([0, 9], [20, 29]), 'several'],
  ['bytes=20-29,0-9', R([20, 29], [0, 9]), 'several'], // merging sorts them later, not the parser
  ['bytes=0-9,,20-29', R([0, 9], [20, 29]), 'several'],
  ['bytes=0-9,200-300', R([0, 9]), 'several, an unsatisfiable one dropped', { e2e: true }],
  ['bytes=-0,0-9', R([0, 9]), 'several, an unsatisfiable one dropped'],
  ['bytes=100-', 'unsatisfiable', 'unsatisfiable', { e2e: true }],
  ['bytes=100-200', 'unsatisfiable', 'unsatisfiable'],
  ['bytes=-0', 'unsatisfiable', 'unsatisfiable'],
  ['bytes=200-300,500-', 'unsatisfiable', 'unsatisfiable'],
  ['bytes=9-0', undefined, 'not valid: ignored', { e2e: true }],
  ['bytes=0-9,9-0', undefined, 'not valid: ignored'],
  ['bytes=-', undefined, 'not valid: ignored'],
  ['bytes=', undefined, 'not valid: ignored'],
  ['bytes=,', undefined, 'not valid: ignored'],
  ['bytes=a-b', undefined, 'not valid: ignored'],
  ['bytes=alpha', undefined, 'not valid: ignored'],
  ['bytes=0-9;20-29', undefined, 'not valid: ignored'],
  ['bytes=--5', undefined, 'not valid: ignored'],
  ['bytes=5', undefined, 'not valid: ignored'],
  ['bytes=1-2-3', undefined, 'not valid: ignored'],
  ['bytes=0x10-20', undefined, 'not valid: ignored'],
  ['bytes=+1-2', undefined, 'not valid: ignored'],
  ['bytes 0-9', undefined, 'not valid: ignored'],
  ['lines=0-9', undefined, 'another unit: ignored', { e2e: true }],
  ['=0-9', undefined, 'not valid: ignored'],
  ['', undefined, 'not valid: ignored'],
  [`bytes=${Array.from({ length: 101 }, (_, i) => `${i}-${i}`).join(',')}`, undefined, 'more than 100 ranges: ignored', { e2e: true }],
  [`bytes=${Array.from({ length: 100 }, (_, i) => `${i}-${i}`).join(',')}`, R(...Array.from({ length: 100 }, (_, i) => [i, i])), 'several'],
];
