'use strict';
// Where librets's sources, header and static library are, for scripts/build.js and binding.gyp.
// In this repository: the repository root (two levels up). In a packed tarball: the copy that
// `npm pack` put in rust/ (scripts/vendor-rust.js). RETS_SOURCE_DIR overrides both (another rets
// checkout).
const fs = require('node:fs');
const path = require('node:path');

const here = path.resolve(__dirname, '..');

function rustRoot() {
  if (process.env.RETS_SOURCE_DIR) return path.resolve(process.env.RETS_SOURCE_DIR);
  const vendored = path.join(here, 'rust');
  if (fs.existsSync(path.join(vendored, 'Cargo.toml'))) return vendored;
  const repo = path.resolve(here, '..', '..');
  if (fs.existsSync(path.join(repo, 'ffi', 'Cargo.toml'))) return repo;
  throw new Error('rets: cannot find the Rust sources of librets (neither rust/ nor ../../ffi)');
}

function targetDir(root) {
  const env = process.env.CARGO_TARGET_DIR;
  return env ? path.resolve(root, env) : path.join(root, 'target');
}

module.exports = { rustRoot, targetDir };

if (require.main === module) {
  const root = rustRoot();
  const what = process.argv[2];
  if (what === 'include') console.log(path.join(root, 'include'));
  else if (what === 'lib') console.log(path.join(targetDir(root), 'release', 'librets.a'));
  else if (what === 'root') console.log(root);
  else {
    console.error('usage: node scripts/paths.js include|lib|root');
    process.exit(2);
  }
}
