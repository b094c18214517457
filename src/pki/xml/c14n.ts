// Canonical XML 1.0 and Exclusive c14n 1.0 over an @xmldom/xmldom tree, for the subsets XMLDSig
// same-document references give: a document or an element subtree, minus excluded subtrees.
import type { Attr, Document, Element, Node } from '@xmldom/xmldom';
import { PkiError } from '../errors.js';
import { NodeKind, XML_NS, XMLNS_NS } from './parse.js';

export interface C14nMethod {
  exclusive: boolean;
  withComments: boolean;
}

/** Canonicalization algorithm URIs as they appear in CanonicalizationMethod and Transform. */
export const c14nMethods: Readonly<Record<string, C14nMethod>> = {
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315': { exclusive: false, withComments: false },
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments': {
    exclusive: false,
    withComments: true,
  },
  'http://www.w3.org/2001/10/xml-exc-c14n#': { exclusive: true, withComments: false },
  'http://www.w3.org/2001/10/xml-exc-c14n#WithComments': { exclusive: true, withComments: true },
};

export interface C14nOptions extends C14nMethod {
  /** Exclusive c14n only: prefixes treated inclusively; `#default` is the default namespace. */
  inclusivePrefixes?: readonly string[];
  /** Subtrees left out of the node set (the enveloped-signature transform). */
  excluded?: ReadonlySet<Node>;
  /** Nodes left to visit, shared across calls to bound the work one document may cause. */
  budget?: { nodes: number };
}

type NamespaceMap = ReadonlyMap<string, string>;

/** Lexicographic order of code points, as c14n requires (not UTF-16 code units). */
export function compareCodePoints(a: string, b: string): number {
  const left = Array.from(a);
  const right = Array.from(b);
  const n = Math.min(left.length, right.length);
  for (let i = 0; i < n; i++) {
    const x = left[i]?.codePointAt(0) ?? 0;
    const y = right[i]?.codePointAt(0) ?? 0;
    if (x !== y) return x - y;
  }
  return left.length - right.length;
}

function escapeText(value: string): string {
  return value.replace(/[&<>\r]/g, (c) => TEXT_ESCAPES[c] ?? c);
}

function escapeAttribute(value: string): string {
  return value.replace(/[&<"\t\n\r]/g, (c) => ATTRIBUTE_ESCAPES[c] ?? c);
}

const TEXT_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '\r': '&#xD;',
};

const ATTRIBUTE_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '"': '&quot;',
  '\t': '&#x9;',
  '\n': '&#xA;',
  '\r': '&#xD;',
};

function attributesOf(element: Element): Attr[] {
  const list: Attr[] = [];
  const attributes = element.attributes;
  for (let i = 0; i < attributes.length; i++) {
    const attr = attributes.item(i);
    if (attr) list.push(attr);
  }
  return list;
}

function isNamespaceDeclaration(attr: Attr): boolean {
  return attr.namespaceURI === XMLNS_NS;
}

/** The prefix an xmlns attribute declares: '' for the default namespace. */
function declaredPrefix(attr: Attr): string {
  return attr.prefix === 'xmlns' ? (attr.localName ?? '') : '';
}

function withDeclarations(inherited: NamespaceMap, element: Element): NamespaceMap {
  let scope: Map<string, string> | undefined;
  for (const attr of attributesOf(element)) {
    if (!isNamespaceDeclaration(attr)) continue;
    scope ??= new Map(inherited);
    scope.set(declaredPrefix(attr), attr.value);
  }
  return scope ?? inherited;
}

function ancestorsOf(node: Node): Element[] {
  const chain: Element[] = [];
  for (let p = node.parentNode; p && p.nodeType === NodeKind.element; p = p.parentNode) {
    chain.push(p as Element);
  }
  return chain;
}

/** Namespaces in scope just above `element`, from its ancestors. */
function inheritedNamespaces(element: Element): NamespaceMap {
  let scope: NamespaceMap = new Map();
  for (const ancestor of ancestorsOf(element).reverse()) scope = withDeclarations(scope, ancestor);
  return scope;
}

function visiblyUtilized(element: Element): Set<string> {
  const used = new Set<string>([element.prefix ?? '']);
  for (const attr of attributesOf(element)) {
    if (isNamespaceDeclaration(attr) || !attr.prefix || attr.prefix === 'xml') continue;
    used.add(attr.prefix);
  }
  return used;
}

/** Namespace declarations to emit on `element`, given what output ancestors already rendered. */
function namespacesToRender(
  element: Element,
  scope: NamespaceMap,
  rendered: NamespaceMap,
  options: C14nOptions,
): [string, string][] {
  let candidates: Iterable<string>;
  if (options.exclusive) {
    const set = visiblyUtilized(element);
    for (const p of options.inclusivePrefixes ?? []) {
      const prefix = p === '#default' ? '' : p;
      if (scope.has(prefix)) set.add(prefix);
    }
    candidates = set;
  } else {
    candidates = scope.keys();
  }
  const out: [string, string][] = [];
  for (const prefix of candidates) {
    if (prefix === 'xml') continue;
    const uri = scope.get(prefix) ?? '';
    const before = rendered.get(prefix) ?? '';
    if (prefix === '' && uri === '') {
      if (before !== '') out.push(['', '']);
    } else if (!rendered.has(prefix) || before !== uri) {
      out.push([prefix, uri]);
    }
  }
  return out.sort((a, b) => compareCodePoints(a[0], b[0]));
}

