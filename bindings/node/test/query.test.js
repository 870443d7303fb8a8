'use strict';
// Atoms, match specifications and the select/match family.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Owner, atom, Atom, matchSpec, codes } = require('..');
const { throwsRets, owned } = require('./support.js');

const $1 = atom('$1');
const $2 = atom('$2');
const _ = atom('_');

function people() {
  const owner = owned(new Owner());
  const t = owner.newTable('people', { type: 'ordered_set' });
  t.insertMany([['alice', 31, 'pro'], ['bob', 17, 'free'], ['carol', 45, 'pro'], ['dave', 22, 'free']]);
  return t;
}

test('atoms round-trip, are interned, and true/false/nil are the booleans and null', () => {
  const owner = owned(new Owner());
  const t = owner.newTable('atoms');
  t.insert(['k', atom('ok'), atom('héllo'), atom('true'), atom('nil')]);
  const [[, ok, h, tr, nil]] = t.lookup('k');
  assert.ok(ok instanceof Atom);
  assert.equal(ok, atom('ok'));
  assert.equal(h.name, 'héllo');
  assert.equal(tr, true);
  assert.equal(nil, null);
  t.insert([atom('key'), 1]);
  assert.deepEqual(t.lookup(atom('key')), [[atom('key'), 1]]);
  assert.deepEqual(t.lookup('key'), [], 'an atom is not a string');
  assert.throws(() => atom(1), TypeError);
  assert.throws(() => atom('x'.repeat(256)), /255 bytes/);
});

test('select, selectReverse, selectCount with heads, guards and bodies', () => {
  const t = people();
  // [{{'$1', '$2', '_'}, [{'>', '$2', 20}], ['$1']}]
  const adults = [[[$1, $2, _], [[atom('>'), $2, 20]], [$1]]];
  assert.deepEqual(t.select(adults), ['alice', 'carol', 'dave']);
  assert.deepEqual(t.selectReverse(adults), ['dave', 'carol', 'alice']);
  const compiled = matchSpec(adults);
  assert.deepEqual(t.select(compiled), ['alice', 'carol', 'dave']);
  // a tuple construction {{'$2', '$1'}} in the body
  assert.deepEqual(t.select([[[$1, $2, 'pro'], [], [[[$2, $1]]]]]), [[31, 'alice'], [45, 'carol']]);
  assert.equal(t.selectCount([[[_, $2, _], [[atom('<'), $2, 30]], [true]]]), 2);
  assert.deepEqual(t.select([[[_, _, 'none'], [], [atom('$_')]]]), []);
});

test('selectDelete and selectReplace', () => {
  const t = people();
  // [{{'$1', '$2', '$3'}, [], [{{'$1', {'+', '$2', 1}, '$3'}}]}]: keeps the key
  const birthday = [[[$1, $2, atom('$3')], [], [[[$1, [atom('+'), $2, 1], atom('$3')]]]]];
  assert.equal(t.selectReplace(birthday), 4);
  assert.deepEqual(t.lookup('bob'), [['bob', 18, 'free']]);
  throwsRets(() => t.selectReplace([[[$1, $2, _], [], [[['other', $2, 'x']]]]]), codes.BAD_MATCH_SPEC);
  assert.equal(t.selectDelete([[[_, _, 'free'], [], [true]]]), 2);
  assert.equal(t.size, 2);
});

test('chunked select and match: chunks of the limit, the last shorter, continuation freed', () => {
  const t = people();
  const all = [[[$1, _, _], [], [$1]]];
  assert.deepEqual([...t.selectChunks(all, 3)], [['alice', 'bob', 'carol'], ['dave']]);
  assert.deepEqual([...t.selectChunks(all, 3, { reverse: true })], [['dave', 'carol', 'bob'], ['alice']]);
  assert.deepEqual([...t.selectChunks([[[_, _, 'none'], [], [true]]], 2)], []);
  assert.deepEqual([...t.matchChunks([$1, _, 'pro'], 1)], [[['alice']], [['carol']]]);
  assert.deepEqual([...t.matchObjectChunks([_, _, 'free'], 5)], [[['bob', 17, 'free'], ['dave', 22, 'free']]]);
  // abandoning a generator frees its continuation; the table goes on
  for (const chunk of t.selectChunks(all, 1)) {
    assert.equal(chunk.length, 1);
    break;
  }
  assert.throws(() => [...t.selectChunks(all, 0)], /limit/);
});

test('match, matchObject, matchDelete', () => {
  const t = people();
  assert.deepEqual(t.match([$1, $2, 'pro']), [['alice', 31], ['carol', 45]]);
  assert.deepEqual(t.matchObject([_, _, 'free']), [['bob', 17, 'free'], ['dave', 22, 'free']]);
  assert.equal(t.matchDelete([_, _, 'pro']), 2);
  assert.deepEqual(t.tab2list().map((o) => o[0]), ['bob', 'dave']);
});

test('bad specifications and patterns', () => {
  const t = people();
  throwsRets(() => t.select([[$1]]), codes.BAD_MATCH_SPEC);
  throwsRets(() => matchSpec([['_', [], []], 5]), codes.BAD_MATCH_SPEC);
  assert.throws(() => t.select('not a spec'), /array of clauses/);
  assert.throws(() => t.select([[[_, undefined], [], [true]]]), TypeError);
  assert.throws(() => t.match([_, Symbol('x')]), TypeError);
  assert.throws(() => structuredClone(matchSpec([[_, [], [true]]])), { name: 'DataCloneError' });
  const owner = owned(new Owner());
  const priv = owner.newTable('private', { access: 'private' });
  const other = owned(new Owner());
  throwsRets(() => priv.withOwner(other).select([[_, [], [true]]]), codes.ACCESS_DENIED);
});
