// A PostgreSQL tsquery, read from its text form, as a tree of lexemes joined by AND, OR and NOT:
// the part of the tsquery language that a set of lexemes alone can answer. Phrases (`<->`),
// weights and prefixes need positions or a scan of the dictionary, so they are not read here and
// the caller asks the database instead.

export type TextQuery<L = string> =
  | { kind: 'lexeme'; lexeme: L }
  | { kind: 'and' | 'or'; parts: TextQuery<L>[] }
  | { kind: 'not'; part: TextQuery<L> };

type Token = { kind: 'lexeme'; lexeme: string } | { kind: '!' | '&' | '|' | '(' | ')' };

/** The tokens of a tsquery's text, or undefined for a form this reader does not take. */
function tokens(text: string): Token[] | undefined {
  const found: Token[] = [];
  let at = 0;
  while (at < text.length) {
    const char = text[at]!;
    if (char === ' ') {
      at += 1;
    } else if (char === "'") {
      let lexeme = '';
      at += 1;
      for (;;) {
        if (at >= text.length) return undefined;
        if (text[at] === "'") {
          if (text[at + 1] !== "'") break;
          at += 1;
        }
        lexeme += text[at];
        at += 1;
      }
      at += 1;
      if (text[at] === ':') return undefined;
      found.push({ kind: 'lexeme', lexeme });
    } else if (char === '!' || char === '&' || char === '|' || char === '(' || char === ')') {
      found.push({ kind: char });
      at += 1;
    } else {
      return undefined;
    }
  }
  return found;
}

/**
 * The tree of a tsquery's text as PostgreSQL writes it (`'a' & !'b' | 'c'`), with its
 * precedence: NOT binds tightest, then AND, then OR. Undefined for an empty query and for
 * phrases, weights and prefixes.
 */
export function parseTextQuery(text: string): TextQuery | undefined {
  const list = tokens(text);
  if (list === undefined || list.length === 0) return undefined;
  let at = 0;
  const peek = () => list[at]?.kind;

  const unary = (): TextQuery | undefined => {
    const token = list[at];
    at += 1;
    if (token === undefined) return undefined;
    if (token.kind === 'lexeme') return token;
    if (token.kind === '!') {
      const part = unary();
      return part === undefined ? undefined : { kind: 'not', part };
    }
    if (token.kind !== '(') return undefined;
    const inner = either();
    if (inner === undefined || peek() !== ')') return undefined;
    at += 1;
    return inner;
  };
  const joined = (operator: '&' | '|', next: () => TextQuery | undefined) => {
    const first = next();
    if (first === undefined) return undefined;
    const parts = [first];
    while (peek() === operator) {
      at += 1;
      const part = next();
      if (part === undefined) return undefined;
      parts.push(part);
    }
    const kind = operator === '&' ? 'and' : 'or';
    return parts.length === 1 ? first : ({ kind, parts } as TextQuery);
  };
  const both = () => joined('&', unary);
  const either = (): TextQuery | undefined => joined('|', both);

  const tree = either();
  return tree === undefined || at !== list.length ? undefined : tree;
}

/** The same query with each lexeme replaced, e.g. by its number in a dictionary. */
export function mapLexemes<L, M>(query: TextQuery<L>, map: (lexeme: L) => M): TextQuery<M> {
  switch (query.kind) {
    case 'lexeme':
      return { kind: 'lexeme', lexeme: map(query.lexeme) };
    case 'not':
      return { kind: 'not', part: mapLexemes(query.part, map) };
    default:
      return { kind: query.kind, parts: query.parts.map((part) => mapLexemes(part, map)) };
  }
}
