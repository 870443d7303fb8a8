'use strict';
// rets: ETS (Erlang Term Storage) for Node, over the C ABI (include/rets.h) through an N-API
// addon (C, node_api.h, N-API version 8). See README.md and index.d.ts.
const { native } = require('./lib/native.js');
const { RetsError, codes } = require('./lib/errors.js');
const { Owner, whereis } = require('./lib/owner.js');
const { Table } = require('./lib/table.js');
const { Pin } = require('./lib/pin.js');
const { MatchSpec, matchSpec } = require('./lib/query.js');
const { Atom, atom } = require('./lib/terms.js');
const { ManualClock, tabfileInfo } = require('./lib/cache.js');

/** The version of librets this addon is linked with. */
function version() {
  return native.version();
}

module.exports = {
  Owner, Table, Pin, RetsError, codes, whereis, version, Atom, atom, MatchSpec, matchSpec, ManualClock, tabfileInfo,
};
