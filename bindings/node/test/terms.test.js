'use strict';
// The type mapping: JavaScript values <-> terms, through msgpackr.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Owner } = require('..');

function roundTrip(value) {
  const owner = new Owner();
  try {
    const t = owner.newTable('terms', { type: 'set' });
    t.insert(['k', value]);
    return t.lookup('k')[0][1];
  } finally {
    owner.close();
  }
}

test('scalars, binaries, arrays and maps round-trip', () => {
  for (const v of ['', 'héllo', 0, -1, 255, -129, 65536, 0xffffffff, -0x80000000, 1.5, -0.25, true, false, null]) {
    assert.deepEqual(roundTrip(v), v, `value ${String(v)}`);
  }
  assert.deepEqual(roundTrip(Buffer.from([1, 2, 3])), Buffer.from([1, 2, 3]));
  assert.deepEqual(roundTrip(new Uint8Array([9])), Buffer.from([9]));
  assert.deepEqual(roundTrip([1, ['a', [null]]]), [1, ['a', [null]]]);
  assert.deepEqual(roundTrip({ name: 'Alice', tier: 'pro', n: { deep: [1] } }), { name: 'Alice', tier: 'pro', n: { deep: [1] } });
  assert.deepEqual(roundTrip(new Map([['a', 1]])), { a: 1 });
  assert.deepEqual(roundTrip(Object.assign(Object.create(null), { x: 1 })), { x: 1 });
});

test('safe integers are integers, other numbers floats; BigInt is a 64-bit integer', () => {
  const owner = new Owner();
  const t = owner.newTable('ints', { type: 'set' });
  // An integer beyond 32 bits is stored as an integer, so the key 2**40 and the BigInt 2n**40n
  // are one key (msgpackr alone would write 2**40 as a float).
  t.insert([2 ** 40, 'a']);
  assert.deepEqual(t.lookup(2n ** 40n), [[2 ** 40, 'a']]);
  assert.equal(t.member(2 ** 40), true);
  // Integers are not floats in a set: 1 and 1.5 differ, and integer values come back as numbers.
  t.insert([Number.MAX_SAFE_INTEGER, 'max']);
  assert.deepEqual(t.lookup(Number.MAX_SAFE_INTEGER), [[Number.MAX_SAFE_INTEGER, 'max']]);
  t.insert([Number.MIN_SAFE_INTEGER, 'min']);
  assert.deepEqual(t.lookup(Number.MIN_SAFE_INTEGER), [[Number.MIN_SAFE_INTEGER, 'min']]);
  // Beyond the safe range, integers come back as BigInt, both signs, up to uint64.
  t.insert(['big', 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, 2n ** 53n + 1n, 2n ** 53n]);
  assert.deepEqual(t.lookup('big'), [['big', 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, 2n ** 53n + 1n, 2 ** 53]]);
  // 2 ** 53 reads back as a Number and writes back as the same integer.
  t.insert([2 ** 53, 'edge']);
  assert.deepEqual(t.lookup(2n ** 53n), [[2 ** 53, 'edge']]);
  // A small BigInt is the same integer as the Number.
  t.insert([7n, 'seven']);
  assert.deepEqual(t.lookup(7), [[7, 'seven']]);
  // Floats stay floats (1.5, NaN, Infinity); 2 ** 60 is not a safe integer: a float key.
  t.insert(['f', 1.5, Infinity, -Infinity, -0.5]);
  assert.deepEqual(t.lookup('f'), [['f', 1.5, Infinity, -Infinity, -0.5]]);
  t.insert([2 ** 60, 'float key']);
  assert.deepEqual(t.lookup(2 ** 60), [[2 ** 60, 'float key']]);
  assert.deepEqual(t.lookup(2n ** 60n), [], 'the integer 2^60 is another key than the float 2^60');
  owner.close();
});

test('keys of every type find their objects', () => {
  const owner = new Owner();
  const t = owner.newTable('keys');
  const keys = ['s', 12, -3, 2.5, true, null, Buffer.from('bin'), [1, 'a'], { m: 1 }, 2n ** 62n];
  keys.forEach((k, i) => t.insert([k, i]));
  keys.forEach((k, i) => assert.deepEqual(t.lookup(k)[0][1], i, `key ${String(k)}`));
  assert.equal(t.size, keys.length);
  // A long string key (the addon builds strings up to 255 bytes on the stack, longer ones apart).
  const long = 'x'.repeat(10000);
  t.insert([long, 'long']);
  assert.deepEqual(t.lookup(long), [[long, 'long']]);
  owner.close();
});

test('an unencodable value is a TypeError naming it and where it is', () => {
  const owner = new Owner();
  const t = owner.newTable('bad');
  const cases = [
    [['k', undefined], /undefined \(at object\[1\]\)/],
    [['k', () => 1], /function/],
    [['k', Symbol('s')], /Symbol\(s\)/],
    [['k', new Date(0)], /a Date \(at object\[1\]\)/],
    [['k', { a: [1, new Set()] }], /a Set \(at object\[1\]\.a\[1\]\)/],
    [['k', 2n ** 64n], /outside the 64-bit range/],
    [['k', NaN], /NaN \(at object\[1\]\)/],
    [['k', -(2n ** 63n) - 1n], /outside the 64-bit range/],
  ];
  for (const [obj, re] of cases) {
    assert.throws(() => t.insert(obj), (e) => e instanceof TypeError && re.test(e.message), String(re));
  }
  assert.throws(() => t.lookup(undefined), /cannot store undefined \(at key\)/);
  assert.throws(() => t.insert('not an array'), /an object is an array/);
  assert.equal(t.size, 0, 'nothing was stored');
  owner.close();
});

test('a large result (beyond the shared result area) decodes', () => {
  const owner = new Owner();
  const t = owner.newTable('large');
  const blob = Buffer.alloc(200 * 1024, 7);
  t.insert(['k', blob]);
  assert.deepEqual(t.lookup('k'), [['k', blob]]);
  // and a small result after it still uses the area correctly
  t.insert(['s', 1]);
  assert.deepEqual(t.lookup('s'), [['s', 1]]);
  owner.close();
});

test('binaries read back are copies, not views of a reused buffer', () => {
  const owner = new Owner();
  const t = owner.newTable('bins');
  t.insert(['a', Buffer.from('aaaa')]);
  t.insert(['b', Buffer.from('bbbb')]);
  const a = t.lookup('a')[0][1];
  t.lookup('b');
  assert.equal(a.toString(), 'aaaa');
  owner.close();
});
