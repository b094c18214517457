// Safe XML parsing for signed documents: size, depth and node-count limits, no DTD at all (which
// rules out entity bombs), strict UTF-8 and well-formedness, every refusal a PkiError.
import { DOMParser } from '@xmldom/xmldom';
import type { Document, Element, Node } from '@xmldom/xmldom';
import { PkiError } from '../errors.js';

export interface XmlLimits {
  /** Largest accepted input in UTF-8 bytes. */
  maxBytes: number;
  /** Deepest accepted element nesting. */
  maxDepth: number;
  /** Most nodes accepted: elements, attributes, comments, PIs, CDATA sections. */
  maxNodes: number;
  /** Most attributes (namespace declarations included) on one element. */
  maxAttributes: number;
}

export const defaultXmlLimits: XmlLimits = {
  maxBytes: 10 * 1024 * 1024,
  maxDepth: 256,
  maxNodes: 200_000,
  maxAttributes: 128,
};

export const NodeKind = {
  element: 1,
  attribute: 2,
  text: 3,
  cdata: 4,
  processingInstruction: 7,
  comment: 8,
  document: 9,
  documentType: 10,
} as const;

export const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
export const XML_NS = 'http://www.w3.org/XML/1998/namespace';

/** Offset of the first character outside the XML 1.0 Char production (or a lone surrogate). */
function forbiddenCharAt(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20) {
      if (c !== 0x9 && c !== 0xa && c !== 0xd) return i;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const low = text.charCodeAt(i + 1);
      if (!(low >= 0xdc00 && low <= 0xdfff)) return i;
      i += 1;
    } else if ((c >= 0xdc00 && c <= 0xdfff) || c === 0xfffe || c === 0xffff) {
      return i;
    }
  }
  return -1;
}

const DTD_MARKUP = ['<!DOCTYPE', '<!ENTITY', '<!ELEMENT', '<!ATTLIST', '<!NOTATION'];

function malformed(message: string): PkiError {
  return new PkiError('xml.malformed', message);
}

