// The Node binding's benchmark (run by ci/bench; prints a Markdown section for BENCHMARKS.md).
//
// 1. One thread, hit lookups of a 10k-key table with string keys: rets lookup (and
//    lookupElement) against Map.get and lru-cache's get, in ns per lookup.
// 2. N = 1, 2, 4 worker_threads reading one shared 10k-key table directly, against the same
//    workers asking one cache thread (a Map in a worker) by postMessage, in lookups per second
//    over all workers; the postMessage clients either wait for each answer (window 1: the usual
//    `await ask(key)`) or keep 32 requests in flight each (pipelined, generous to the baseline).
//
//   node bench/run.mjs [--quick]
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { createRequire } from 'node:module';
import os from 'node:os';

const require = createRequire(import.meta.url);
const { Owner, whereis, version } = require('../index.js');

const KEYS = 10_000;
const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 3 : 7;
const LOOKUPS = QUICK ? 300_000 : 2_000_000;
const SECONDS = QUICK ? 0.3 : 1.5;
const WINDOWS = [1, 32];
const TABLE = 'bench_node_shared';

const key = (i) => `user:${String(i).padStart(6, '0')}`;
const value = (i) => ({ name: `user ${i}`, tier: i % 10 === 0 ? 'pro' : 'free' });

// A fixed pseudo-random order of keys, shared by every contender.
function order(n, seed) {
  const out = new Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; // xorshift32
    out[i] = key((x >>> 0) % KEYS);
  }
  return out;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// ns per call of get(k) over LOOKUPS hit lookups, median of ROUNDS.
function timeLookups(get) {
  const ks = order(4096, 7);
  let sink = 0;
  const ns = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < LOOKUPS; i++) {
      if (get(ks[i & 4095]) !== undefined) sink++;
    }
    ns.push(Number(process.hrtime.bigint() - t0) / LOOKUPS);
  }
  if (sink !== ROUNDS * LOOKUPS) throw new Error('a lookup missed');
  return median(ns);
}

async function singleThread() {
  const { LRUCache } = await import('lru-cache');
  const map = new Map();
  const lru = new LRUCache({ max: KEYS * 2 });
  const owner = new Owner();
  const t = owner.newTable('bench_node_single', { type: 'set' });
  for (let i = 0; i < KEYS; i++) {
    map.set(key(i), value(i));
    lru.set(key(i), value(i));
    t.insert([key(i), value(i)]);
  }
  const rows = [
    ['Map.get', timeLookups((k) => map.get(k))],
    ['lru-cache get', timeLookups((k) => lru.get(k))],
    ['rets lookup', timeLookups((k) => t.lookup(k)[0])],
    ['rets lookupElement(k, 2)', timeLookups((k) => t.lookupElement(k, 2))],
    ['rets member', timeLookups((k) => (t.member(k) ? 1 : undefined))],
  ];
  owner.close();
  return rows;
}

// ---- worker_threads: shared table vs one cache thread asked by postMessage

// Every worker starts when all are ready (a barrier on shared memory), then runs for `seconds`.
function barrier(ready, n) {
  Atomics.add(ready, 0, 1);
  while (Atomics.load(ready, 0) < n) Atomics.wait(ready, 0, Atomics.load(ready, 0), 1);
}

async function workerMain() {
  const { role, seed, ready, seconds, port, window: WINDOW } = workerData;
  const ks = order(4096, seed * 7919);
  if (role === 'cache') {
    // The cache thread: a Map, answering every client port.
    const map = new Map();
    for (let i = 0; i < KEYS; i++) map.set(key(i), value(i));
    parentPort.on('message', ({ port: client }) => {
      client.on('message', (req) => client.postMessage({ id: req.id, value: map.get(req.key) }));
    });
    return;
  }
  const n = workerData.n;
  if (role === 'table') {
    const t = whereis(TABLE);
    barrier(ready, n);
    let ops = 0;
    const t0 = performance.now();
    const until = t0 + seconds * 1000;
    while (performance.now() < until) {
      for (let i = 0; i < 1024; i++) {
        if (t.lookup(ks[(ops + i) & 4095]).length !== 1) throw new Error('miss');
      }
      ops += 1024;
    }
    parentPort.postMessage([ops, (performance.now() - t0) / 1000]);
    return;
  }
  // postMessage client: WINDOW requests in flight, each answered by the cache thread.
  barrier(ready, n);
  let ops = 0;
  let sent = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  await new Promise((resolve) => {
    port.on('message', (reply) => {
      if (reply.value === undefined) throw new Error('miss');
      ops++;
      if (performance.now() < until) {
        port.postMessage({ id: sent, key: ks[sent++ & 4095] });
      } else if (ops === sent) {
        resolve();
      }
    });
    for (let i = 0; i < WINDOW; i++) port.postMessage({ id: sent, key: ks[sent++ & 4095] });
  });
  port.close();
  parentPort.postMessage([ops, (performance.now() - t0) / 1000]);
}

