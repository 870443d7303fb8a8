'use strict';
// getOrLoad: read-through with single-flight across workers, over the claim/fill protocol.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Worker } = require('node:worker_threads');
const { once } = require('node:events');
const { Owner, whereis, codes } = require('..');
const { uniqueName, owned } = require('./support.js');

const INDEX = require.resolve('..');

test('a hit returns the cached object; a miss loads, stores and returns it', async () => {
  const owner = owned(new Owner());
  const t = owner.newTable('ro');
  t.insert(['cached', 1]);
  let loads = 0;
  const loader = async (key) => {
    loads++;
    return [key, { loaded: true }, new Map([['m', 2n ** 60n]])];
  };
  assert.deepEqual(await t.getOrLoad('cached', loader), ['cached', 1]);
  assert.equal(loads, 0);
  assert.deepEqual(await t.getOrLoad('k', loader), ['k', { loaded: true }, { m: 2n ** 60n }]);
  assert.deepEqual(t.lookup('k'), [['k', { loaded: true }, { m: 2n ** 60n }]]);
  assert.deepEqual(await t.getOrLoad('k', loader), ['k', { loaded: true }, { m: 2n ** 60n }]);
  assert.equal(loads, 1);
  // a synchronous loader works too
  assert.deepEqual(await t.getOrLoad(7, (k) => [k, 'sync']), [7, 'sync']);
});

test('concurrent callers in one thread share one load', async () => {
  const owner = owned(new Owner());
  const t = owner.newTable('one-flight');
  let loads = 0;
  const loader = (key) => new Promise((resolve) => {
    loads++;
    setTimeout(() => resolve([key, 'v']), 30);
  });
  const results = await Promise.all(Array.from({ length: 10 }, () => t.getOrLoad('k', loader)));
  assert.equal(loads, 1);
  for (const r of results) assert.deepEqual(r, ['k', 'v']);
});

test('a failed load: the loader\'s caller gets its error, waiters ERR_RETS_LOAD_FAILED, the next call loads again', async () => {
  const owner = owned(new Owner());
  const t = owner.newTable('failing');
  const failing = () => new Promise((_, reject) => setTimeout(() => reject(new Error('database down')), 20));
  const first = t.getOrLoad('k', failing);
  const waiter = t.getOrLoad('k', failing);
  await assert.rejects(first, /database down/);
  await assert.rejects(waiter, (e) => e.code === codes.LOAD_FAILED && /database down/.test(e.message));
  assert.deepEqual(t.lookup('k'), []);
  assert.deepEqual(await t.getOrLoad('k', (k) => [k, 'back']), ['k', 'back']);
});

test('a loader returning a bad object fails the load and caches nothing', async () => {
  const owner = owned(new Owner());
  const t = owner.newTable('bad-loads');
  await assert.rejects(t.getOrLoad('k', () => 'not an object'), TypeError);
  await assert.rejects(t.getOrLoad('k', () => ['k', undefined]), TypeError);
  await assert.rejects(t.getOrLoad('k', () => ['other key', 1]), { code: codes.INVALID_ARGUMENT });
  assert.deepEqual(t.lookup('k'), []);
  await assert.rejects(t.getOrLoad('k'), /takes a loader/);
  await assert.rejects(t.getOrLoad(undefined, () => []), TypeError);
  const bag = owner.newTable('bag', { type: 'bag' });
  await assert.rejects(bag.getOrLoad('k', (k) => [k]), { code: codes.WRONG_TABLE_TYPE });
  const name = uniqueName('protected');
  owner.newTable(name, { named: true });
  await assert.rejects(whereis(name).getOrLoad('k', (k) => [k]), { code: codes.ACCESS_DENIED });
});

test('single-flight across 4 workers: one load, every worker gets its object', async () => {
  const owner = owned(new Owner());
  const name = uniqueName('flight');
  const loadsName = uniqueName('loads');
  owner.newTable(name, { named: true, access: 'public' });
  const loads = owner.newTable(loadsName, { named: true, access: 'public' });
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const src = `
    const { parentPort, workerData } = require('node:worker_threads');
    const rets = require(${JSON.stringify(INDEX)});
    const { name, loadsName, gate, keys } = workerData;
    const t = rets.whereis(name);
    const loads = rets.whereis(loadsName);
    Atomics.add(gate, 0, 1);
    while (Atomics.load(gate, 0) < 4) Atomics.wait(gate, 0, Atomics.load(gate, 0), 1);
    Promise.all(Array.from({ length: keys }, (_, i) => t.getOrLoad('key' + i, async (k) => {
      loads.updateCounter(k, 1, [k, 0]);
      await new Promise((r) => setTimeout(r, 50)); // a slow source: the others arrive meanwhile
      return [k, 'loaded ' + k];
    }))).then((objs) => parentPort.postMessage(objs));
  `;
  const KEYS = 20;
  const workers = Array.from({ length: 4 }, () =>
    new Worker(src, { eval: true, workerData: { name, loadsName, gate, keys: KEYS } }));
  const exited = workers.map((w) => once(w, 'exit'));
  const results = await Promise.all(workers.map((w) => once(w, 'message').then(([m]) => m)));
  for (const objs of results) {
    assert.deepEqual(objs, Array.from({ length: KEYS }, (_, i) => ['key' + i, 'loaded key' + i]));
  }
  for (let i = 0; i < KEYS; i++) assert.equal(loads.lookupElement('key' + i, 2), 1, `key${i} loaded once`);
  await Promise.all(exited);
});
