/**
 * Just enough DOM for miniprogram-simulate (j-component + exparser) to render pages in Node.
 *
 *   const { installDom } = require('./mini-dom');
 *   installDom(globalThis);            // defines window, document, Node, Element, TouchEvent…
 *   require('miniprogram-simulate');   // exparser picks its DOM backend at load time
 *
 * Why not jsdom: it is not among the project's devDependencies, and the simulator only needs a
 * small part of a DOM — building a tree, attributes, text, a <style> in <head>, and events on one
 * node. What is here: Document, Element, Text, Comment, DocumentFragment (tree editing, cloning,
 * textContent, innerHTML as a serializer, attributes, classList, a style object, simple selectors:
 * `tag`, `#id`, `.class` and their combinations, no combinators). Events use Node's own
 * EventTarget/Event/CustomEvent: listeners run on the node an event is dispatched at; events do
 * not propagate to ancestors (the simulator dispatches WeChat events through exparser itself).
 * Setting innerHTML accepts plain text only (enough for <style> and for clearing).
 */
'use strict';

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const COMMENT_NODE = 8;
const DOCUMENT_NODE = 9;
const DOCUMENT_FRAGMENT_NODE = 11;

/** A live list of child nodes: an Array (so forEach/indexing work) with NodeList's item(). */
class NodeList extends Array {
  item(index) {
    return this[index] || null;
  }
}

class DomNode extends EventTarget {
  constructor(ownerDocument, nodeType, nodeName) {
    super();
    this.ownerDocument = ownerDocument;
    this.nodeType = nodeType;
    this.nodeName = nodeName;
    this.parentNode = null;
    this.childNodes = new NodeList();
  }

  get parentElement() {
    return this.parentNode && this.parentNode.nodeType === ELEMENT_NODE ? this.parentNode : null;
  }

  get firstChild() {
    return this.childNodes[0] || null;
  }

  get lastChild() {
    return this.childNodes[this.childNodes.length - 1] || null;
  }

  get nextSibling() {
    if (!this.parentNode) return null;
    const siblings = this.parentNode.childNodes;
    return siblings[siblings.indexOf(this) + 1] || null;
  }

  get previousSibling() {
    if (!this.parentNode) return null;
    const siblings = this.parentNode.childNodes;
    const at = siblings.indexOf(this);
    return at > 0 ? siblings[at - 1] : null;
  }

  get isConnected() {
    let node = this;
    while (node.parentNode) node = node.parentNode;
    return node.nodeType === DOCUMENT_NODE;
  }

  hasChildNodes() {
    return this.childNodes.length > 0;
  }

  contains(other) {
    for (let node = other; node; node = node.parentNode) if (node === this) return true;
    return false;
  }

  /** The nodes to insert: a fragment gives up its children, anything else is itself. */
  static _take(node) {
    if (!(node instanceof DomNode)) throw new TypeError('mini-dom: argument is not a node');
    if (node.nodeType === DOCUMENT_FRAGMENT_NODE) {
      const nodes = node.childNodes.slice();
      nodes.forEach((child) => {
        child.parentNode = null;
      });
      node.childNodes.length = 0;
      return nodes;
    }
    if (node.parentNode) node.parentNode.removeChild(node);
    return [node];
  }

  insertBefore(node, reference) {
    if (reference && reference.parentNode !== this) throw new Error('mini-dom: reference is not a child');
    const nodes = DomNode._take(node);
    // Index after taking: moving a node within the same parent shifts the reference.
    const at = reference ? this.childNodes.indexOf(reference) : this.childNodes.length;
    this.childNodes.splice(at, 0, ...nodes);
    nodes.forEach((child) => {
      child.parentNode = this;
    });
    return node;
  }

  appendChild(node) {
    return this.insertBefore(node, null);
  }

  removeChild(node) {
    const at = this.childNodes.indexOf(node);
    if (at < 0) throw new Error('mini-dom: not a child of this node');
    this.childNodes.splice(at, 1);
    node.parentNode = null;
    return node;
  }

