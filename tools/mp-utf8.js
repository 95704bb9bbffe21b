// UTF-8 encoder and decoder for the mini-program runtime, which has no TextEncoder/TextDecoder
// on phones (DevTools has them, which hides the gap).
//
// tools/mp-glue.js copies the part between the INLINE markers into
// miniprogram/session/session_wasm.js and points wasm-bindgen's glue at these classes instead of
// the globals. They are written from the WHATWG Encoding Standard's UTF-8 algorithms so the glue
// sees exactly what a browser would give it:
//   - the decoder replaces each maximal invalid subsequence with one U+FFFD, or throws a TypeError
//     when constructed with `fatal: true` (the glue relies on that to report bad strings);
//   - the encoder turns lone surrogates into U+FFFD and `encodeInto` never writes a partial
//     character, reporting `read` in UTF-16 code units and `written` in bytes.
// Names start with `Mp` so they neither shadow nor read any global of the same job.
'use strict';

// >>> INLINE mp-utf8
/** Decodes UTF-8 bytes to a string; the subset of TextDecoder that wasm-bindgen's glue uses. */
class MpUtf8Decoder {
  constructor(label, options) {
    const name = label === undefined ? 'utf-8' : String(label).trim().toLowerCase();
    if (name !== 'utf-8' && name !== 'utf8' && name !== 'unicode-1-1-utf-8') {
      throw new RangeError('MpUtf8Decoder only decodes UTF-8, not "' + label + '"');
    }
    const opts = options || {};
    this.encoding = 'utf-8';
    this.fatal = Boolean(opts.fatal);
    this.ignoreBOM = Boolean(opts.ignoreBOM);
  }

  decode(input, options) {
    if (options && options.stream) {
      // The glue never streams; failing beats silently dropping a split character.
      throw new TypeError('MpUtf8Decoder: streaming decode is not supported');
    }
    if (input === undefined || input === null) return '';
    let bytes;
    if (ArrayBuffer.isView(input)) {
      bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    } else if (Object.prototype.toString.call(input) === '[object ArrayBuffer]') {
      bytes = new Uint8Array(input);
    } else {
      throw new TypeError('MpUtf8Decoder.decode expects an ArrayBuffer or a view of one');
    }
    const fatal = this.fatal;
    const length = bytes.length;
    // Code units collect in a fixed buffer and are turned into a string a chunk at a time:
    // fromCharCode.apply on a whole large input would overflow the argument stack.
    const chunk = new Uint16Array(4096);
    let used = 0;
    let out = '';
    function push(unit) {
      if (used === chunk.length) {
        out += String.fromCharCode.apply(null, chunk);
        used = 0;
      }
      chunk[used++] = unit;
    }
    function invalid() {
      if (fatal) throw new TypeError('The encoded data was not valid for encoding utf-8');
      push(0xfffd);
    }

    let i = 0;
    if (!this.ignoreBOM && length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
    // State of the WHATWG UTF-8 decoder: bytes still needed, seen so far, the code point being
    // built, and the allowed range of the next continuation byte (narrowed after E0, ED, F0, F4
    // so overlong forms, surrogates and values above U+10FFFF are rejected at the earliest byte).
    let needed = 0;
    let seen = 0;
    let codePoint = 0;
    let lower = 0x80;
    let upper = 0xbf;
    while (i < length) {
      const byte = bytes[i];
      if (needed === 0) {
        i++;
        if (byte <= 0x7f) {
          push(byte);
        } else if (byte >= 0xc2 && byte <= 0xdf) {
          needed = 1;
          codePoint = byte & 0x1f;
        } else if (byte >= 0xe0 && byte <= 0xef) {
          if (byte === 0xe0) lower = 0xa0;
          if (byte === 0xed) upper = 0x9f;
          needed = 2;
          codePoint = byte & 0x0f;
        } else if (byte >= 0xf0 && byte <= 0xf4) {
          if (byte === 0xf0) lower = 0x90;
          if (byte === 0xf4) upper = 0x8f;
          needed = 3;
          codePoint = byte & 0x07;
        } else {
          invalid();
        }
        continue;
      }
      if (byte < lower || byte > upper) {
        // The sequence so far is one error; this byte is not consumed and starts afresh.
        needed = 0;
        seen = 0;
        codePoint = 0;
        lower = 0x80;
        upper = 0xbf;
        invalid();
        continue;
      }
      i++;
      lower = 0x80;
      upper = 0xbf;
      codePoint = (codePoint << 6) | (byte & 0x3f);
      seen++;
      if (seen === needed) {
        if (codePoint > 0xffff) {
          const offset = codePoint - 0x10000;
          push(0xd800 + (offset >> 10));
          push(0xdc00 + (offset & 0x3ff));
        } else {
          push(codePoint);
        }
        needed = 0;
        seen = 0;
        codePoint = 0;
      }
    }
    if (needed !== 0) invalid(); // input ended inside a sequence
    return out + String.fromCharCode.apply(null, chunk.subarray(0, used));
  }
}

/** Encodes a string as UTF-8; the subset of TextEncoder that wasm-bindgen's glue uses. */
class MpUtf8Encoder {
  get encoding() {
    return 'utf-8';
  }

  encode(input) {
    const text = input === undefined ? '' : String(input);
    const bytes = new Uint8Array(mpUtf8Length(text));
    this.encodeInto(text, bytes);
    return bytes;
  }

  encodeInto(input, dest) {
    const text = String(input);
    const length = text.length;
    const room = dest.length;
    let read = 0;
    let written = 0;
    while (read < length) {
      let codePoint = text.charCodeAt(read);
      let units = 1;
      if (codePoint >= 0xd800 && codePoint <= 0xdfff) {
        const next = read + 1 < length ? text.charCodeAt(read + 1) : 0;
        if (codePoint <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          codePoint = 0x10000 + ((codePoint - 0xd800) << 10) + (next - 0xdc00);
          units = 2;
        } else {
          codePoint = 0xfffd; // a lone surrogate has no UTF-8 form
        }
      }
      const size = codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
      if (written + size > room) break; // never write half a character
      if (size === 1) {
        dest[written] = codePoint;
      } else if (size === 2) {
        dest[written] = 0xc0 | (codePoint >> 6);
        dest[written + 1] = 0x80 | (codePoint & 0x3f);
      } else if (size === 3) {
        dest[written] = 0xe0 | (codePoint >> 12);
        dest[written + 1] = 0x80 | ((codePoint >> 6) & 0x3f);
        dest[written + 2] = 0x80 | (codePoint & 0x3f);
      } else {
        dest[written] = 0xf0 | (codePoint >> 18);
        dest[written + 1] = 0x80 | ((codePoint >> 12) & 0x3f);
        dest[written + 2] = 0x80 | ((codePoint >> 6) & 0x3f);
        dest[written + 3] = 0x80 | (codePoint & 0x3f);
      }
      read += units;
      written += size;
    }
    return { read: read, written: written };
  }
}

/** Bytes needed to encode `text` as UTF-8 (lone surrogates count as U+FFFD, 3 bytes). */
function mpUtf8Length(text) {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) {
      bytes += 1;
    } else if (unit < 0x800) {
      bytes += 2;
    } else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    } else {
      bytes += 3;
    }
  }
  return bytes;
}
// <<< INLINE mp-utf8

module.exports = { MpUtf8Decoder, MpUtf8Encoder, mpUtf8Length };
