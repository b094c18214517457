// Canonical XML 1.0 and Exclusive c14n against the examples of the W3C specifications
// (REC-xml-c14n-20010315 section 3, REC-xml-exc-c14n-20020718 section 2.2) and the NCA vectors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Element } from '@xmldom/xmldom';
import fc from 'fast-check';
import { canonicalize, compareCodePoints } from '../../src/pki/xml/c14n.js';
import { parseXml } from '../../src/pki/xml/parse.js';
import { PkiError } from '../../src/pki/errors.js';

const vectors = new URL('../../../shared/kz-eds-vectors/xml/', import.meta.url);
const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const inclusive = { exclusive: false, withComments: false };
const inclusiveWithComments = { exclusive: false, withComments: true };
const exclusive = { exclusive: true, withComments: false };

function firstByName(xml: ReturnType<typeof parseXml>, name: string): Element {
  const found = xml.getElementsByTagName(name).item(0);
  assert.ok(found, `no element ${name}`);
  return found;
}

test('c14n 3.1: PIs, comments and content outside the document element', () => {
  // The spec's input also has `<!DOCTYPE doc SYSTEM "doc.dtd">`, which changes nothing in the
  // output; DTDs are refused outright here, so the example runs without that line.
  const input =
    '<?xml version="1.0"?>\n\n<?xml-stylesheet   href="doc.xsl"\n   type="text/xsl"   ?>\n\n' +
    '<doc>Hello, world!<!-- Comment 1 --></doc>\n\n<?pi-without-data     ?>\n\n' +
    '<!-- Comment 2 -->\n\n<!-- Comment 3 -->\n';
  const doc = parseXml(input);
  assert.equal(
    canonicalize(doc, inclusive),
    '<?xml-stylesheet href="doc.xsl"\n   type="text/xsl"   ?>\n<doc>Hello, world!</doc>\n' +
      '<?pi-without-data?>',
  );
  assert.equal(
    canonicalize(doc, inclusiveWithComments),
    '<?xml-stylesheet href="doc.xsl"\n   type="text/xsl"   ?>\n' +
      '<doc>Hello, world!<!-- Comment 1 --></doc>\n<?pi-without-data?>\n' +
      '<!-- Comment 2 -->\n<!-- Comment 3 -->',
  );
  const withDoctype = input.replace('<doc>', '<!DOCTYPE doc SYSTEM "doc.dtd">\n\n<doc>');
  assert.throws(() => parseXml(withDoctype), { code: 'xml.forbidden_dtd' });
});

test('c14n 3.2: whitespace in document content is kept as is', () => {
  const input =
    '<doc>\n   <clean>   </clean>\n   <dirty>   A   B   </dirty>\n   <mixed>\n      A\n' +
    '      <clean>   </clean>\n      B\n      <dirty>   A   B   </dirty>\n      C\n' +
    '   </mixed>\n</doc>';
  assert.equal(canonicalize(parseXml(input), inclusive), input);
});

