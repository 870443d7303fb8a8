'use strict';
// `npm install`'s build: librets from source with cargo (release, the workspace's own target
// directory), then the addon with node-gyp against the headers of the running Node (never
// downloaded: --nodedir points at this Node's installation).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { rustRoot } = require('./paths.js');

const here = path.resolve(__dirname, '..');

function run(cmd, args, cwd) {
  console.log(`rets: ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd, stdio: 'inherit' });
}

function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  // /usr/bin/node -> /usr, whose include/node holds node_api.h (Debian's nodejs, or a tarball).
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) return prefix;
  throw new Error(`rets: no Node headers in ${prefix}/include/node; set npm_config_nodedir`);
}

function nodeGyp() {
  // npm runs install scripts with npm_config_node_gyp set to the node-gyp it ships.
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules',
      'node-gyp', 'bin', 'node-gyp.js'),
  ];
  const found = candidates.find((c) => c && fs.existsSync(c));
  if (!found) throw new Error('rets: cannot find node-gyp (it ships with npm)');
  return found;
}

try {
  run('cargo', ['build', '--release', '-p', 'rets-ffi'], rustRoot());
  run(process.execPath, [nodeGyp(), 'rebuild', `--nodedir=${nodeDir()}`], here);
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
