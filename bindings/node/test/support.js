'use strict';
const assert = require('node:assert/strict');
const { RetsError } = require('..');

let counter = 0;
/** A table name no other test uses (named tables share one registry per process). */
function uniqueName(prefix = 't') {
  counter += 1;
  return `${prefix}_${process.pid}_${counter}`;
}

/** Asserts that fn throws a RetsError with `code`, and a message from the engine. */
function throwsRets(fn, code) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof RetsError, `expected a RetsError, got ${err && err.name}: ${err && err.message}`);
    assert.equal(err.code, code);
    assert.equal(typeof err.status, 'number');
    assert.ok(err.message.length > 0);
    return true;
  });
}

module.exports = { uniqueName, throwsRets };

// Owners made by a test are closed after it (Node 20 has no `using` declarations).
const test = require('node:test');
const opened = [];
function owned(owner) {
  opened.push(owner);
  return owner;
}
test.afterEach(() => {
  for (const o of opened.splice(0)) o.close();
});
module.exports.owned = owned;
