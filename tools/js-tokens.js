// A small JavaScript tokenizer: enough of the lexical grammar to walk wasm-bindgen's generated glue
// without being fooled by braces or keywords inside strings, template literals, comments and regex
// literals. tools/mp-glue.js uses it to find top-level statements and to scan for references the
// mini-program runtime lacks. It is not a parser: it does not build a syntax tree.
'use strict';

const PUNCTUATORS = [
  '>>>=', '...', '===', '!==', '**=', '<<=', '>>=', '>>>', '&&=', '||=', '??=',
  '=>', '==', '!=', '<=', '>=', '&&', '||', '??', '?.', '++', '--', '+=', '-=', '*=', '/=', '%=',
  '&=', '|=', '^=', '<<', '>>', '**',
];

// After these keywords a `/` starts a regular expression, not a division.
const REGEX_AFTER_KEYWORD = new Set([
  'return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do',
  'else', 'yield', 'await',
]);

function isIdentStart(ch) {
  return /[A-Za-z_$]/.test(ch) || ch > '\x7f';
}

function isIdentPart(ch) {
  return /[A-Za-z0-9_$]/.test(ch) || ch > '\x7f';
}

/**
 * Splits `source` into tokens { type, value, start, end, depth }.
 * type: 'ident' | 'number' | 'string' | 'template' | 'regex' | 'punct' | 'comment' | 'space'.
 * depth: nesting of (), [], {} and `${` before the token (a closing bracket gets the outer depth).
 * Throws on an unterminated string, comment, template or regex, or unbalanced brackets.
 */
function tokenize(source) {
  const tokens = [];
  const stack = []; // open brackets; '${' marks a template substitution
  let at = 0;
  let lastSignificant = null;

  function push(type, start, end) {
    const token = { type, value: source.slice(start, end), start, end, depth: stack.length };
    tokens.push(token);
    if (type !== 'comment' && type !== 'space') lastSignificant = token;
    return token;
  }

  function error(message, where) {
    const line = source.slice(0, where).split('\n').length;
    throw new Error(message + ' at line ' + line);
  }

  function regexAllowed() {
    const prev = lastSignificant;
    if (!prev) return true;
    if (prev.type === 'ident') return REGEX_AFTER_KEYWORD.has(prev.value);
    if (prev.type === 'number' || prev.type === 'string' || prev.type === 'template' || prev.type === 'regex') return false;
    return !(prev.value === ')' || prev.value === ']' || prev.value === '}');
  }

  // Reads template characters from `start` (just after ` or a closing } of ${…}) up to the
  // closing backtick or the next `${`.
  function readTemplate(start, opener) {
    let i = start;
    while (i < source.length) {
      const ch = source[i];
      if (ch === '\\') {
        i += 2;
      } else if (ch === '`') {
        push('template', opener, i + 1);
        return i + 1;
      } else if (ch === '$' && source[i + 1] === '{') {
        push('template', opener, i + 2);
        stack.push('${');
        return i + 2;
      } else {
        i++;
      }
    }
    return error('unterminated template literal', opener);
  }

  while (at < source.length) {
    const ch = source[at];
    const next = source[at + 1];
    if (/\s/.test(ch)) {
      let end = at + 1;
      while (end < source.length && /\s/.test(source[end])) end++;
      push('space', at, end);
      at = end;
    } else if (ch === '/' && next === '/') {
      let end = source.indexOf('\n', at);
      if (end < 0) end = source.length;
      push('comment', at, end);
      at = end;
    } else if (ch === '/' && next === '*') {
      const end = source.indexOf('*/', at + 2);
      if (end < 0) error('unterminated comment', at);
      push('comment', at, end + 2);
      at = end + 2;
    } else if (ch === '"' || ch === "'") {
      let i = at + 1;
      while (i < source.length && source[i] !== ch) {
        if (source[i] === '\\') i++;
        else if (source[i] === '\n') error('unterminated string', at);
        i++;
      }
      if (i >= source.length) error('unterminated string', at);
      push('string', at, i + 1);
      at = i + 1;
    } else if (ch === '`') {
      at = readTemplate(at + 1, at);
    } else if (ch === '}' && stack[stack.length - 1] === '${') {
      stack.pop();
      at = readTemplate(at + 1, at);
    } else if (ch === '/' && regexAllowed()) {
      let i = at + 1;
      let inClass = false;
      while (i < source.length) {
        const c = source[i];
        if (c === '\\') i++;
        else if (c === '[') inClass = true;
        else if (c === ']') inClass = false;
        else if (c === '/' && !inClass) break;
        else if (c === '\n') error('unterminated regular expression', at);
        i++;
      }
      i++;
      while (i < source.length && isIdentPart(source[i])) i++; // flags
      push('regex', at, i);
      at = i;
    } else if (isIdentStart(ch)) {
      let end = at + 1;
      while (end < source.length && isIdentPart(source[end])) end++;
      push('ident', at, end);
      at = end;
    } else if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(next))) {
      let end = at + 1;
      while (end < source.length && /[0-9A-Za-z_.]/.test(source[end])) end++;
      push('number', at, end);
      at = end;
    } else if ('([{'.includes(ch)) {
      push('punct', at, at + 1);
      stack.push(ch);
      at++;
    } else if (')]}'.includes(ch)) {
      const open = stack.pop();
      if (open !== { ')': '(', ']': '[', '}': '{' }[ch]) error('unbalanced "' + ch + '"', at);
      push('punct', at, at + 1);
      at++;
    } else {
      const multi = PUNCTUATORS.find((p) => source.startsWith(p, at));
      const end = at + (multi ? multi.length : 1);
      push('punct', at, end);
      at = end;
    }
  }
  if (stack.length > 0) error('unclosed "' + stack[stack.length - 1] + '"', source.length);
  return tokens;
}