test('c14n 3.3: start and end tags, namespace and attribute order, superfluous xmlns', () => {
  const body =
    '<doc>\n   <e1   />\n   <e2   ></e2>\n   <e3   name = "elem3"   id="elem3"   />\n' +
    '   <e4   name="elem4"   id="elem4"   ></e4>\n' +
    '   <e5 a:attr="out" b:attr="sorted" attr2="all" attr="I\'m"\n' +
    '      xmlns:b="http://www.ietf.org"\n      xmlns:a="http://www.w3.org"\n' +
    '      xmlns="http://example.org"/>\n' +
    '   <e6 xmlns="" xmlns:a="http://www.w3.org">\n' +
    '      <e7 xmlns="http://www.ietf.org">\n' +
    '         <e8 xmlns="" xmlns:a="http://www.w3.org">\n' +
    '            <e9 xmlns="" xmlns:a="http://www.ietf.org"/>\n' +
    '         </e8>\n      </e7>\n   </e6>\n</doc>';
  // The spec's expected output, except that e9 lacks attr="default": that attribute comes from
  // the example's internal DTD subset, which this parser refuses.
  const expected =
    '<doc>\n   <e1></e1>\n   <e2></e2>\n   <e3 id="elem3" name="elem3"></e3>\n' +
    '   <e4 id="elem4" name="elem4"></e4>\n' +
    '   <e5 xmlns="http://example.org" xmlns:a="http://www.w3.org" ' +
    'xmlns:b="http://www.ietf.org" attr="I\'m" attr2="all" b:attr="sorted" a:attr="out"></e5>\n' +
    '   <e6 xmlns:a="http://www.w3.org">\n      <e7 xmlns="http://www.ietf.org">\n' +
    '         <e8 xmlns="">\n            <e9 xmlns:a="http://www.ietf.org"></e9>\n' +
    '         </e8>\n      </e7>\n   </e6>\n</doc>';
  assert.equal(canonicalize(parseXml(body), inclusive), expected);
  const withDtd = '<!DOCTYPE doc [<!ATTLIST e9 attr CDATA "default">]>\n' + body;
  assert.throws(() => parseXml(withDtd), { code: 'xml.forbidden_dtd' });
});

test('c14n 3.4: character modifications and character references', () => {
  const input =
    '<doc>\n   <text>First line&#x0d;&#10;Second line</text>\n   <value>&#x32;</value>\n' +
    '   <compute><![CDATA[value>"0" && value<"10" ?"valid":"error"]]></compute>\n' +
    '   <compute expr=\'value>"0" &amp;&amp; value&lt;"10" ?"valid":"error"\'>valid</compute>\n' +
    "   <norm attr=' &apos;   &#x20;&#13;&#xa;&#9;   &apos; '/>\n</doc>";
  const expected =
    '<doc>\n   <text>First line&#xD;\nSecond line</text>\n   <value>2</value>\n' +
    '   <compute>value&gt;"0" &amp;&amp; value&lt;"10" ?"valid":"error"</compute>\n' +
    '   <compute expr="value>&quot;0&quot; &amp;&amp; value&lt;&quot;10&quot; ' +
    '?&quot;valid&quot;:&quot;error&quot;">valid</compute>\n' +
    '   <norm attr=" \'    &#xD;&#xA;&#x9;   \' "></norm>\n</doc>';
  assert.equal(canonicalize(parseXml(input), inclusive), expected);
  // normNames and normId of the example are normalised per their DTD types (NMTOKENS, ID); with
  // no DTD they are CDATA attributes, so only CDATA normalisation applies.
  const cdataOnly = "<normId id=' &apos;   &#x20;&#13;&#xa;&#9;   &apos; '/>";
  assert.equal(
    canonicalize(parseXml(cdataOnly), inclusive),
    '<normId id=" \'    &#xD;&#xA;&#x9;   \' "></normId>',
  );
});

test('c14n 3.5: the entity reference example needs a DTD and is refused', () => {
  const input =
    '<!DOCTYPE doc [\n<!ATTLIST doc attrExtEnt ENTITY #IMPLIED>\n' +
    '<!ENTITY ent1 "Hello">\n<!ENTITY ent2 SYSTEM "world.txt">\n' +
    '<!ENTITY entExt SYSTEM "earth.gif" NDATA gif>\n<!NOTATION gif SYSTEM "viewgif.exe">\n]>\n' +
    '<doc attrExtEnt="entExt">\n   &ent1;, &ent2;!\n</doc>\n\n' +
    '<!-- Let world.txt contain "world" -->';
  assert.throws(() => parseXml(input), { code: 'xml.forbidden_dtd' });
});

test('c14n 3.6: output is UTF-8, character references become characters', () => {
  const doc = parseXml('<?xml version="1.0" encoding="ISO-8859-1"?>\n<doc>&#169;</doc>');
  const bytes = Buffer.from(canonicalize(doc, inclusive), 'utf8');
  assert.deepEqual([...bytes], [...Buffer.from('<doc>'), 0xc2, 0xa9, ...Buffer.from('</doc>')]);
});

