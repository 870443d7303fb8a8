'use strict';
// `npm pack` (prepack): copies librets's Rust sources (the core and ffi crates, the header, the
// workspace manifest and lockfile) into rust/, so that the tarball installs anywhere as a
// published package would: its install script builds librets from rust/ with cargo.
// `--clean` (postpack) removes the copy.
const fs = require('node:fs');
const path = require('node:path');

const here = path.resolve(__dirname, '..');
const repo = path.resolve(here, '..', '..');
const dest = path.join(here, 'rust');

fs.rmSync(dest, { recursive: true, force: true });
if (process.argv.includes('--clean')) process.exit(0);

if (!fs.existsSync(path.join(repo, 'ffi', 'Cargo.toml'))) {
  console.error('rets: npm pack must run in bindings/node of the rets repository');
  process.exit(1);
}
const skip = new Set(['target', 'proptest-regressions']);
for (const item of ['Cargo.toml', 'Cargo.lock', 'LICENSE', 'include', 'core', 'ffi']) {
  fs.cpSync(path.join(repo, item), path.join(dest, item), {
    recursive: true,
    filter: (src) => !skip.has(path.basename(src)),
  });
}
console.log(`rets: vendored librets's sources into ${path.relative(process.cwd(), dest) || dest}`);
