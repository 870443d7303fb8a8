'use strict';
// Every Table method, its results and its error paths.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Owner, Table, whereis, codes, version } = require('..');
const { uniqueName, throwsRets, owned } = require('./support.js');

test('version is librets\'s', () => {
  assert.match(version(), /^\d+\.\d+\.\d+/);
});

test('insert, insertMany, insertNew, insertNewMany, lookup, member', () => {
  const owner = owned(new Owner());
  const t = owner.newTable('t');
  t.insert(['a', 1]);
  t.insert(['a', 2]); // a set replaces
  assert.deepEqual(t.lookup('a'), [['a', 2]]);
  assert.deepEqual(t.lookup('zz'), []);
  t.insertMany([['b', 1], ['c', 1], ['b', 3]]); // the last of one key wins
  assert.deepEqual(t.lookup('b'), [['b', 3]]);
  assert.equal(t.insertNew(['a', 9]), false);
  assert.equal(t.insertNew(['d', 9]), true);
  assert.equal(t.insertNewMany([['e', 1], ['a', 1]]), false);
  assert.equal(t.member('e'), false, 'insertNewMany inserts all or nothing');
  assert.equal(t.insertNewMany([['e', 1], ['f', 1]]), true);
  assert.equal(t.member('f'), true);
  assert.equal(t.member('nope'), false);
  assert.equal(t.size, 6);
});

test('bag and duplicate_bag keep several objects per key, in insertion order', () => {
  const owner = owned(new Owner());
  const bag = owner.newTable('bag', { type: 'bag' });
  bag.insert(['k', 1]);
  bag.insert(['k', 2]);
  bag.insert(['k', 1]);
  assert.deepEqual(bag.lookup('k'), [['k', 1], ['k', 2]]);
  assert.deepEqual(bag.lookupElement('k', 2), [1, 2]);
  bag.deleteObject(['k', 1]);
  assert.deepEqual(bag.lookup('k'), [['k', 2]]);
  const dup = owner.newTable('dup', { type: 'duplicate_bag' });
  dup.insertMany([['k', 1], ['k', 1]]);
  assert.deepEqual(dup.lookup('k'), [['k', 1], ['k', 1]]);
  throwsRets(() => bag.updateCounter('k', 1), codes.WRONG_TABLE_TYPE);
  throwsRets(() => bag.updateElement('k', [2, 0]), codes.WRONG_TABLE_TYPE);
});

test('lookupElement with and without default; take; delete; deleteObject; deleteAllObjects', () => {
  const owner = owned(new Owner());
  const t = owner.newTable('t');
  t.insert(['a', 'x', 'y']);
  assert.equal(t.lookupElement('a', 3), 'y');
  assert.equal(t.lookupElement('a', 1), 'a');
  throwsRets(() => t.lookupElement('missing', 2), codes.KEY_NOT_FOUND);
  assert.deepEqual(t.lookupElement('missing', 2, { none: true }), { none: true });
  throwsRets(() => t.lookupElement('a', 4), codes.BAD_POSITION);
  assert.deepEqual(t.take('a'), [['a', 'x', 'y']]);
  assert.deepEqual(t.take('a'), []);
  t.insert(['b', 1]);
  t.delete('b');
  t.delete('never there');
  assert.equal(t.member('b'), false);
  t.insert(['c', 1]);
  t.deleteObject(['c', 2]); // not this exact object
  assert.equal(t.member('c'), true);
  t.deleteObject(['c', 1]);
  assert.equal(t.member('c'), false);
  t.insertMany([['d', 1], ['e', 1]]);
  t.deleteAllObjects();
  assert.equal(t.size, 0);
  assert.throws(() => t.delete(), /deleteTable\(\) deletes the table/);
});

test('updateCounter in all its forms', () => {
  const owner = owned(new Owner());
  const t = owner.newTable('c');
  t.insert(['k', 10, 0]);
  assert.equal(t.updateCounter('k', 1), 11);
  assert.equal(t.updateCounter('k', -20), -9);
  assert.equal(t.updateCounter('k', 5n), -4);
  assert.equal(t.updateCounter('k', [3, 2]), 2);
  assert.deepEqual(t.updateCounter('k', [[2, 1], [3, 1]]), [-3, 3]);
  // threshold: incr >= 0 and above 5 -> set to 0
  assert.equal(t.updateCounter('k', [3, 10, 5, 0]), 0);
  // with a default object when the key is absent (ETS update_counter/4)
  assert.equal(t.updateCounter('/api/search', 1, ['', 0]), 1);
  assert.equal(t.updateCounter('/api/search', 1, ['', 0]), 2);
  assert.deepEqual(t.lookup('/api/search'), [['/api/search', 2]]);
  assert.deepEqual(t.updateCounter('n', [[2, 3]], ['', 0]), [3]);
  throwsRets(() => t.updateCounter('absent', 1), codes.KEY_NOT_FOUND);
  t.insert(['s', 'not a number']);
  throwsRets(() => t.updateCounter('s', 1), codes.NOT_AN_INTEGER);
  throwsRets(() => t.updateCounter('k', [1, 1]), codes.KEY_POSITION);
  throwsRets(() => t.updateCounter('k', [9, 1]), codes.BAD_POSITION);
  t.insert(['max', 2n ** 63n - 1n]);
  throwsRets(() => t.updateCounter('max', 1), codes.OVERFLOW);
  assert.equal(t.updateCounter('max', 0), 2n ** 63n - 1n, 'a result beyond 2^53 is a BigInt');
  // a keypos-2 table counts just after its key
  const t2 = owner.newTable('c2', { keypos: 2 });
  t2.insert(['x', 'key', 5]);
  assert.equal(t2.updateCounter('key', 1), 6);
  assert.equal(t2.updateCounter('new', 1, ['x', '', 100]), 101);
});