function decodeInput(input: string | Uint8Array, limits: XmlLimits): string {
  if (typeof input === 'string') {
    if (input.length > limits.maxBytes || Buffer.byteLength(input, 'utf8') > limits.maxBytes) {
      throw new PkiError('xml.too_large', `XML is larger than ${limits.maxBytes} bytes`);
    }
    return input.startsWith('\uFEFF') ? input.slice(1) : input;
  }
  if (input.length > limits.maxBytes) {
    throw new PkiError('xml.too_large', `XML is larger than ${limits.maxBytes} bytes`);
  }
  try {
    // The decoder drops a leading UTF-8 byte order mark itself.
    return new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch {
    throw malformed('XML is not valid UTF-8');
  }
}

function skipPast(text: string, from: number, terminator: string, what: string): number {
  const end = text.indexOf(terminator, from);
  if (end < 0) throw malformed(`unterminated ${what}`);
  return end + terminator.length;
}

/**
 * One linear pass over the raw text before the DOM parser sees it: refuses DTDs, and bounds depth
 * and markup count, because the DOM parser slows down badly on huge numbers of tags.
 */
function scanMarkup(text: string, limits: XmlLimits): void {
  let depth = 0;
  let nodes = 0;
  let markupEnd = 0;
  let i = text.indexOf('<');
  while (i >= 0 && i < text.length) {
    // The markup itself, and the text node before it if there is one.
    nodes += i > markupEnd ? 2 : 1;
    if (nodes > limits.maxNodes) {
      throw new PkiError('xml.too_large', `XML has more than ${limits.maxNodes} nodes`);
    }
    const next = text[i + 1];
    if (next === '!') {
      if (text.startsWith('<!--', i)) {
        i = skipPast(text, i + 4, '-->', 'comment');
      } else if (text.startsWith('<![CDATA[', i)) {
        i = skipPast(text, i + 9, ']]>', 'CDATA section');
      } else if (DTD_MARKUP.some((m) => text.startsWith(m, i))) {
        throw new PkiError('xml.forbidden_dtd', 'XML with a DOCTYPE or DTD markup is refused');
      } else {
        throw malformed(`unexpected markup at offset ${i}`);
      }
    } else if (next === '?') {
      i = skipPast(text, i + 2, '?>', 'processing instruction');
    } else if (next === '/') {
      // End tags close a node counted at its start tag.
      nodes -= 1;
      depth -= 1;
      if (depth < 0) throw malformed(`end tag without a start tag at offset ${i}`);
      i = skipPast(text, i + 2, '>', 'end tag');
    } else {
      let j = i + 1;
      let quote = '';
      let attributes = 0;
      for (; j < text.length; j++) {
        const c = text[j];
        if (quote) {
          if (c === quote) quote = '';
          else if (c === '<') throw malformed(`'<' inside an attribute value at offset ${j}`);
        } else if (c === '"' || c === "'") {
          quote = c;
        } else if (c === '>' || c === '<') {
          break;
        } else if (c === '=') {
          nodes += 1;
          attributes += 1;
        }
      }
      if (text[j] !== '>') throw malformed(`unterminated start tag at offset ${i}`);
      if (nodes > limits.maxNodes) {
        throw new PkiError('xml.too_large', `XML has more than ${limits.maxNodes} nodes`);
      }
      if (attributes > limits.maxAttributes) {
        throw new PkiError(
          'xml.too_large',
          `an element has over ${limits.maxAttributes} attributes`,
        );
      }
      if (text[j - 1] !== '/') {
        depth += 1;
        if (depth > limits.maxDepth) {
          throw new PkiError('xml.too_deep', `XML nests deeper than ${limits.maxDepth} elements`);
        }
      }
      i = j + 1;
    }
    markupEnd = i;
    i = text.indexOf('<', i);
  }
}

function checkNamespaceDeclarations(element: Element): void {
  const attributes = element.attributes;
  for (let k = 0; k < attributes.length; k++) {
    const attr = attributes.item(k);
    if (!attr || attr.namespaceURI !== XMLNS_NS) continue;
    if (attr.prefix === 'xmlns') {
      if (attr.localName === 'xmlns') throw malformed('the xmlns prefix cannot be declared');
      if (attr.value === '') throw malformed(`namespace prefix ${attr.localName} bound to ""`);
      if (attr.localName === 'xml' && attr.value !== XML_NS) {
        throw malformed('the xml prefix is bound to a wrong namespace');
      }
    }
    if (attr.value === XMLNS_NS) throw malformed('the xmlns namespace cannot be declared');
  }
}

/** Walks the tree without recursion, re-checking the limits on the built DOM. */
function checkTree(document: Document, limits: XmlLimits): void {
  let nodes = 0;
  const stack: { node: Node; depth: number }[] = [{ node: document, depth: 0 }];
  while (stack.length > 0) {
    const entry = stack.pop();
    if (!entry) break;
    const { node, depth } = entry;
    if (node.nodeType === NodeKind.documentType) {
      throw new PkiError('xml.forbidden_dtd', 'XML with a DOCTYPE is refused');
    }
    if (depth > limits.maxDepth) {
      throw new PkiError('xml.too_deep', `XML nests deeper than ${limits.maxDepth} elements`);
    }
    nodes += 1;
    if (node.nodeType === NodeKind.element) {
      const element = node as Element;
      nodes += element.attributes.length;
      if (element.attributes.length > limits.maxAttributes) {
        throw new PkiError(
          'xml.too_large',
          `an element has over ${limits.maxAttributes} attributes`,
        );
      }
      checkNamespaceDeclarations(element);
    }
    if (nodes > limits.maxNodes) {
      throw new PkiError('xml.too_large', `XML has more than ${limits.maxNodes} nodes`);
    }
    for (let child = node.firstChild; child; child = child.nextSibling) {
      stack.push({ node: child, depth: depth + 1 });
    }
  }
}

/**
 * Parses an XML document for signature work. Throws PkiError `xml.too_large`, `xml.too_deep`,
 * `xml.forbidden_dtd` or `xml.malformed`; never returns a partial tree.
 */
export function parseXml(input: string | Uint8Array, limits: Partial<XmlLimits> = {}): Document {
  const effective: XmlLimits = { ...defaultXmlLimits, ...limits };
  const text = decodeInput(input, effective);
  const declaration = /^<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']/.exec(text);
  const encoding = declaration?.[1] ?? 'UTF-8';
  // Pure ASCII reads the same in every ASCII-compatible single-byte encoding.
  const asciiCompatible = /^(us-ascii|iso-8859-\d+|windows-125\d|koi8-[ru])$/i.test(encoding);
  if (!/^utf-?8$/i.test(encoding) && !(asciiCompatible && /^[ -~\t\n\r]*$/.test(text))) {
    throw malformed(`only UTF-8 is accepted, the document declares ${encoding}`);
  }
  const bad = forbiddenCharAt(text);
  if (bad >= 0) {
    throw malformed(`character U+${text.charCodeAt(bad).toString(16)} at ${bad} is not allowed`);
  }
  scanMarkup(text, effective);
  let document: Document;
  try {
    const parser = new DOMParser({
      onError: (level, message) => {
        throw new PkiError('xml.malformed', `${level}: ${message}`);
      },
    });
    document = parser.parseFromString(text, 'text/xml');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new PkiError('xml.malformed', `XML is not well-formed: ${message.slice(0, 300)}`, {
      cause: error,
    });
  }
  if (!document.documentElement) throw malformed('XML has no root element');
  checkTree(document, effective);
  return document;
}

export interface RootElementEnd {
  /** Offset where the root's end tag starts, or of the `/>` closing an empty root. */
  offset: number;
  selfClosing: boolean;
  /** The root's qualified name as written. */
  name: string;
}

/**
 * Finds where the root element ends in the text of a document that parseXml accepted, so that a
 * signature can be appended as its last child without re-serialising (and so altering) the rest.
 */
export function rootElementEnd(text: string): RootElementEnd {
  let depth = 0;
  let name = '';
  let i = text.indexOf('<');
  while (i >= 0 && i < text.length) {
    const next = text[i + 1];
    if (text.startsWith('<!--', i)) {
      i = skipPast(text, i + 4, '-->', 'comment');
    } else if (text.startsWith('<![CDATA[', i)) {
      i = skipPast(text, i + 9, ']]>', 'CDATA section');
    } else if (next === '?') {
      i = skipPast(text, i + 2, '?>', 'processing instruction');
    } else if (next === '/') {
      depth -= 1;
      if (depth === 0) return { offset: i, selfClosing: false, name };
      i = skipPast(text, i + 2, '>', 'end tag');
    } else {
      let j = i + 1;
      let quote = '';
      for (; j < text.length; j++) {
        const c = text[j];
        if (quote) {
          if (c === quote) quote = '';
        } else if (c === '"' || c === "'") {
          quote = c;
        } else if (c === '>') {
          break;
        }
      }
      if (depth === 0) name = /^[^\s/>]+/.exec(text.slice(i + 1, i + 1 + 1024))?.[0] ?? '';
      if (text[j - 1] === '/') {
        if (depth === 0) return { offset: j - 1, selfClosing: true, name };
      } else {
        depth += 1;
      }
      i = j + 1;
    }
    i = text.indexOf('<', i);
  }
  throw malformed('the root element has no end');
}

/** The document text as parseXml reads it (decoded, byte order mark removed), size-checked. */
export function xmlText(input: string | Uint8Array, limits: Partial<XmlLimits> = {}): string {
  return decodeInput(input, { ...defaultXmlLimits, ...limits });
}
