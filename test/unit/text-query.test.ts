// The reader of PostgreSQL's tsquery text: precedence, quoting, and the forms it leaves to the
// database (phrases, weights, prefixes).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapLexemes, parseTextQuery } from '../../src/services/text-query.js';

const lexeme = (text: string) => ({ kind: 'lexeme', lexeme: text }) as const;

test('NOT binds tighter than AND, and AND tighter than OR', () => {
  assert.deepEqual(parseTextQuery("'a' & !'b' | 'c'"), {
    kind: 'or',
    parts: [{ kind: 'and', parts: [lexeme('a'), { kind: 'not', part: lexeme('b') }] }, lexeme('c')],
  });
});

test('parentheses group, and a doubled quote is one quote in the lexeme', () => {
  assert.deepEqual(parseTextQuery("'o''reilly' & ( 'x' | 'y' )"), {
    kind: 'and',
    parts: [lexeme("o'reilly"), { kind: 'or', parts: [lexeme('x'), lexeme('y')] }],
  });
});

test('what PostgreSQL writes for a Russian and Kazakh search reads back', () => {
  assert.deepEqual(parseTextQuery("'горяч' & 'питан' | 'горячего' & 'питания'"), {
    kind: 'or',
    parts: [
      { kind: 'and', parts: [lexeme('горяч'), lexeme('питан')] },
      { kind: 'and', parts: [lexeme('горячего'), lexeme('питания')] },
    ],
  });
  assert.deepEqual(parseTextQuery("'қағаз'"), lexeme('қағаз'));
});

test('phrases, weights, prefixes, empty and broken text are not read', () => {
  for (const text of [
    "'горяч' <-> 'питан'",
    "'a' <2> 'b'",
    "'ноут':*",
    "'a':AB",
    '',
    "'a' &",
    "( 'a'",
    "'a' 'b'",
    "'unterminated",
  ]) {
    assert.equal(parseTextQuery(text), undefined, text);
  }
});

test('lexemes can be replaced, e.g. by dictionary numbers', () => {
  const numbers = new Map([
    ['a', 1],
    ['b', 2],
  ]);
  const parsed = parseTextQuery("'a' & !'b'")!;
  assert.deepEqual(
    mapLexemes(parsed, (text) => numbers.get(text) ?? -1),
    {
      kind: 'and',
      parts: [
        { kind: 'lexeme', lexeme: 1 },
        { kind: 'not', part: { kind: 'lexeme', lexeme: 2 } },
      ],
    },
  );
});