test('updateElement in all its forms', () => {
  const owner = owned(new Owner());
  const t = owner.newTable('e');
  t.insert(['k', 'a', 'b']);
  assert.equal(t.updateElement('k', [2, 'A']), true);
  assert.equal(t.updateElement('k', [[2, 'x'], [3, { y: 1 }], [2, 'last wins']]), true);
  assert.deepEqual(t.lookup('k'), [['k', 'last wins', { y: 1 }]]);
  assert.equal(t.updateElement('absent', [2, 1]), false);
  assert.equal(t.updateElement('absent', [2, 1], ['', 0]), true);
  assert.deepEqual(t.lookup('absent'), [['absent', 1]]);
  throwsRets(() => t.updateElement('k', [1, 'new key']), codes.KEY_POSITION);
  throwsRets(() => t.updateElement('k', [9, 1]), codes.BAD_POSITION);
});

test('first/next/last/prev and their lookup forms on an ordered_set', () => {
  const owner = owned(new Owner());
  const t = owner.newTable('o', { type: 'ordered_set' });
  assert.equal(t.first(), undefined);
  assert.equal(t.last(), undefined);
  assert.equal(t.firstLookup(), undefined);
  for (const k of [3, 1, 2]) t.insert([k, `v${k}`]);
  assert.equal(t.first(), 1);
  assert.equal(t.next(1), 2);
  assert.equal(t.next(3), undefined);
  assert.equal(t.last(), 3);
  assert.equal(t.prev(3), 2);
  assert.equal(t.prev(1), undefined);
  assert.equal(t.next(1.5), 2, 'next of a key not in the table');
  assert.deepEqual(t.firstLookup(), [1, [[1, 'v1']]]);
  assert.deepEqual(t.nextLookup(1), [2, [[2, 'v2']]]);
  assert.deepEqual(t.lastLookup(), [3, [[3, 'v3']]]);
  assert.deepEqual(t.prevLookup(3), [2, [[2, 'v2']]]);
  assert.equal(t.nextLookup(3), undefined);
  assert.equal(t.prevLookup(1), undefined);
  assert.deepEqual(t.tab2list(), [[1, 'v1'], [2, 'v2'], [3, 'v3']]);
  assert.deepEqual([...t], [[1, 'v1'], [2, 'v2'], [3, 'v3']]);
  assert.deepEqual(t.foldl((o, acc) => [...acc, o[0]], []), [1, 2, 3]);
  assert.deepEqual(t.foldr((o, acc) => [...acc, o[0]], []), [3, 2, 1]);
});

test('iteration and folds on a set, with composite keys', () => {
  const owner = owned(new Owner());
  const t = owner.newTable('s');
  const want = new Set();
  for (let i = 0; i < 100; i++) {
    t.insert([[i, 'k'], i]);
    want.add(i);
  }
  const seen = [...t].map((o) => o[1]).sort((a, b) => a - b);
  assert.deepEqual(seen, [...want]);
  assert.equal(t.foldl((o, n) => n + o[1], 0), 4950);
  // traversal keys feed next()
  let k = t.first();
  let count = 0;
  while (k !== undefined) {
    count++;
    k = t.next(k);
  }
  assert.equal(count, 100);
});

test('iteration is safe under writes during it (no key twice, no failure)', () => {
  const owner = owned(new Owner());
  const t = owner.newTable('w', { access: 'public' });
  for (let i = 0; i < 1000; i++) t.insert([i, 0]);
  const seen = new Set();
  for (const [k] of t) {
    assert.ok(!seen.has(k), `key ${k} seen twice`);
    seen.add(k);
    t.delete(k + 1); // deletes keys not visited yet
    t.insert([k + 100000, 1]); // and inserts others
  }
  assert.ok(seen.size > 0);
});

test('a fold callback may stop it with an exception, which propagates', () => {
  const owner = owned(new Owner());
  const t = owner.newTable('f');
  t.insertMany([[1], [2], [3]]);
  let calls = 0;
  assert.throws(() => t.foldl(() => {
    calls++;
    throw new Error('stop here');
  }, 0), /stop here/);
  assert.equal(calls, 1);
  // and may call rets, even on this table
  assert.equal(t.foldl((o, n) => n + t.lookup(o[0]).length, 0), 3);
});