  replaceChild(node, old) {
    if (old.parentNode !== this) throw new Error('mini-dom: not a child of this node');
    if (node === old) return old;
    this.insertBefore(node, old);
    return this.removeChild(old);
  }

  remove() {
    if (this.parentNode) this.parentNode.removeChild(this);
  }

  get textContent() {
    return this.childNodes
      .filter((child) => child.nodeType !== COMMENT_NODE)
      .map((child) => child.textContent)
      .join('');
  }

  set textContent(value) {
    this.childNodes.forEach((child) => {
      child.parentNode = null;
    });
    this.childNodes.length = 0;
    const text = value === null || value === undefined ? '' : String(value);
    if (text) this.appendChild(this.ownerDocument.createTextNode(text));
  }

  cloneNode(deep) {
    const copy = this._shallowClone();
    if (deep) this.childNodes.forEach((child) => copy.appendChild(child.cloneNode(true)));
    return copy;
  }
}

class CharacterData extends DomNode {
  constructor(ownerDocument, nodeType, nodeName, data) {
    super(ownerDocument, nodeType, nodeName);
    this.data = String(data);
  }

  get nodeValue() {
    return this.data;
  }

  set nodeValue(value) {
    this.data = String(value);
  }

  get length() {
    return this.data.length;
  }
}

class Text extends CharacterData {
  constructor(ownerDocument, data) {
    super(ownerDocument, TEXT_NODE, '#text', data);
  }

  get textContent() {
    return this.data;
  }

  set textContent(value) {
    this.data = String(value);
  }

  _shallowClone() {
    return new Text(this.ownerDocument, this.data);
  }
}

class Comment extends CharacterData {
  constructor(ownerDocument, data) {
    super(ownerDocument, COMMENT_NODE, '#comment', data);
  }

  get textContent() {
    return this.data;
  }

  _shallowClone() {
    return new Comment(this.ownerDocument, this.data);
  }
}

/** Container behaviour shared by elements, fragments and the document. */
const ParentNodeMixin = {
  get children() {
    return this.childNodes.filter((child) => child.nodeType === ELEMENT_NODE);
  },
  querySelectorAll(selector) {
    const match = compileSelector(selector);
    const found = new NodeList();
    walkElements(this, (element) => {
      if (match(element)) found.push(element);
    });
    return found;
  },
  querySelector(selector) {
    return this.querySelectorAll(selector)[0] || null;
  },
  getElementsByTagName(tagName) {
    return this.querySelectorAll(tagName === '*' ? '*' : tagName);
  },
  getElementsByClassName(className) {
    return this.querySelectorAll(`.${String(className).trim().split(/\s+/).join('.')}`);
  },
};

class DocumentFragment extends DomNode {
  constructor(ownerDocument) {
    super(ownerDocument, DOCUMENT_FRAGMENT_NODE, '#document-fragment');
  }

  _shallowClone() {
    return new DocumentFragment(this.ownerDocument);
  }
}

/** element.classList over the `class` attribute. */
class ClassList {
  constructor(element) {
    this._element = element;
  }

  _names() {
    return (this._element.getAttribute('class') || '').split(/\s+/).filter(Boolean);
  }

  _write(names) {
    this._element.setAttribute('class', names.join(' '));
  }

  get length() {
    return this._names().length;
  }

  item(index) {
    return this._names()[index] || null;
  }

  contains(name) {
    return this._names().includes(name);
  }

  add(...names) {
    const current = this._names();
    names.forEach((name) => {
      if (!current.includes(name)) current.push(name);
    });
    this._write(current);
  }

  remove(...names) {
    this._write(this._names().filter((name) => !names.includes(name)));
  }

  toggle(name, force) {
    const has = this.contains(name);
    const want = force === undefined ? !has : Boolean(force);
    if (want && !has) this.add(name);
    if (!want && has) this.remove(name);
    return want;
  }

  toString() {
    return this._names().join(' ');
  }
}