/** Tokens that are code: no whitespace, no comments. */
function significant(tokens) {
  return tokens.filter((t) => t.type !== 'space' && t.type !== 'comment');
}

// Statements that may end at their closing brace rather than at a semicolon.
const BLOCK_STATEMENT_STARTS = new Set(['function', 'class', 'if', 'for', 'while', 'try', 'switch', 'do']);

// Keywords that begin a statement; one of these at column 0 ends a statement that lacked its `;`
// (generated glue puts top-level statements at column 0 and indents continuation lines).
const STATEMENT_KEYWORDS = new Set(['function', 'async', 'class', 'export', 'import', 'let', 'const', 'var', 'if', 'for', 'while', 'try']);

/**
 * Splits source into top-level statements: [{ leadStart, start, end, tokens }]. `tokens` are the
 * statement's significant tokens; `leadStart` is where the comments and blank lines before it
 * begin, so a caller that drops a statement can drop its doc comment with it.
 */
function topLevelStatements(source) {
  const tokens = tokenize(source);
  const code = significant(tokens);
  const statements = [];
  let i = 0;
  let previousEnd = 0;
  while (i < code.length) {
    const first = code[i];
    let k = i;
    if (code[k].value === 'export') k++; // `export class …` ends like `class …`
    if (code[k] && code[k].value === 'async' && code[k + 1] && code[k + 1].value === 'function') k++;
    const blockStatement = Boolean(code[k]) && code[k].type === 'ident' && BLOCK_STATEMENT_STARTS.has(code[k].value);
    let end = -1;
    for (let j = i; j < code.length; j++) {
      const t = code[j];
      if (t.depth !== 0) continue;
      if (t.value === ';') {
        end = j;
        break;
      }
      if (j > i && t.type === 'ident' && STATEMENT_KEYWORDS.has(t.value) && source[t.start - 1] === '\n') {
        end = j - 1;
        break;
      }
      if (blockStatement && t.value === '}') {
        const after = code[j + 1];
        // `if {…} else {…}` and `try {…} catch {…} finally {…}` go on past the first brace.
        if (after && ['else', 'catch', 'finally'].includes(after.value)) continue;
        if (after && code[k].value === 'do' && after.value === 'while') continue;
        end = after && after.value === ';' ? j + 1 : j; // `class X {};` keeps its stray `;`
        break;
      }
    }
    if (end < 0) end = code.length - 1; // the last statement may lack a semicolon
    statements.push({ leadStart: previousEnd, start: first.start, end: code[end].end, tokens: code.slice(i, end + 1) });
    previousEnd = code[end].end;
    i = end + 1;
  }
  return { statements, tokens };
}

module.exports = { tokenize, significant, topLevelStatements };
