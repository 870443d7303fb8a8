'use strict';
// The cache layer (lifetimes, bounds, statistics, a manual clock) and table files.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Owner, ManualClock, tabfileInfo, codes } = require('..');
const { throwsRets, owned, uniqueName } = require('./support.js');

test('lifetimes: the table ttl, a per-object ttl, time to idle, purgeExpired', () => {
  const clock = new ManualClock();
  const owner = owned(new Owner());
  const t = owner.newTable('ttl', { ttlMs: 1000, clock });
  t.insert(['a', 1]);
  t.insert(['short', 1], { ttlMs: 10 });
  assert.equal(t.insertNew(['n', 1], { ttlMs: 10 }), true);
  t.insertMany([['m1', 1], ['m2', 2]], { ttlMs: 10 });
  clock.advance(20);
  assert.deepEqual(t.lookup('short'), []);
  assert.deepEqual(t.lookup('n'), []);
  assert.equal(t.member('m1'), false);
  assert.deepEqual(t.lookup('a'), [['a', 1]]);
  clock.advance(1000);
  assert.deepEqual(t.lookup('a'), []);
  assert.equal(t.purgeExpired() >= 0, true);
  assert.equal(t.size, 0);
  const idle = owner.newTable('idle', { timeToIdleMs: 100, clock });
  idle.insert(['k', 1]);
  clock.advance(60);
  assert.equal(idle.member('k'), true); // a read keeps it alive
  clock.advance(60);
  assert.equal(idle.member('k'), true);
  clock.advance(150);
  assert.equal(idle.member('k'), false);
});

test('lifetimes: ttl and time to idle together end an object at the earlier', () => {
  const clock = new ManualClock();
  const owner = owned(new Owner());
  const t = owner.newTable('both', { ttlMs: 250, timeToIdleMs: 100, clock });
  t.insert(['read', 1]);
  t.insert(['unread', 1]);
  t.insert(['own', 1], { ttlMs: 1000 }); // its own lifetime, longer than the table's
  for (let i = 0; i < 4; i++) { // 60, 120, 180, 240 ms: each read restarts the idle time
    clock.advance(60);
    assert.deepEqual(t.lookup('read'), [['read', 1]]);
    assert.equal(t.member('own'), true);
    // Never read: gone once idle for 100 ms (checked from then on, as a read would restart it).
    if (i >= 1) assert.equal(t.member('unread'), false);
  }
  clock.advance(10); // 250 ms: the table's ttl ends it, read or not
  assert.deepEqual(t.lookup('read'), []);
  assert.equal(t.member('own'), true);
  clock.advance(100); // 350 ms: idle for 100 ms
  assert.equal(t.member('own'), false);
});

test('lifetimes of update defaults and insertNewMany', () => {
  const clock = new ManualClock();
  const owner = owned(new Owner());
  const t = owner.newTable('updates', { clock });
  assert.equal(t.updateCounter('hits', 1, ['hits', 0], { ttlMs: 200 }), 1); // the default gets 200 ms
  assert.deepEqual(t.updateCounter('hits', [[2, 1]], ['hits', 0]), [2]); // keeps its deadline
  clock.advance(150);
  assert.equal(t.updateCounter('hits', 1, ['hits', 0], { ttlMs: 100 }), 3); // a new lifetime
  clock.advance(90);
  assert.deepEqual(t.lookup('hits'), [['hits', 3]]);
  clock.advance(20);
  assert.deepEqual(t.lookup('hits'), []);
  assert.equal(t.updateElement('s', [2, 'on'], ['s', 'off'], { ttlMs: 300 }), true);
  clock.advance(290);
  assert.deepEqual(t.lookup('s'), [['s', 'on']]);
  clock.advance(20);
  assert.equal(t.member('s'), false);
  assert.equal(t.insertNewMany([['x', 1], ['y', 2]], { ttlMs: 100 }), true);
  assert.equal(t.insertNewMany([['y', 3], ['z', 3]], { ttlMs: 100 }), false);
  assert.equal(t.member('z'), false);
  clock.advance(100);
  assert.equal(t.insertNewMany([['y', 3], ['z', 3]]), true); // 'y' expired: absent
  assert.deepEqual(t.tab2list().sort(), [['y', 3], ['z', 3]]);
  // A lifetime is for the default object; bad options change nothing.
  assert.throws(() => t.updateCounter('n', 1, undefined, { ttlMs: 10 }), TypeError);
  assert.throws(() => t.updateElement('n', [2, 1], ['n', 0], { ttl: 10 }), TypeError);
  assert.throws(() => t.insertNewMany([['w', 1]], { ttlMs: -1 }), TypeError);
  assert.equal(t.member('n') || t.member('w'), false);
});

