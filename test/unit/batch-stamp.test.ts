// Batched time-stamping: every leaf's audit path folds to the one root stamped, no path longer
// than the tree is deep; a changed leaf or step misses the root; a batch is one turn of the event
// loop (or `limit` items), and a failing TSA fails the whole batch.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { BatchStamper, leafHash, merkleTree, rootOf } from '../../src/pki/batch-stamp.js';
import type { MessageImprint } from '../../src/pki/tsp.js';

const items = (count: number) =>
  Array.from({ length: count }, (_, n) => new TextEncoder().encode(`receipt ${n}`));

test('every audit path folds its own item to the root, and no other item', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 300 }), (count) => {
      const data = items(count);
      const tree = merkleTree(data.map(leafHash));
      const depth = Math.ceil(Math.log2(count));
      data.forEach((item, index) => {
        const path = tree.paths[index]!;
        assert.ok(path.length <= depth, `path ${path.length} within depth ${depth}`);
        assert.deepEqual(rootOf(item, path), tree.root);
        if (count > 1) {
          const other = data[(index + 1) % count]!;
          assert.notDeepEqual(rootOf(other, path), tree.root);
        }
      });
    }),
    { numRuns: 60 },
  );
});

test('a tree of two is the RFC 9162 node of its two leaves', () => {
  const [a, b] = items(2) as [Uint8Array, Uint8Array];
  const expected = createHash('sha256')
    .update(Uint8Array.of(1))
    .update(leafHash(a))
    .update(leafHash(b))
    .digest();
  const tree = merkleTree([leafHash(a), leafHash(b)]);
  assert.deepEqual(tree.root, expected);
  assert.deepEqual(tree.paths[0], [{ position: 'right', sha256: leafHash(b).toString('hex') }]);
  assert.deepEqual(tree.paths[1], [{ position: 'left', sha256: leafHash(a).toString('hex') }]);
});

test('a leaf is not an inner node: its hash is domain-separated', () => {
  const [a, b] = items(2) as [Uint8Array, Uint8Array];
  const tree = merkleTree([leafHash(a), leafHash(b)]);
  const inner = Buffer.concat([leafHash(a), leafHash(b)]);
  assert.notDeepEqual(rootOf(inner, []), tree.root, 'two leaves glued are no item of the tree');
});

test('one TSA call a turn; a later turn is a new batch; the limit closes a batch', async () => {
  const stamped: MessageImprint[] = [];
  const stamper = new BatchStamper((imprint) => {
    stamped.push(imprint);
    return Uint8Array.of(stamped.length);
  }, 4);
  const first = await Promise.all(items(3).map((item) => stamper.stamp(item)));
  assert.equal(stamped.length, 1);
  assert.deepEqual(
    first.map((stamp) => stamp.token[0]),
    [1, 1, 1],
  );
  for (const [index, item] of items(3).entries()) {
    assert.deepEqual(rootOf(item, first[index]!.path), Buffer.from(stamped[0]!.hash));
  }
  const second = await stamper.stamp(items(1)[0]!);
  assert.equal(second.token[0], 2);
  assert.deepEqual(second.path, []);
  const many = await Promise.all(items(6).map((item) => stamper.stamp(item)));
  assert.deepEqual(
    many.map((stamp) => stamp.token[0]),
    [3, 3, 3, 3, 4, 4],
    'four at the limit, then the two left at the end of the turn',
  );
});

test('a TSA that fails fails every item of its batch, and the next batch is fresh', async () => {
  let fail = true;
  const stamper = new BatchStamper(() => {
    if (fail) throw new Error('the TSA key is unavailable');
    return Uint8Array.of(7);
  });
  const results = await Promise.allSettled(items(3).map((item) => stamper.stamp(item)));
  assert.deepEqual(
    results.map((result) => result.status),
    ['rejected', 'rejected', 'rejected'],
  );
  fail = false;
  assert.equal((await stamper.stamp(items(1)[0]!)).token[0], 7);
});
