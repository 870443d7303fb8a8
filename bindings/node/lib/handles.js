'use strict';
// The native handle behind an Owner or a Table, for the modules of this package only.
const HANDLE = Symbol('rets.handle');
const CONSTRUCT = Symbol('rets.construct');
module.exports = { HANDLE, CONSTRUCT };
