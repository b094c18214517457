// Batched time-stamping: the items stamped in one turn of the event loop become the leaves of a
// Merkle tree (RFC 9162 hashing, SHA-256) and one RFC 3161 token stamps its root. Each item gets
// the token and its audit path, which folds its own bytes back to the stamped root; nothing of the
// other items shows but hashes. Under load a turn gathers many items, so one signature serves
// them all; alone, an item is its own root and waits for nothing.
import { createHash } from 'node:crypto';
import { PkiError } from './errors.js';
import { SHA256_OID } from './tsp.js';
import type { MessageImprint } from './tsp.js';

/** A sibling on the way from a leaf to the root: on which side it stands, and its hash. */
export interface MerkleStep {
  readonly position: 'left' | 'right';
  /** Hex SHA-256 of the sibling node. */
  readonly sha256: string;
}

export interface BatchStamp {
  /** DER of the RFC 3161 token over the batch's root. */
  readonly token: Uint8Array;
  /** From the item's leaf up to the root; empty when the item was alone. */
  readonly path: readonly MerkleStep[];
}

/** A path is at most this long: 2^32 items never share one token. */
export const MAX_MERKLE_PATH = 32;

/** The leaf of an item: SHA-256 of 0x00 and its bytes (RFC 9162, section 2.1.1). */
export function leafHash(data: Uint8Array): Buffer {
  return createHash('sha256').update(Uint8Array.of(0)).update(data).digest();
}

/** An inner node: SHA-256 of 0x01, the left child and the right child. */
function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(Uint8Array.of(1)).update(left).update(right).digest();
}

/**
 * The root of the leaves and each leaf's audit path. The tree splits at the largest power of two
 * below the count, as RFC 9162 does, so a path is at most ceil(log2 n) steps.
 */
export function merkleTree(leaves: readonly Uint8Array[]): {
  root: Buffer;
  paths: MerkleStep[][];
} {
  if (leaves.length === 0) throw new PkiError('merkle.empty', 'a tree needs a leaf');
  if (leaves.length === 1) return { root: Buffer.from(leaves[0]!), paths: [[]] };
  let split = 1;
  while (split * 2 < leaves.length) split *= 2;
  const left = merkleTree(leaves.slice(0, split));
  const right = merkleTree(leaves.slice(split));
  const step = (position: MerkleStep['position'], hash: Buffer): MerkleStep => ({
    position,
    sha256: hash.toString('hex'),
  });
  return {
    root: nodeHash(left.root, right.root),
    paths: [
      ...left.paths.map((path) => [...path, step('right', right.root)]),
      ...right.paths.map((path) => [...path, step('left', left.root)]),
    ],
  };
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** Folds an item's bytes along its audit path to the root its token must stamp. */
export function rootOf(data: Uint8Array, path: readonly MerkleStep[]): Buffer {
  if (path.length > MAX_MERKLE_PATH) {
    throw new PkiError('merkle.path_invalid', `an audit path has at most ${MAX_MERKLE_PATH} steps`);
  }
  let hash = leafHash(data);
  for (const step of path) {
    if (
      typeof step !== 'object' ||
      step === null ||
      (step.position !== 'left' && step.position !== 'right') ||
      typeof step.sha256 !== 'string' ||
      !HEX_SHA256.test(step.sha256)
    ) {
      throw new PkiError('merkle.path_invalid', 'a step is a position and a hex SHA-256');
    }
    const sibling = Buffer.from(step.sha256, 'hex');
    hash = step.position === 'left' ? nodeHash(sibling, hash) : nodeHash(hash, sibling);
  }
  return hash;
}

/** The imprint a token over a Merkle root carries. */
export function rootImprint(root: Uint8Array): MessageImprint {
  return { hashOid: SHA256_OID, hash: root };
}

interface Waiting {
  leaf: Buffer;
  resolve: (stamp: BatchStamp) => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers the items asked for in one turn of the event loop and stamps them with one token. A
 * batch closes at `limit` items at once, or when the turn ends (setImmediate).
 */
export class BatchStamper {
  private waiting: Waiting[] = [];
  /** Tokens issued and items they stamped, since the process began (for metrics). */
  readonly stats = { batches: 0, items: 0 };

  constructor(
    private readonly issue: (imprint: MessageImprint) => Uint8Array,
    private readonly limit = 1024,
  ) {}

  stamp(data: Uint8Array): Promise<BatchStamp> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ leaf: leafHash(data), resolve, reject });
      if (this.waiting.length === 1) setImmediate(() => this.flush());
      else if (this.waiting.length >= this.limit) this.flush();
    });
  }

  private flush(): void {
    const batch = this.waiting;
    if (batch.length === 0) return;
    this.waiting = [];
    let token: Uint8Array;
    let paths: MerkleStep[][];
    try {
      const tree = merkleTree(batch.map((item) => item.leaf));
      token = this.issue(rootImprint(tree.root));
      paths = tree.paths;
      this.stats.batches += 1;
      this.stats.items += batch.length;
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, index) => item.resolve({ token, path: paths[index]! }));
  }
}