test('c14n 3.7 (subset): an element subset inherits namespaces and xml:* attributes', () => {
  // The 3.7 document with the ID and xml:space defaults written out, since DTDs are refused.
  const doc = parseXml(
    '<doc xmlns="http://www.ietf.org" xmlns:w3c="http://www.w3.org">\n   <e1>\n' +
      '      <e2 xmlns="" xml:space="preserve">\n         <e3 id="E3"/>\n      </e2>\n' +
      '   </e1>\n</doc>',
  );
  const e3 = firstByName(doc, 'e3');
  assert.equal(
    canonicalize(e3, inclusive),
    '<e3 xmlns:w3c="http://www.w3.org" id="E3" xml:space="preserve"></e3>',
  );
  assert.equal(canonicalize(e3, exclusive), '<e3 id="E3"></e3>');
  const e1 = firstByName(doc, 'e1');
  assert.equal(
    canonicalize(e1, inclusive),
    '<e1 xmlns="http://www.ietf.org" xmlns:w3c="http://www.w3.org">\n' +
      '      <e2 xmlns="" xml:space="preserve">\n         <e3 id="E3"></e3>\n      </e2>\n' +
      '   </e1>',
  );
});

test('c14n 1.0 copies every xml:* attribute of ancestors onto a subset apex', () => {
  // The 1.0 rule that Canonical XML 1.1 (its example 3.8) later narrowed for xml:id and xml:base.
  const doc = parseXml(
    '<doc xmlns="http://www.ietf.org" xmlns:w3c="http://www.w3.org" xml:base="something/else">' +
      '<e1><e2 xmlns="" xml:id="abc" xml:base="bar/"><e3 id="E3" xml:base="foo"/></e2></e1></doc>',
  );
  const e3 = firstByName(doc, 'e3');
  assert.equal(
    canonicalize(e3, inclusive),
    '<e3 xmlns:w3c="http://www.w3.org" id="E3" xml:base="foo" xml:id="abc"></e3>',
  );
  assert.equal(canonicalize(e3, exclusive), '<e3 id="E3" xml:base="foo"></e3>');
});

test('exc-c14n 2.2: the same subtree in two contexts gives one exclusive form', () => {
  const first = parseXml(
    '<n0:local xmlns:n0="foo:bar" xmlns:n3="ftp://example.org">\n' +
      '  <n1:elem2 xmlns:n1="http://example.net" xml:lang="en">\n' +
      '     <n3:stuff xmlns:n3="ftp://example.org"/>\n  </n1:elem2>\n</n0:local>',
  );
  const second = parseXml(
    '<n2:pdu xmlns:n1="http://example.com"\n           xmlns:n2="http://foo.example"\n' +
      '           xml:lang="fr"\n           xml:space="retain">\n' +
      '  <n1:elem2 xmlns:n1="http://example.net"\n            xml:lang="en">\n' +
      '     <n3:stuff xmlns:n3="ftp://example.org"/>\n  </n1:elem2>\n</n2:pdu>',
  );
  const elem1 = firstByName(first, 'n1:elem2');
  const elem2 = firstByName(second, 'n1:elem2');
  assert.equal(
    canonicalize(elem1, inclusive),
    '<n1:elem2 xmlns:n0="foo:bar" xmlns:n1="http://example.net" xmlns:n3="ftp://example.org" ' +
      'xml:lang="en">\n     <n3:stuff></n3:stuff>\n  </n1:elem2>',
  );
  assert.equal(
    canonicalize(elem2, inclusive),
    '<n1:elem2 xmlns:n1="http://example.net" xmlns:n2="http://foo.example" xml:lang="en" ' +
      'xml:space="retain">\n     <n3:stuff xmlns:n3="ftp://example.org"></n3:stuff>\n' +
      '  </n1:elem2>',
  );
  const expected =
    '<n1:elem2 xmlns:n1="http://example.net" xml:lang="en">\n' +
    '     <n3:stuff xmlns:n3="ftp://example.org"></n3:stuff>\n  </n1:elem2>';
  assert.equal(canonicalize(elem1, exclusive), expected);
  assert.equal(canonicalize(elem2, exclusive), expected);
});

