'use strict';
// Table#pin(): a pinned reader (rets_pin_*) answers as the table does, sees writes, ends its
// reads when the table is deleted or the pin closed, and follows the table's access rules.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Owner, Pin, codes } = require('..');
const { throwsRets, owned } = require('./support.js');

for (const type of ['set', 'ordered_set', 'bag', 'duplicate_bag']) {
  test(`pinned reads answer as the table's on a ${type}`, () => {
    const owner = owned(new Owner());
    const t = owner.newTable('p', { type });
    for (let i = 0; i < 50; i++) {
      t.insert([i, i * 2, 'x']);
      if (type.endsWith('bag') && i % 3 === 0) t.insert([i, i * 2 + 1, 'y']);
    }
    t.insert(['str', { a: [1, 2] }]);
    const pin = t.pin();
    assert.ok(pin instanceof Pin);
    for (const k of [-1, ...Array.from({ length: 52 }, (_, i) => i), 'str', 'absent']) {
      assert.deepEqual(pin.lookup(k), t.lookup(k));
      assert.equal(pin.member(k), t.member(k));
      assert.deepEqual(pin.lookupElement(k, 1, null), t.lookupElement(k, 1, null));
      if (t.member(k)) assert.deepEqual(pin.lookupElement(k, 2), t.lookupElement(k, 2));
    }
    throwsRets(() => pin.lookupElement('absent', 2), codes.KEY_NOT_FOUND);
    throwsRets(() => pin.lookupElement(1, 9), codes.BAD_POSITION);
    assert.throws(() => pin.lookupElement(1, 0), TypeError);
    pin.close();
  });
}

test('a pin sees writes made while it is open, and refreshes', () => {
  const owner = owned(new Owner());
  const t = owner.newTable('w');
  const pin = t.pin();
  assert.equal(pin.member('k'), false);
  t.insert(['k', 1]);
  assert.deepEqual(pin.lookup('k'), [['k', 1]]);
  for (let v = 0; v < 1000; v++) t.insert(['k', v]);
  pin.refresh();
  assert.equal(pin.lookupElement('k', 2), 999);
  pin[Symbol.dispose]();
});

test('a closed pin refuses reads; closing twice is harmless', () => {
  const owner = owned(new Owner());
  const t = owner.newTable('c');
  t.insert([1, 1]);
  const pin = t.pin();
  pin.close();
  pin.close();
  assert.throws(() => pin.lookup(1), /closed/);
  assert.throws(() => pin.member(1), /closed/);
  assert.throws(() => pin.refresh(), /closed/);
  assert.deepEqual(t.lookup(1), [[1, 1]]);
});

test('deleting the table ends a pin\'s reads', () => {
  const owner = owned(new Owner());
  const t = owner.newTable('d');
  t.insert([1, 1]);
  const pin = t.pin();
  assert.equal(pin.member(1), true);
  t.deleteTable();
  throwsRets(() => pin.lookup(1), codes.NO_TABLE);
  throwsRets(() => pin.member(1), codes.NO_TABLE);
  throwsRets(() => t.pin(), codes.NO_TABLE);
  pin.close();
});

test('access is checked when pinning', () => {
  const a = owned(new Owner());
  const b = owned(new Owner());
  const t = a.newTable('priv', { access: 'private' });
  t.insert([1, 1]);
  throwsRets(() => t.withOwner(b).pin(), codes.ACCESS_DENIED);
  const pin = t.pin();
  assert.equal(pin.member(1), true);
  pin.close();
});

test('pins dropped without close() read until their finalizers free them', () => {
  const owner = owned(new Owner());
  const t = owner.newTable('gc');
  t.insert([1, 1]);
  // Left to the garbage collector: each pin's finalizer calls rets_pin_free.
  for (let i = 0; i < 1000; i++) assert.equal(t.pin().member(1), true);
  t.insert([1, 2]);
  assert.deepEqual(t.pin().lookup(1), [[1, 2]]);
});
