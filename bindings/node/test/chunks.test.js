'use strict';
// Iteration in chunks (rets_table_next_chunk): [Symbol.iterator], items() and keys() with a
// start key, `after`, `reverse` and every chunk size; bad options; writes during iteration; a
// deleted table.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Owner } = require('..');
const { throwsRets, owned } = require('./support.js');

const TYPES = ['set', 'ordered_set', 'bag', 'duplicate_bag'];

/** The objects by firstLookup/nextLookup: the order chunks must give. */
function stepped(t) {
  const out = [];
  let step = t.firstLookup();
  while (step !== undefined) {
    out.push(...step[1]);
    step = t.nextLookup(step[0]);
  }
  return out;
}

for (const type of TYPES) {
  test(`${type}: iteration matches first/next for every chunk size`, () => {
    const t = owned(new Owner()).newTable('c', { type });
    assert.deepEqual([...t], []);
    assert.deepEqual([...t.keys()], []);
    const objects = [];
    for (let i = 0; i < 300; i++) objects.push([(i * 7) % 101, i]);
    t.insertMany(objects);
    const want = stepped(t);
    assert.deepEqual([...t], want);
    for (const chunk of [1, 2, 3, 64, 100, 101, 10000]) {
      assert.deepEqual([...t.items({ chunk })], want, `chunk ${chunk}`);
      const keys = [...t.keys({ chunk })];
      assert.equal(keys.length, 101);
      assert.equal(new Set(keys).size, 101);
      assert.deepEqual(keys, [...new Set(want.map((o) => o[0]))]);
    }
  });
}

test('ordered_set: start, after and reverse', () => {
  const t = owned(new Owner()).newTable('o', { type: 'ordered_set' });
  for (let i = 0; i < 20; i++) t.insert([i * 10, String(i)]);
  assert.deepEqual([...t.items({ start: 50 })].slice(0, 2), [[50, '5'], [60, '6']]);
  assert.deepEqual([...t.keys({ start: 50, after: true })].slice(0, 2), [60, 70]);
  assert.deepEqual([...t.keys({ start: 155, chunk: 2 })], [160, 170, 180, 190]);
  assert.deepEqual([...t.keys({ reverse: true })].slice(0, 3), [190, 180, 170]);
  assert.deepEqual([...t.keys({ start: 30, reverse: true, chunk: 1 })], [30, 20, 10, 0]);
  assert.deepEqual([...t.keys({ start: 35, reverse: true })], [30, 20, 10, 0]);
  assert.deepEqual([...t.keys({ start: 1000 })], []);
  assert.deepEqual([...t.keys({ start: 185.5 })], [190]);
  // A start of another type: strings sort after numbers.
  assert.deepEqual([...t.keys({ start: 'a' })], []);
  t.insert([null, 'nil']);
  assert.ok([...t.keys({ start: null })].includes(null), 'null is a key, not "no start"');
});

test('a hash table from a key', () => {
  const t = owned(new Owner()).newTable('h');
  for (let i = 0; i < 50; i++) t.insert([i, i]);
  const order = [...t.keys()];
  const at = order.indexOf(17);
  assert.deepEqual([...t.keys({ start: 17 })], order.slice(at));
  assert.deepEqual([...t.keys({ start: 17, after: true })], order.slice(at + 1));
  assert.deepEqual([...t.keys({ start: 17, reverse: true })], order.slice(at));
});

test('bad options throw at once', () => {
  const t = owned(new Owner()).newTable('b');
  t.insert([1, 1]);
  for (const chunk of [0, -1, 1.5, '3', Infinity]) {
    assert.throws(() => t.items({ chunk }), TypeError, `chunk ${chunk}`);
  }
  assert.deepEqual([...t], [[1, 1]]);
});

test('the loop may write the table', () => {
  const t = owned(new Owner()).newTable('w', { type: 'ordered_set' });
  for (let i = 0; i < 200; i++) t.insert([i, 0]);
  const seen = [];
  for (const [k] of t.items({ chunk: 16 })) {
    seen.push(k);
    if (k < 50) t.delete(k + 100); // far ahead: gone before its chunk is read
    t.insert([1000 + (k % 2), 1]);
  }
  assert.equal(new Set(seen).size, seen.length, 'no key twice');
  const want = [];
  for (let i = 0; i < 100; i++) want.push(i);
  for (let i = 150; i < 200; i++) want.push(i);
  want.push(1000, 1001);
  assert.deepEqual(seen, want);
});

test('a deleted table ends iteration with ERR_RETS_NO_TABLE', () => {
  const t = owned(new Owner()).newTable('d', { type: 'ordered_set' });
  for (let i = 0; i < 100; i++) t.insert([i, i]);
  const it = t.items({ chunk: 10 });
  for (let i = 0; i < 10; i++) assert.deepEqual(it.next().value, [i, i]);
  t.deleteTable();
  throwsRets(() => it.next(), 'ERR_RETS_NO_TABLE');
  throwsRets(() => [...t], 'ERR_RETS_NO_TABLE');
});