test('exc-c14n: InclusiveNamespaces PrefixList and the default namespace', () => {
  const doc = parseXml(
    '<r xmlns="urn:d" xmlns:a="urn:a" xmlns:b="urn:b"><x:e xmlns:x="urn:x" a:k="1">' +
      '<f/><g xmlns=""/></x:e></r>',
  );
  const e = firstByName(doc, 'x:e');
  assert.equal(
    canonicalize(e, exclusive),
    '<x:e xmlns:a="urn:a" xmlns:x="urn:x" a:k="1"><f xmlns="urn:d"></f><g></g></x:e>',
  );
  assert.equal(
    canonicalize(e, { ...exclusive, inclusivePrefixes: ['b', '#default'] }),
    '<x:e xmlns="urn:d" xmlns:a="urn:a" xmlns:b="urn:b" xmlns:x="urn:x" a:k="1">' +
      '<f></f><g xmlns=""></g></x:e>',
  );
});

test('document subsets drop excluded subtrees; comments follow the WithComments flag', () => {
  const doc = parseXml('<a><!--c--><b>t</b><s><x/></s></a>');
  const s = firstByName(doc, 's');
  assert.equal(canonicalize(doc, { ...inclusive, excluded: new Set([s]) }), '<a><b>t</b></a>');
  assert.equal(
    canonicalize(doc, { ...inclusiveWithComments, excluded: new Set([s]) }),
    '<a><!--c--><b>t</b></a>',
  );
});

test('attribute order is by namespace URI then local name, in code points', () => {
  const doc = parseXml('<e xmlns:z="urn:a" xmlns:y="urn:b" y:a="1" z:b="2" b="3" a="4"/>');
  assert.equal(
    canonicalize(doc, inclusive),
    '<e xmlns:y="urn:b" xmlns:z="urn:a" a="4" b="3" z:b="2" y:a="1"></e>',
  );
  assert.ok(compareCodePoints('\u{10000}', '\uffff') > 0);
  assert.ok(compareCodePoints('a', 'ab') < 0);
});

test('NCA vector: the enveloped RSA document digests to its DigestValue', () => {
  const doc = parseXml(readFileSync(new URL('xml_signed_rsa_1signer.xml', vectors)));
  const signature = doc.getElementsByTagNameNS(DSIG, 'Signature').item(0);
  assert.ok(signature);
  const text = canonicalize(doc, { ...inclusiveWithComments, excluded: new Set([signature]) });
  assert.equal(text, '<a><b>test</b></a>');
  const digest = createHash('sha256').update(text, 'utf8').digest('base64');
  assert.equal(digest, firstByName(doc, 'ds:DigestValue').textContent);
});

test('NCA vector: the WS-Security Body digests to its DigestValue under exclusive c14n', () => {
  const doc = parseXml(readFileSync(new URL('soap_wsse_signed.xml', vectors)));
  const body = firstByName(doc, 'SOAP-ENV:Body');
  const text = canonicalize(body, exclusive);
  assert.ok(text.startsWith('<SOAP-ENV:Body xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/'));
  assert.ok(!text.includes('xmlns:wsse'));
  const digest = createHash('sha256').update(text, 'utf8').digest('base64');
  assert.equal(digest, firstByName(doc, 'ds:DigestValue').textContent);
  assert.notEqual(
    createHash('sha256').update(canonicalize(body, inclusive)).digest('base64'),
    digest,
  );
});

test('canonicalize refuses nodes that are neither documents nor elements', () => {
  const doc = parseXml('<a>t</a>');
  const text = doc.documentElement?.firstChild;
  assert.ok(text);
  assert.throws(
    () => canonicalize(text as unknown as Element, inclusive),
    (e: unknown) => e instanceof PkiError && e.code === 'xml.malformed',
  );
});

