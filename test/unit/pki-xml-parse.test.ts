// Safe XML parsing: DTDs and entity bombs refused, size/depth/node limits, malformed input, and
// fuzzing with random and mutated real documents (only PkiError may ever escape).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parseXml } from '../../src/pki/xml/parse.js';
import { canonicalize } from '../../src/pki/xml/c14n.js';
import { PkiError } from '../../src/pki/errors.js';

const vectors = new URL('../../../shared/kz-eds-vectors/xml/', import.meta.url);
const realDocuments = ['xml_signed_rsa_1signer.xml', 'soap_wsse_signed.xml'].map((name) =>
  readFileSync(new URL(name, vectors)),
);

function codeOf(run: () => unknown): string {
  try {
    run();
    return 'ok';
  } catch (error) {
    if (error instanceof PkiError) return error.code;
    throw error;
  }
}

function timed(run: () => unknown): { code: string; ms: number } {
  const start = performance.now();
  const code = codeOf(run);
  return { code, ms: performance.now() - start };
}

test('entity expansion bombs and external entities are refused before any expansion', () => {
  const laughs =
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n' +
    Array.from(
      { length: 9 },
      (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">\n`,
    ).join('') +
    ']>\n<lolz>&lol9;</lolz>';
  const { code, ms } = timed(() => parseXml(laughs));
  assert.equal(code, 'xml.forbidden_dtd');
  assert.ok(ms < 2000);
  const xxe = '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>';
  assert.equal(
    codeOf(() => parseXml(xxe)),
    'xml.forbidden_dtd',
  );
  assert.equal(
    codeOf(() => parseXml('<!DOCTYPE r><r/>')),
    'xml.forbidden_dtd',
  );
  assert.equal(
    codeOf(() => parseXml('<r>&undeclared;</r>')),
    'xml.malformed',
  );
  // A DOCTYPE mentioned inside a comment or CDATA is only text.
  assert.equal(
    codeOf(() => parseXml('<r><!-- <!DOCTYPE x> --><![CDATA[<!ENTITY]]></r>')),
    'ok',
  );
});

test('deep nesting is refused quickly with xml.too_deep', () => {
  const deep = '<a>'.repeat(100_000) + '</a>'.repeat(100_000);
  const result = timed(() => parseXml(deep));
  assert.equal(result.code, 'xml.too_deep');
  assert.ok(result.ms < 2000, `took ${result.ms} ms`);
  assert.equal(
    codeOf(() => parseXml('<a>'.repeat(20) + '</a>'.repeat(20), { maxDepth: 20 })),
    'ok',
  );
  assert.equal(
    codeOf(() => parseXml('<a>'.repeat(21) + '</a>'.repeat(21), { maxDepth: 20 })),
    'xml.too_deep',
  );
});

test('huge inputs and node floods are refused with xml.too_large', () => {
  const big = '<r>' + 'x'.repeat(11 * 1024 * 1024) + '</r>';
  assert.equal(
    codeOf(() => parseXml(big)),
    'xml.too_large',
  );
  assert.equal(
    codeOf(() => parseXml(Buffer.from(big))),
    'xml.too_large',
  );
  assert.equal(
    codeOf(() => parseXml('<r>' + 'x'.repeat(100) + '</r>', { maxBytes: 50 })),
    'xml.too_large',
  );
  const wide = timed(() => parseXml('<r>' + '<b/>'.repeat(1_000_000) + '</r>'));
  assert.equal(wide.code, 'xml.too_large');
  assert.ok(wide.ms < 2000, `took ${wide.ms} ms`);
  const lessThans = timed(() => parseXml('<r>' + '<'.repeat(1_000_000) + '</r>'));
  assert.notEqual(lessThans.code, 'ok');
  assert.ok(lessThans.ms < 2000, `took ${lessThans.ms} ms`);
  const endTags = timed(() => parseXml('<r>' + '</r>'.repeat(1_000_000)));
  assert.equal(endTags.code, 'xml.malformed');
  assert.ok(endTags.ms < 2000, `took ${endTags.ms} ms`);
  const attributes =
    '<r ' + Array.from({ length: 300_000 }, (_, i) => `a${i}="1"`).join(' ') + '/>';
  assert.equal(
    codeOf(() => parseXml(attributes)),
    'xml.too_large',
  );
});

test('malformed documents give xml.malformed', () => {
  const cases = [
    '',
    'junk',
    '<a>',
    '<a><b></a>',
    '<a/><b/>',
    '<a/>trailing',
    '<q:a/>',
    '<a q:b="1"/>',
    '<a b="1" b="2"/>',
    '<a x=1/>',
    '<a b/>',
    '<a b="<"/>',
    '<a>\u0001</a>',
    '<a>\ud800</a>',
    '<a xmlns:p=""/>',
    '<a xmlns:xmlns="urn:x"/>',
    '<a xmlns:xml="urn:not-xml"/>',
    '<a><!-- never closed </a>',
    '<a><![CDATA[ never closed </a>',
    '<a><? never closed </a>',
    '<a><!WHAT></a>',
    '<?xml version="1.0" encoding="UTF-16"?><a/>',
    '<?xml version="1.0" encoding="windows-1251"?><a>\u0416</a>',
    ' <?xml version="1.0"?><a/>',
  ];
  for (const input of cases) {
    assert.equal(
      codeOf(() => parseXml(input)),
      'xml.malformed',
      JSON.stringify(input),
    );
  }
  assert.equal(
    codeOf(() => parseXml(Uint8Array.from([0x3c, 0x61, 0x3e, 0xff, 0x3c, 0x2f, 0x61, 0x3e]))),
    'xml.malformed',
  );
});

test('accepted documents: BOM, UTF-8 bytes, Cyrillic, CDATA, xml prefix', () => {
  const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<a>Тест</a>')]);
  assert.equal(parseXml(bom).documentElement?.textContent, 'Тест');
  assert.equal(parseXml('\ufeff<a/>').documentElement?.nodeName, 'a');
  assert.equal(
    parseXml('<a xml:lang="kk"><![CDATA[<x>]]></a>').documentElement?.textContent,
    '<x>',
  );
});

function mutate(bytes: Uint8Array, edits: [number, number, number][]): Uint8Array {
  const out = Array.from(bytes);
  for (const [kind, position, value] of edits) {
    const at = out.length === 0 ? 0 : position % out.length;
    if (kind === 0) out[at] = value;
    else if (kind === 1) out.splice(at, 0, value);
    else if (kind === 2) out.splice(at, 1 + (value % 16));
    else out.splice(at, 0, ...out.slice(at, at + (value % 64)));
  }
  return Uint8Array.from(out);
}

function parseAndCanonicalize(input: string | Uint8Array): void {
  const doc = parseXml(input, { maxBytes: 64 * 1024, maxDepth: 64, maxNodes: 5000 });
  canonicalize(doc, { exclusive: false, withComments: true });
  const root = doc.documentElement;
  if (root) canonicalize(root, { exclusive: true, withComments: false });
}

test('fuzz xml parser: random text, markup soup and mutated real documents', () => {
  let tried = 0;
  const onlyPkiErrors = (input: string | Uint8Array): void => {
    tried += 1;
    try {
      parseAndCanonicalize(input);
    } catch (error) {
      if (!(error instanceof PkiError)) throw error;
    }
  };
  const markup = fc
    .array(
      fc.constantFrom(
        '<a>',
        '</a>',
        '<b x="1">',
        '</b>',
        '<p:c xmlns:p="urn:p">',
        '</p:c>',
        '<d/>',
        'text',
        '&amp;',
        '&lt;',
        '&#x41;',
        '&#0;',
        '&bogus;',
        '<!--c-->',
        '<?pi d?>',
        '<![CDATA[z]]>',
        '<!DOCTYPE',
        '<!ENTITY',
        '"',
        "'",
        '=',
        '>',
        '<',
        ' ',
        '\r\n',
        'xmlns=""',
        '\u0416',
        '\ud800',
        '<?xml version="1.0"?>',
        ']]>',
        '--',
        '/>',
        'xml:lang="en"',
      ),
      { maxLength: 60 },
    )
    .map((parts) => parts.join(''));
  fc.assert(fc.property(fc.string({ maxLength: 200 }), onlyPkiErrors), { numRuns: 1500 });
  fc.assert(fc.property(markup, onlyPkiErrors), { numRuns: 3000 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), onlyPkiErrors), { numRuns: 1000 });
  const edit = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.nat(), fc.integer({ min: 0, max: 255 }));
  fc.assert(
    fc.property(
      fc.constantFrom(...realDocuments),
      fc.array(edit, { minLength: 1, maxLength: 8 }),
      (document, edits) => onlyPkiErrors(mutate(document, edits)),
    ),
    { numRuns: 1500 },
  );
  console.log(`fuzz xml parse+c14n: ${tried} inputs`);
  assert.ok(tried >= 7000);
});
