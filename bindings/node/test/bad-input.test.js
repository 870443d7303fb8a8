'use strict';
// Bad input for every argument: a clear TypeError (or the engine's RetsError), never a crash,
// and nothing lost.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Owner, Table, whereis } = require('..');
const { native } = require('../lib/native.js');
const { owned } = require('./support.js');

const NOT_TERMS = [undefined, () => 0, Symbol('x'), new Date(0), new Set(), NaN, 2n ** 64n];
const NOT_POSITIONS = [0, -1, 1.5, '2', null, undefined, 2n, NaN, Infinity];
const NOT_OBJECTS = ['x', 1, null, undefined, { 0: 'k' }, new Map()];

function table() {
  const owner = owned(new Owner());
  const t = owner.newTable('bad-input', { access: 'public' });
  t.insert(['k', 1, 'x']);
  return t;
}

test('keys: every method refuses an unencodable key with a TypeError and changes nothing', () => {
  const t = table();
  for (const key of NOT_TERMS) {
    for (const call of [
      () => t.lookup(key), () => t.member(key), () => t.take(key), () => t.delete(key),
      () => t.lookupElement(key, 2), () => t.updateCounter(key, 1), () => t.updateElement(key, [2, 0]),
      () => t.next(key), () => t.prev(key), () => t.nextLookup(key), () => t.prevLookup(key),
    ]) {
      assert.throws(call, TypeError, `key ${String(key)} in ${call}`);
    }
  }
  assert.deepEqual(t.tab2list(), [['k', 1, 'x']]);
});

test('objects: insert, insertNew, deleteObject and defaults refuse non-arrays and bad terms', () => {
  const t = table();
  for (const obj of [...NOT_OBJECTS, ['k', undefined], [NaN]]) {
    assert.throws(() => t.insert(obj), TypeError);
    assert.throws(() => t.insertNew(obj), TypeError);
    assert.throws(() => t.deleteObject(obj), TypeError);
    assert.throws(() => t.insertMany([['ok', 1], obj]), TypeError);
    assert.throws(() => t.insertNewMany([obj]), TypeError);
    assert.throws(() => t.updateCounter('new', 1, obj), TypeError);
    assert.throws(() => t.updateElement('new', [2, 1], obj), TypeError);
  }
  assert.throws(() => t.insertMany('not a list'), TypeError);
  assert.throws(() => t.insertNewMany({}), TypeError);
  assert.equal(t.member('ok'), false, 'a refused list inserts nothing');
  assert.deepEqual(t.tab2list(), [['k', 1, 'x']]);
});

test('positions, increments and update shapes', () => {
  const t = table();
  for (const pos of NOT_POSITIONS) {
    assert.throws(() => t.lookupElement('k', pos), TypeError, `pos ${String(pos)}`);
    assert.throws(() => t.updateCounter('k', [pos, 1]), TypeError);
    assert.throws(() => t.updateElement('k', [pos, 1]), TypeError);
  }
  for (const incr of [1.5, '1', null, undefined, NaN, 2 ** 60, 2n ** 63n, {}]) {
    assert.throws(() => t.updateCounter('k', incr), TypeError, `incr ${String(incr)}`);
    assert.throws(() => t.updateCounter('k', [2, incr]), TypeError);
    assert.throws(() => t.updateCounter('k', [2, 1, incr, 0]), TypeError);
  }
  assert.throws(() => t.updateCounter('k', [2]), TypeError);
  assert.throws(() => t.updateCounter('k', [2, 1, 3]), TypeError);
  assert.throws(() => t.updateCounter('k', [[2, 1], 'x']), TypeError);
  assert.throws(() => t.updateElement('k', 'x'), TypeError);
  assert.throws(() => t.updateElement('k', [2]), TypeError);
  assert.throws(() => t.updateElement('k', [[2, 1], [3]]), TypeError);
  assert.throws(() => t.updateElement('k', [2, undefined]), TypeError);
  assert.deepEqual(t.tab2list(), [['k', 1, 'x']]);
});

test('names, options, owners, callbacks', () => {
  const owner = owned(new Owner());
  for (const name of [1, null, undefined, {}, Symbol('n')]) {
    assert.throws(() => owner.newTable(name), TypeError);
    assert.throws(() => whereis(name), TypeError);
    assert.throws(() => owner.whereis(name), TypeError);
  }
  assert.throws(() => owner.newTable('with\0nul'), /NUL/);
  assert.throws(() => owner.newTable('t', { type: 'hash' }), /type must be one of/);
  assert.throws(() => owner.newTable('t', { access: 'open' }), /access must be one of/);
  assert.throws(() => owner.newTable('t', { keypos: 0 }), /keypos/);
  assert.throws(() => owner.newTable('t', { named: 'yes' }), /named must be a boolean/);
  assert.throws(() => owner.newTable('t', { heir: {} }), /heir must be an Owner/);
  assert.throws(() => owner.newTable('t', { colour: 'red' }), /unknown table option "colour"/);
  assert.throws(() => owner.newTable('t', 'set'), /options must be an object/);
  const t = owner.newTable('t');
  assert.throws(() => t.rename(5), TypeError);
  assert.throws(() => t.giveAway({}), /must be an Owner/);
  assert.throws(() => t.giveAway(null), /must be an Owner/);
  assert.throws(() => t.setHeir('me'), /must be an Owner/);
  assert.throws(() => t.giveAway(owned(new Owner()), Symbol('g')), TypeError);
  assert.throws(() => t.withOwner(5), /must be an Owner/);
  assert.throws(() => t.foldl('not a function', 0), /fold takes a function/);
  assert.throws(() => t.foldr(null, 0), /fold takes a function/);
  assert.throws(() => new Table(), /tables are made by/);
  assert.equal(t.info().owner, owner.id, 'the table is still its owner\'s');
});

test('the native layer refuses wrong handles with a TypeError, never a crash', () => {
  const owner = owned(new Owner());
  const t = owner.newTable('n');
  const ownerHandle = owner._native;
  const tableHandle = t._native;
  assert.throws(() => native.lookup({}, 'k'), /a table handle was expected/);
  assert.throws(() => native.lookup(ownerHandle, 'k'), /a table handle was expected/);
  assert.throws(() => native.ownerClose(tableHandle), /an owner handle was expected/);
  assert.throws(() => native.insert(tableHandle, 'not bytes'), /encoded term bytes/);
  assert.throws(() => native.insert(tableHandle, new Uint16Array(2)), /encoded term bytes/);
  assert.throws(() => native.lookup(tableHandle), /too few arguments/);
  assert.throws(() => native.lookupElement(tableHandle, 'k', -1, null), /non-negative integer/);
  assert.throws(() => native.updateCounter(tableHandle, 'k', 1.5), /an integer/);
  assert.throws(() => native.updateCounter(tableHandle, 'k', 2n ** 64n), /64-bit signed range/);
  // malformed MessagePack reaches the engine, which refuses it
  assert.throws(() => native.insert(tableHandle, Buffer.from([0xc1])), { code: 'ERR_RETS_MALFORMED' });
  assert.throws(() => native.insert(tableHandle, Buffer.from([0x92, 0x01])), { code: 'ERR_RETS_MALFORMED' });
  assert.throws(() => native.lookup(tableHandle, Buffer.from([0xd4, 0, 0])), { code: 'ERR_RETS_UNSUPPORTED_TERM' });
  assert.throws(() => native.insert(tableHandle, Buffer.from([0x01])), { code: 'ERR_RETS_NOT_AN_ARRAY' });
  assert.equal(t.size, 0);
});