/** Escapes generated text for the source document (the canonical form escapes on its own). */
function sourceText(text: string, quote = ''): string {
  let out = '';
  for (const c of text) {
    if (c === '&') out += '&amp;';
    else if (c === '<') out += '&lt;';
    else if (c === '>') out += '&gt;';
    else if (c === '\r') out += '&#13;';
    else if (quote && c === quote) out += '&quot;';
    else if (quote && c === '\t') out += '&#9;';
    else if (quote && c === '\n') out += '&#10;';
    else out += c;
  }
  return out;
}

const textArbitrary = fc
  .array(fc.constantFrom('a', 'Ж', '&', '<', '>', '"', "'", ' ', '\t', '\n', '\r', ']]>', '€'), {
    maxLength: 6,
  })
  .map((parts) => parts.join(''));

interface GeneratedElement {
  name: string;
  declarations: string[];
  attributes: [string, string][];
  children: (GeneratedElement | { text: string } | { comment: string })[];
}

const elementArbitrary: fc.Arbitrary<GeneratedElement> = fc.letrec<{ element: GeneratedElement }>(
  (tie) => ({
    element: fc.record({
      name: fc.constantFrom('e', 'p:e', 'q:f', 'g'),
      declarations: fc
        .subarray([
          'xmlns="urn:d1"',
          'xmlns=""',
          'xmlns:p="urn:p2"',
          'xmlns:q="urn:q1"',
          'xmlns:r="urn:r1"',
        ])
        .map((list) =>
          list.filter((d, i) => list.findIndex((o) => o.split('=')[0] === d.split('=')[0]) === i),
        ),
      attributes: fc.uniqueArray(
        fc.tuple(fc.constantFrom('a', 'b', 'p:c', 'q:d', 'xml:lang'), textArbitrary),
        { maxLength: 3, selector: ([name]) => name.replace(/^.*:/, '') },
      ),
      children: fc.array(
        fc.oneof(
          { depthSize: 'small' },
          textArbitrary.map((text) => ({ text })),
          fc.constantFrom('c', ' x ', '').map((comment) => ({ comment })),
          tie('element'),
        ),
        { maxLength: 3 },
      ),
    }),
  }),
).element;

function render(element: GeneratedElement): string {
  const attributes = element.attributes.map(([n, v]) => ` ${n}="${sourceText(v, '"')}"`).join('');
  const declarations = element.declarations.map((d) => ` ${d}`).join('');
  const children = element.children
    .map((child) => {
      if ('text' in child) return sourceText(child.text);
      if ('comment' in child) return `<!--${child.comment}-->`;
      return render(child);
    })
    .join('');
  return `<${element.name}${declarations}${attributes}>${children}</${element.name}>`;
}

test('property: canonical forms are fixed points, for documents and element subsets', () => {
  let runs = 0;
  const methods = [
    { exclusive: false, withComments: false },
    { exclusive: false, withComments: true },
    { exclusive: true, withComments: false },
    { exclusive: true, withComments: true },
  ];
  fc.assert(
    fc.property(elementArbitrary, fc.nat(), (element, pick) => {
      runs += 1;
      const root = '<root xmlns:p="urn:p1" xmlns:q="urn:q1" xml:lang="kk">';
      const source = `${root}${render(element)}</root>`;
      const doc = parseXml(source);
      for (const method of methods) {
        const canonical = canonicalize(doc, method);
        assert.equal(canonicalize(parseXml(canonical), method), canonical);
        const all = doc.getElementsByTagName('*');
        const apex = all.item(pick % all.length);
        assert.ok(apex);
        const subset = canonicalize(apex, method);
        assert.equal(canonicalize(parseXml(subset), method), subset);
      }
    }),
    { numRuns: 300 },
  );
  console.log(`property c14n fixed point: ${runs} documents x 4 methods`);
});
