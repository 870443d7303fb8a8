'use strict';
// worker_threads sharing named tables: no lost update, and owners that close with their worker.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Worker } = require('node:worker_threads');
const { once } = require('node:events');
const { Owner, whereis, codes } = require('..');
const { uniqueName, throwsRets, owned } = require('./support.js');

const INDEX = require.resolve('..');

/** Runs `body` (the source of a function (rets, data, port) => result) in a worker. */
function worker(body, data) {
  const src = `
    const { parentPort, workerData } = require('node:worker_threads');
    const rets = require(${JSON.stringify(INDEX)});
    Promise.resolve((${body})(rets, workerData, parentPort))
      .then((r) => parentPort.postMessage({ done: r }))
      .catch((e) => parentPort.postMessage({ error: { code: e.code, message: e.message } }));
  `;
  const w = new Worker(src, { eval: true, workerData: data });
  w.exited = once(w, 'exit'); // listened to from the start: a worker may end before we await it
  return w;
}

function result(w) {
  return new Promise((resolve, reject) => {
    w.on('message', (m) => {
      if ('done' in m) resolve(m.done);
      else if ('error' in m) reject(Object.assign(new Error(m.error.message), m.error));
    });
    w.on('error', reject);
  });
}

test('4 workers incrementing one counter lose no update', async () => {
  const owner = owned(new Owner());
  const name = uniqueName('counters');
  const t = owner.newTable(name, { named: true, access: 'public', writeConcurrency: true });
  t.insert(['hits', 0]);
  const N = 4;
  const PER = 5000;
  const workers = Array.from({ length: N }, (_, i) => worker(`(rets, { name, per, i }) => {
    const t = rets.whereis(name);
    for (let j = 0; j < per; j++) {
      t.updateCounter('hits', 1);
      t.updateCounter('w' + i, 1, ['', 0]);
    }
    return t.lookupElement('w' + i, 2);
  }`, { name, per: PER, i }));
  const done = await Promise.all(workers.map(result));
  assert.deepEqual(done, Array(N).fill(PER));
  assert.equal(t.lookupElement('hits', 2), N * PER);
  await Promise.all(workers.map((w) => w.exited));
});

test('workers read and write a table another worker owns', async () => {
  const name = uniqueName('shared');
  const ownerW = worker(`async (rets, { name }, port) => {
    const owner = new rets.Owner();
    const t = owner.newTable(name, { named: true, access: 'public' });
    t.insert(['from-owner', 1]);
    port.postMessage({ ready: true });
    await new Promise((resolve) => port.once('message', resolve));
    return t.lookup('from-reader');
  }`, { name });
  const [msg] = await once(ownerW, 'message');
  assert.deepEqual(msg, { ready: true });
  const reader = worker(`(rets, { name }) => {
    const t = rets.whereis(name);
    t.insert(['from-reader', 2]);
    return t.lookup('from-owner');
  }`, { name });
  assert.deepEqual(await result(reader), [['from-owner', 1]]);
  const done = result(ownerW);
  ownerW.postMessage('go');
  assert.deepEqual(await done, [['from-reader', 2]]);
  await ownerW.exited;
  // The worker ended: its owner closed and its table was deleted.
  assert.equal(whereis(name), undefined);
});

test('a worker terminated while others use its table: they get NO_TABLE, nothing crashes', async () => {
  const name = uniqueName('doomed');
  const ownerW = worker(`async (rets, { name }, port) => {
    const owner = new rets.Owner();
    const t = owner.newTable(name, { named: true, access: 'public' });
    for (let i = 0; i < 1000; i++) t.insert([i, i]);
    port.postMessage({ ready: true });
    // keep using the table until terminated
    for (;;) {
      t.updateCounter(0, 1);
      await new Promise((r) => setImmediate(r));
    }
  }`, { name });
  await once(ownerW, 'message');
  // Readers hammer the table until it disappears; each reports how it ended.
  const readers = Array.from({ length: 3 }, () => worker(`(rets, { name }, port) => {
    const t = rets.whereis(name);
    let reads = 0;
    for (;;) {
      try {
        t.lookup(reads % 1000);
        for (const o of t) { if (o === undefined) break; break; }
        if (reads++ === 0) port.postMessage({ reading: true });
      } catch (e) {
        return { code: e.code, reads, name: e.name, message: e.message };
      }
    }
  }`, { name }));
  const ended = readers.map(result);
  // Terminate the owner's worker once every reader is reading its table.
  await Promise.all(readers.map((r) => once(r, 'message')));
  await ownerW.terminate();
  await ownerW.exited;
  const outcomes = await Promise.all(ended);
  for (const o of outcomes) {
    assert.equal(o.name, 'RetsError', o.message);
    assert.equal(o.code, codes.NO_TABLE);
    assert.ok(o.reads > 0);
  }
  assert.equal(whereis(name), undefined);
});

test('an owner made in a worker that exits normally is closed: its tables are deleted', async () => {
  const name = uniqueName('exits');
  const w = worker(`(rets, { name }) => {
    const owner = new rets.Owner();
    owner.newTable(name, { named: true }).insert(['k', 1]);
    return rets.whereis(name).lookup('k');
  }`, { name });
  assert.deepEqual(await result(w), [['k', 1]]);
  await w.exited;
  assert.equal(whereis(name), undefined);
});

test('many workers created and terminated with live owners leak no table', async () => {
  const names = [];
  for (let round = 0; round < 8; round++) {
    const name = uniqueName('churn');
    names.push(name);
    const w = worker(`async (rets, { name }, port) => {
      const owner = new rets.Owner();
      owner.newTable(name, { named: true }).insert(['k', 'v'.repeat(1000)]);
      owner.on('transfer', () => {}); // a watcher thread too
      port.postMessage({ ready: true });
      setInterval(() => {}, 1000); // stays alive until terminated
      await new Promise(() => {});
    }`, { name });
    await once(w, 'message');
    await w.terminate();
  }
  for (const n of names) assert.equal(whereis(n), undefined);
});

test('terminated workers\' tables are freed: memory does not grow with the tables they made', async () => {
  // Each worker fills a 2 MiB table (and starts a transfer watcher), then is terminated. If the
  // tables (or owners) of terminated workers were leaked, resident memory would grow by 2 MiB a
  // round; it must grow by less than a quarter of that over 20 rounds.
  const rss = () => process.memoryUsage().rss;
  const round = async (i) => {
    const name = uniqueName(`freed${i}`);
    const w = worker(`async (rets, { name }, port) => {
      const owner = new rets.Owner();
      const t = owner.newTable(name, { named: true, access: 'public' });
      const blob = Buffer.alloc(1024, 1);
      for (let i = 0; i < 2048; i++) t.insert([i, blob]);
      owner.on('transfer', () => {});
      port.postMessage({ ready: true });
      setInterval(() => {}, 1000); // stays alive until terminated
      await new Promise(() => {});
    }`, { name });
    const [msg] = await once(w, 'message');
    assert.deepEqual(msg, { ready: true });
    assert.equal(whereis(name).size, 2048);
    await w.terminate();
    await w.exited;
    assert.equal(whereis(name), undefined);
  };
  for (let i = 0; i < 5; i++) await round(i); // warm up: allocator arenas, worker startup
  const before = rss();
  const ROUNDS = 20;
  for (let i = 0; i < ROUNDS; i++) await round(i + 5);
  const grown = rss() - before;
  assert.ok(grown < (ROUNDS * 2 * 1024 * 1024) / 4, `resident memory grew by ${(grown / 1048576).toFixed(1)} MiB`);
});