async function shared() {
  const owner = new Owner();
  const t = owner.newTable(TABLE, { type: 'set', access: 'public', named: true, readConcurrency: true });
  for (let i = 0; i < KEYS; i++) t.insert([key(i), value(i)]);
  const cache = new Worker(new URL(import.meta.url), { workerData: { role: 'cache', seed: 0 } });
  const rows = [];
  for (const n of [1, 2, 4]) {
    const table = [];
    const post = WINDOWS.map(() => []);
    for (let r = 0; r < (QUICK ? 1 : 3); r++) {
      table.push(await runWorkersN(n, 'table'));
      for (let w = 0; w < WINDOWS.length; w++) post[w].push(await runWorkersN(n, 'postMessage', cache, WINDOWS[w]));
    }
    rows.push([n, median(table), ...post.map(median)]);
  }
  await cache.terminate();
  owner.close();
  return rows;
}

function runWorkersN(n, mode, cache, window = 1) {
  const ready = new Int32Array(new SharedArrayBuffer(4));
  const workers = [];
  for (let i = 0; i < n; i++) {
    const data = { role: mode, seed: i + 1, ready, seconds: SECONDS, n, window };
    const transferList = [];
    if (mode === 'postMessage') {
      const { port1, port2 } = new MessageChannel();
      cache.postMessage({ port: port2 }, [port2]);
      data.port = port1;
      transferList.push(port1);
    }
    workers.push(new Worker(new URL(import.meta.url), { workerData: data, transferList }));
  }
  return Promise.all(workers.map((w) => new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  }))).then((results) => results.reduce((sum, [ops, secs]) => sum + ops / secs, 0));
}

async function main() {
  const single = await singleThread();
  const multi = await shared();
  const map = single[0][1];
  const lru = single[1][1];
  const out = [];
  out.push('## Node binding');
  out.push('');
  out.push(`Made by \`node bindings/node/bench/run.mjs${QUICK ? ' --quick' : ''}\` (run by \`ci/bench\`) on ` +
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; Node ${process.version}, librets ${version()}, ` +
    `${os.cpus().length} CPUs, 1-min load average ${os.loadavg()[0].toFixed(2)} at the end.`);
  out.push('');
  out.push(`**One thread, hit lookups of a ${KEYS / 1000}k-key table with string keys** (objects ` +
    '`[key, {name, tier}]`; ns per lookup, median of ' + `${ROUNDS} rounds of ${LOOKUPS} lookups; ` +
    'rets decodes a fresh copy of the object each time, Map and lru-cache return a reference):');
  out.push('');
  out.push('| contender | ns/lookup | × Map.get | × lru-cache get |');
  out.push('|---|---|---|---|');
  for (const [name, ns] of single) {
    out.push(`| ${name} | ${ns.toFixed(1)} | ${(ns / map).toFixed(2)} | ${(ns / lru).toFixed(2)} |`);
  }
  out.push('');
  out.push(`**N worker_threads reading one shared table** (rets: every worker looks up the named table ` +
    'directly) **against the same workers asking one cache thread by postMessage** (a Map in a worker; ' +
    'each client either awaits each answer, window 1, or keeps 32 requests in flight, window 32). ' +
    `Lookups per second over all workers, median of ${QUICK ? 1 : 3} runs of ${SECONDS} s:`);
  out.push('');
  out.push('| workers | rets shared table | postMessage, window 1 | ratio | postMessage, window 32 | ratio |');
  out.push('|---|---|---|---|---|---|');
  const mps = (x) => `${(x / 1e6).toFixed(3)} M/s`;
  for (const [n, table, post1, post32] of multi) {
    out.push(`| ${n} | ${mps(table)} | ${mps(post1)} | ${(table / post1).toFixed(1)}× | ${mps(post32)} | ${(table / post32).toFixed(1)}× |`);
  }
  console.log(out.join('\n'));
}

if (isMainThread) {
  await main();
} else {
  await workerMain();
}