/** xml:* attributes an apex element inherits in inclusive c14n 1.0 (nearest ancestor wins). */
function inheritedXmlAttributes(element: Element): Map<string, Attr> {
  const found = new Map<string, Attr>();
  for (const ancestor of ancestorsOf(element)) {
    for (const attr of attributesOf(ancestor)) {
      if (attr.namespaceURI === XML_NS && !found.has(attr.localName ?? '')) {
        found.set(attr.localName ?? '', attr);
      }
    }
  }
  return found;
}

function renderStartTag(
  element: Element,
  namespaces: [string, string][],
  extraAttributes: Attr[],
): string {
  const own = attributesOf(element).filter((a) => !isNamespaceDeclaration(a));
  const ownXml = new Set(own.filter((a) => a.namespaceURI === XML_NS).map((a) => a.localName));
  const attributes = own.concat(extraAttributes.filter((a) => !ownXml.has(a.localName)));
  attributes.sort(
    (a, b) =>
      compareCodePoints(a.namespaceURI ?? '', b.namespaceURI ?? '') ||
      compareCodePoints(a.localName ?? a.name, b.localName ?? b.name),
  );
  let out = `<${element.nodeName}`;
  for (const [prefix, uri] of namespaces) {
    out +=
      prefix === ''
        ? ` xmlns="${escapeAttribute(uri)}"`
        : ` xmlns:${prefix}="${escapeAttribute(uri)}"`;
  }
  for (const attr of attributes) out += ` ${attr.name}="${escapeAttribute(attr.value)}"`;
  return out + '>';
}

function renderProcessingInstruction(node: Node): string {
  const data = node.nodeValue ?? '';
  return data === '' ? `<?${node.nodeName}?>` : `<?${node.nodeName} ${data}?>`;
}

interface OpenElement {
  kind: 'open';
  node: Node;
  scope: NamespaceMap;
  rendered: NamespaceMap;
  apex: boolean;
}

type Step = OpenElement | { kind: 'close'; text: string };

/**
 * Canonicalizes `apex` (a Document or an Element subtree) and returns the canonical text; the
 * caller encodes it as UTF-8. The tree is walked with an explicit stack, so depth cannot overflow.
 */
export function canonicalize(apex: Document | Element, options: C14nOptions): string {
  const excluded = options.excluded ?? new Set<Node>();
  const budget = options.budget;
  const parts: string[] = [];
  const emit = (
    node: Node,
    scope: NamespaceMap,
    rendered: NamespaceMap,
    isApex: boolean,
  ): Step[] => {
    if (excluded.has(node)) return [];
    if (budget) {
      budget.nodes -= 1;
      if (budget.nodes < 0) {
        throw new PkiError('xml.too_large', 'the document needs too much canonicalization work');
      }
    }
    switch (node.nodeType) {
      case NodeKind.element: {
        const element = node as Element;
        const here = withDeclarations(scope, element);
        const namespaces = namespacesToRender(element, here, rendered, options);
        const extra =
          isApex && !options.exclusive ? Array.from(inheritedXmlAttributes(element).values()) : [];
        parts.push(renderStartTag(element, namespaces, extra));
        let nextRendered = rendered;
        if (namespaces.length > 0) {
          const copy = new Map(rendered);
          for (const [prefix, uri] of namespaces) copy.set(prefix, uri);
          nextRendered = copy;
        }
        const steps: Step[] = [];
        for (let child = element.firstChild; child; child = child.nextSibling) {
          steps.push({
            kind: 'open',
            node: child,
            scope: here,
            rendered: nextRendered,
            apex: false,
          });
        }
        steps.push({ kind: 'close', text: `</${element.nodeName}>` });
        return steps;
      }
      case NodeKind.text:
      case NodeKind.cdata:
        parts.push(escapeText(node.nodeValue ?? ''));
        return [];
      case NodeKind.comment:
        if (options.withComments) parts.push(`<!--${node.nodeValue ?? ''}-->`);
        return [];
      case NodeKind.processingInstruction:
        parts.push(renderProcessingInstruction(node));
        return [];
      default:
        return [];
    }
  };
  const walk = (root: Node, scope: NamespaceMap): void => {
    const stack: Step[] = [{ kind: 'open', node: root, scope, rendered: new Map(), apex: true }];
    while (stack.length > 0) {
      const step = stack.pop();
      if (!step) break;
      if (step.kind === 'close') {
        parts.push(step.text);
        continue;
      }
      const next = emit(step.node, step.scope, step.rendered, step.apex);
      for (let i = next.length - 1; i >= 0; i--) stack.push(next[i] as Step);
    }
  };

  if (apex.nodeType === NodeKind.element) {
    walk(apex, inheritedNamespaces(apex as Element));
    return parts.join('');
  }
  if (apex.nodeType !== NodeKind.document) {
    throw new PkiError('xml.malformed', 'only a document or an element can be canonicalized');
  }
  let afterRoot = false;
  for (let child = apex.firstChild; child; child = child.nextSibling) {
    if (excluded.has(child)) continue;
    if (child.nodeType === NodeKind.element) {
      walk(child, new Map());
      afterRoot = true;
      continue;
    }
    const isDeclaration =
      child.nodeType === NodeKind.processingInstruction && child.nodeName === 'xml';
    const visible =
      (child.nodeType === NodeKind.processingInstruction && !isDeclaration) ||
      (child.nodeType === NodeKind.comment && options.withComments);
    if (!visible) continue;
    const text =
      child.nodeType === NodeKind.comment
        ? `<!--${child.nodeValue ?? ''}-->`
        : renderProcessingInstruction(child);
    parts.push(afterRoot ? `\n${text}` : `${text}\n`);
  }
  return parts.join('');
}