/** element.style: properties set directly or through setProperty; cssText reads them back. */
function createStyle() {
  const style = {};
  Object.defineProperties(style, {
    setProperty: { value: (name, value) => { style[name] = String(value); } },
    getPropertyValue: { value: (name) => (style[name] === undefined ? '' : style[name]) },
    removeProperty: { value: (name) => { const old = style[name]; delete style[name]; return old === undefined ? '' : old; } },
    cssText: {
      get: () => Object.keys(style).map((name) => `${name}: ${style[name]};`).join(' '),
      set: (text) => {
        Object.keys(style).forEach((name) => delete style[name]);
        String(text || '').split(';').forEach((declaration) => {
          const colon = declaration.indexOf(':');
          if (colon > 0) style[declaration.slice(0, colon).trim()] = declaration.slice(colon + 1).trim();
        });
      },
    },
  });
  return style;
}

class Element extends DomNode {
  constructor(ownerDocument, tagName) {
    super(ownerDocument, ELEMENT_NODE, String(tagName).toUpperCase());
    this.localName = String(tagName).toLowerCase();
    this._attributes = new Map();
    this.classList = new ClassList(this);
    this.style = createStyle();
  }

  get tagName() {
    return this.nodeName;
  }

  get attributes() {
    return Array.from(this._attributes, ([name, value]) => ({ name, value }));
  }

  getAttribute(name) {
    const value = this._attributes.get(String(name).toLowerCase());
    return value === undefined ? null : value;
  }

  setAttribute(name, value) {
    this._attributes.set(String(name).toLowerCase(), String(value));
  }

  removeAttribute(name) {
    this._attributes.delete(String(name).toLowerCase());
  }

  hasAttribute(name) {
    return this._attributes.has(String(name).toLowerCase());
  }

  getAttributeNames() {
    return Array.from(this._attributes.keys());
  }

  get id() {
    return this.getAttribute('id') || '';
  }

  set id(value) {
    this.setAttribute('id', value);
  }

  get className() {
    return this.getAttribute('class') || '';
  }

  set className(value) {
    this.setAttribute('class', value);
  }

  get innerHTML() {
    return this.childNodes.map(serialize).join('');
  }

  /** Plain text only: enough for <style>/<script> contents and for clearing an element. */
  set innerHTML(value) {
    const text = value === null || value === undefined ? '' : String(value);
    if (/<[a-zA-Z!/]/.test(text) && !['style', 'script'].includes(this.localName)) {
      throw new Error('mini-dom: innerHTML parsing of markup is not supported');
    }
    this.textContent = text;
  }

  get outerHTML() {
    return serialize(this);
  }

  matches(selector) {
    return compileSelector(selector)(this);
  }

  getBoundingClientRect() {
    return { x: 0, y: 0, top: 0, left: 0, right: 0, bottom: 0, width: 0, height: 0 };
  }

  _shallowClone() {
    const copy = new Element(this.ownerDocument, this.localName);
    this._attributes.forEach((value, name) => copy._attributes.set(name, value));
    return copy;
  }
}

class Document extends DomNode {
  constructor() {
    super(null, DOCUMENT_NODE, '#document');
    this.ownerDocument = null;
    const html = this.createElement('html');
    html.appendChild(this.createElement('head'));
    html.appendChild(this.createElement('body'));
    this.appendChild(html);
    this.defaultView = null;
  }

  get documentElement() {
    return this.childNodes[0];
  }

  get head() {
    return this.documentElement.childNodes[0];
  }

  get body() {
    return this.documentElement.childNodes[1];
  }

  createElement(tagName) {
    return new Element(this, tagName);
  }

  createElementNS(namespace, tagName) {
    return new Element(this, tagName);
  }

  createTextNode(data) {
    return new Text(this, data);
  }

  createComment(data) {
    return new Comment(this, data);
  }

  createDocumentFragment() {
    return new DocumentFragment(this);
  }

  importNode(node, deep) {
    return node.cloneNode(Boolean(deep));
  }