test('bounds: evict or reject, and the statistics', () => {
  const owner = owned(new Owner());
  const evicting = owner.newTable('evict', { maxSize: 2 });
  for (const k of ['a', 'b', 'c']) evicting.insert([k, 1]);
  assert.equal(evicting.size, 2);
  assert.equal(evicting.cacheStats().evictions, 1);
  const rejecting = owner.newTable('reject', { maxSize: 1, onFull: 'reject', recordStats: true });
  rejecting.insert(['a', 1]);
  throwsRets(() => rejecting.insert(['b', 1]), codes.TABLE_FULL);
  assert.deepEqual(rejecting.lookup('a'), [['a', 1]]);
  assert.deepEqual(rejecting.lookup('zz'), []);
  rejecting.recordLoad(2, true);
  rejecting.recordLoad(1, false);
  const s = rejecting.cacheStats();
  assert.deepEqual([s.hits, s.misses, s.rejectedWrites, s.loads, s.loadFailures, s.loadNs], [1, 1, 1, 1, 1, 3e6]);
  rejecting.invalidate('a');
  assert.equal(rejecting.member('a'), false);
  rejecting.resetCacheStats();
  assert.equal(rejecting.cacheStats().hits, 0);
});

test('getOrLoad with a per-object lifetime', async () => {
  const clock = new ManualClock();
  const owner = owned(new Owner());
  const t = owner.newTable('ro-ttl', { clock, recordStats: true });
  let loads = 0;
  const loader = (k) => [k, ++loads];
  assert.deepEqual(await t.getOrLoad('k', loader, { ttlMs: 50 }), ['k', 1]);
  assert.deepEqual(await t.getOrLoad('k', loader, { ttlMs: 50 }), ['k', 1]);
  clock.advance(60);
  assert.deepEqual(await t.getOrLoad('k', loader, { ttlMs: 50 }), ['k', 2]);
  await assert.rejects(t.getOrLoad('k', loader, { ttlMs: -1 }), TypeError);
});

test('tab2file, tabfileInfo, file2tab', () => {
  const owner = owned(new Owner());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rets-node-'));
  try {
    const file = path.join(dir, 't.tab');
    const name = uniqueName('saved');
    const t = owner.newTable(name, { type: 'ordered_set', named: true, access: 'public' });
    t.insertMany([[1, 'a'], [2, { b: [true] }]]);
    t.tab2file(file);
    const info = tabfileInfo(file);
    assert.deepEqual({ ...info, version: 0 }, {
      version: 0, type: 'ordered_set', access: 'public', keypos: 1, named: true,
      readConcurrency: false, writeConcurrency: false, objectCount: 2, name,
    });
    t.deleteTable();
    const back = owner.file2tab(file, { verify: true });
    assert.equal(back.name, name);
    assert.deepEqual(back.tab2list(), [[1, 'a'], [2, { b: [true] }]]);
    fs.writeFileSync(path.join(dir, 'bad.tab'), 'not a table file');
    throwsRets(() => tabfileInfo(path.join(dir, 'bad.tab')), codes.BAD_FILE);
    throwsRets(() => owner.file2tab(path.join(dir, 'missing.tab')), codes.IO);
    throwsRets(() => back.tab2file(path.join(dir, 'no', 'such', 'dir', 'x.tab')), codes.IO);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bad cache options and write options', () => {
  const owner = owned(new Owner());
  assert.throws(() => owner.newTable('x', { ttlMs: -1 }), /ttlMs/);
  assert.throws(() => owner.newTable('x', { maxSize: 1.5 }), /maxSize/);
  assert.throws(() => owner.newTable('x', { onFull: 'drop' }), /onFull/);
  assert.throws(() => owner.newTable('x', { clock: {} }), /ManualClock/);
  assert.throws(() => owner.newTable('x', { recordStats: 1 }), /recordStats/);
  const t = owner.newTable('x');
  assert.throws(() => t.insert(['k'], { ttlMs: 'soon' }), /ttlMs/);
  assert.throws(() => t.insert(['k'], null), /ttlMs/);
  assert.throws(() => t.recordLoad(-1), /load duration/);
  assert.throws(() => t.tab2file(5), /path/);
  assert.throws(() => tabfileInfo(null), /path/);
  assert.throws(() => new ManualClock().advance(-5), /ms/);
  assert.equal(t.size, 0);
});

test('getOrLoad with refreshAfterMs: a stale object is returned at once and reloaded once', async () => {
  const clock = new ManualClock();
  const owner = owned(new Owner());
  const t = owner.newTable('refresh', { ttlMs: 1000, clock });
  let loads = 0;
  const loader = async (k) => [k, ++loads];
  assert.deepEqual(await t.getOrLoad('k', loader, { refreshAfterMs: 500 }), ['k', 1]);
  clock.advance(600); // older than 500 ms, still alive
  assert.deepEqual(await t.getOrLoad('k', loader, { refreshAfterMs: 500 }), ['k', 1], 'the cached object, at once');
  await new Promise((r) => setImmediate(r));
  assert.equal(loads, 2, 'one background reload');
  assert.deepEqual(t.lookup('k'), [['k', 2]]);
  const plain = owner.newTable('no-ttl');
  await assert.rejects(plain.getOrLoad('k', loader, { refreshAfterMs: 5 }), { code: codes.INVALID_ARGUMENT });
});