test('info, size, memory, name, rename', () => {
  const owner = owned(new Owner());
  const other = owned(new Owner());
  const name = uniqueName('info');
  const t = owner.newTable(name, {
    type: 'ordered_set', access: 'public', keypos: 2, named: true,
    readConcurrency: true, writeConcurrency: true, heir: other, heirData: 'gift',
  });
  t.insert(['v', 'k']);
  const i = t.info();
  assert.equal(typeof i.id, 'bigint');
  assert.deepEqual({ ...i, id: 0n, memory: 0 }, {
    id: 0n, name, type: 'ordered_set', access: 'public', keypos: 2, named: true,
    owner: owner.id, heir: other.id, size: 1, memory: 0, readConcurrency: true, writeConcurrency: true,
  });
  assert.ok(i.memory > 0 && t.memory > 0);
  assert.equal(t.size, 1);
  assert.equal(t.name, name);
  const renamed = uniqueName('renamed');
  t.rename(renamed);
  assert.equal(t.name, renamed);
  assert.equal(whereis(name), undefined);
  assert.ok(whereis(renamed) instanceof Table);
  const taken = uniqueName('taken');
  owner.newTable(taken, { named: true });
  throwsRets(() => t.rename(taken), codes.NAME_TAKEN);
  throwsRets(() => owner.newTable(taken, { named: true }), codes.NAME_TAKEN);
  // an unnamed table's name may be shared
  owner.newTable('same');
  owner.newTable('same');
  assert.equal(owner.newTable('x').info().heir, null);
});

test('deleteTable: every handle then fails with ERR_RETS_NO_TABLE, the name is free', () => {
  const owner = new Owner();
  const name = uniqueName('del');
  const t = owner.newTable(name, { named: true, access: 'public' });
  const other = whereis(name);
  t.deleteTable();
  throwsRets(() => other.lookup('a'), codes.NO_TABLE);
  throwsRets(() => t.insert(['a']), codes.NO_TABLE);
  throwsRets(() => t.info(), codes.NO_TABLE);
  throwsRets(() => t.size, codes.NO_TABLE);
  throwsRets(() => t.deleteTable(), codes.NO_TABLE);
  assert.equal(whereis(name), undefined);
  owner.newTable(name, { named: true });
  throwsRets(() => other.lookup('a'), codes.NO_TABLE);
  owner.close();
});

test('access modes: protected, public, private; handles act for their owner', () => {
  const owner = owned(new Owner());
  const stranger = owned(new Owner());
  const pName = uniqueName('prot');
  const prot = owner.newTable(pName, { named: true });
  prot.insert(['k', 1]);
  const anon = whereis(pName);
  assert.deepEqual(anon.lookup('k'), [['k', 1]]);
  throwsRets(() => anon.insert(['k', 2]), codes.ACCESS_DENIED);
  throwsRets(() => anon.deleteTable(), codes.ACCESS_DENIED);
  throwsRets(() => anon.rename('zz'), codes.ACCESS_DENIED);
  throwsRets(() => stranger.whereis(pName).updateCounter('k', 1), codes.ACCESS_DENIED);
  // a handle acting for the owner may write
  owner.whereis(pName).insert(['k', 3]);
  anon.withOwner(owner).insert(['k', 4]);
  assert.deepEqual(prot.lookup('k'), [['k', 4]]);

  const priv = owner.newTable(uniqueName('priv'), { named: true, access: 'private' });
  priv.insert(['k', 1]);
  throwsRets(() => whereis(priv.name).lookup('k'), codes.ACCESS_DENIED);
  throwsRets(() => [...whereis(priv.name)], codes.ACCESS_DENIED);
  throwsRets(() => whereis(priv.name).tab2list(), codes.ACCESS_DENIED);
  throwsRets(() => whereis(priv.name).foldl(() => 0, 0), codes.ACCESS_DENIED);
  assert.equal(whereis(priv.name).size, 1, 'info is for anyone');

  const pub = owner.newTable(uniqueName('pub'), { named: true, access: 'public' });
  whereis(pub.name).insert(['k', 1]);
  assert.deepEqual(pub.lookup('k'), [['k', 1]]);
  assert.equal(whereis('no such table ' + uniqueName()), undefined);
  assert.equal(owner.whereis('no such table ' + uniqueName()), undefined);
});

test('engine errors on objects: too short for keypos, not an array, limits', () => {
  const owner = owned(new Owner());
  const t = owner.newTable('k3', { keypos: 3 });
  throwsRets(() => t.insert(['a', 'b']), codes.OBJECT_TOO_SHORT);
  throwsRets(() => t.insertMany([['a', 'b', 'c'], ['short']]), codes.OBJECT_TOO_SHORT);
  assert.equal(t.size, 0, 'a failed list insert inserts nothing');
  let deep = [];
  for (let i = 0; i < 200; i++) deep = [deep];
  throwsRets(() => t.insert(['a', 'b', deep]), codes.LIMIT_EXCEEDED);
  throwsRets(() => t.lookup('x'.repeat(70 * 1024)), codes.LIMIT_EXCEEDED);
});