  getElementById(id) {
    return this.querySelector(`#${id}`);
  }
}

Object.defineProperties(Element.prototype, Object.getOwnPropertyDescriptors(ParentNodeMixin));
Object.defineProperties(DocumentFragment.prototype, Object.getOwnPropertyDescriptors(ParentNodeMixin));
Object.defineProperties(Document.prototype, Object.getOwnPropertyDescriptors(ParentNodeMixin));

function walkElements(node, visit) {
  node.childNodes.forEach((child) => {
    if (child.nodeType === ELEMENT_NODE) {
      visit(child);
      walkElements(child, visit);
    }
  });
}

/**
 * Compiles a selector list of simple compound selectors: `*`, `tag`, `#id`, `.a.b`, `tag#id.a`,
 * separated by commas. Anything else (combinators, attributes, pseudo-classes) is refused loudly.
 */
function compileSelector(selector) {
  const alternatives = String(selector).split(',').map((part) => part.trim());
  const tests = alternatives.map((part) => {
    const match = /^(\*|[a-zA-Z][\w-]*)?((?:[#.][\w-]+)*)$/.exec(part);
    if (!part || !match) throw new Error(`mini-dom: unsupported selector "${selector}"`);
    const tag = match[1] && match[1] !== '*' ? match[1].toLowerCase() : null;
    const ids = [];
    const classes = [];
    (match[2].match(/[#.][\w-]+/g) || []).forEach((token) => {
      (token[0] === '#' ? ids : classes).push(token.slice(1));
    });
    return (element) =>
      (!tag || element.localName === tag) &&
      ids.every((id) => element.id === id) &&
      classes.every((name) => element.classList.contains(name));
  });
  return (element) => tests.some((test) => test(element));
}

function escapeText(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function serialize(node) {
  if (node.nodeType === TEXT_NODE) return escapeText(node.data);
  if (node.nodeType === COMMENT_NODE) return `<!--${node.data}-->`;
  if (node.nodeType !== ELEMENT_NODE) return node.childNodes.map(serialize).join('');
  const attrs = node.attributes.map(({ name, value }) => ` ${name}="${value.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`).join('');
  return `<${node.localName}${attrs}>${node.childNodes.map(serialize).join('')}</${node.localName}>`;
}

/** The touch types the simulator constructs for touchstart/touchend. */
class Touch {
  constructor(init = {}) {
    Object.assign(this, { identifier: 0, target: null, clientX: 0, clientY: 0, pageX: 0, pageY: 0, screenX: 0, screenY: 0 }, init);
  }
}

class TouchEvent extends Event {
  constructor(type, init = {}) {
    super(type, init);
    this.touches = init.touches || [];
    this.targetTouches = init.targetTouches || [];
    this.changedTouches = init.changedTouches || [];
  }
}

/**
 * Defines window, document and the DOM classes on `scope` (normally globalThis) and returns the
 * window. Call it before requiring miniprogram-simulate.
 *
 * As in a browser, `window` is the global object itself, not a separate object: js-sys looks the
 * global up as `self`, then `window`, then `globalThis`, so a separate window would hide `wx` and
 * the other globals from the wasm module.
 */
function installDom(scope = globalThis) {
  const document = new Document();
  const globals = {
    window: scope,
    document,
    Node: DomNode,
    Element,
    HTMLElement: Element,
    Text,
    Comment,
    DocumentFragment,
    Document,
    Touch,
    TouchEvent,
    innerWidth: 375,
    innerHeight: 667,
    getComputedStyle: (element) => element.style,
    requestAnimationFrame: (fn) => setTimeout(() => fn(Date.now()), 16),
    cancelAnimationFrame: (id) => clearTimeout(id),
  };
  Object.keys(globals).forEach((name) => {
    Object.defineProperty(scope, name, { value: globals[name], writable: true, configurable: true });
  });
  document.defaultView = scope;
  return scope;
}

module.exports = { installDom, Document, Element, Text, DocumentFragment, TouchEvent, Touch };
