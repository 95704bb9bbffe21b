// UTF-8 encoder and decoder for the mini-program runtime, which has no TextEncoder/TextDecoder on
// phones (DevTools has them, which hides the gap).
//
// tools/mp-bundle.js hands this file to esbuild's `inject` option: every free reference to the
// globals `TextDecoder` / `TextEncoder` in wasm-bindgen's glue becomes a reference to the classes
// exported below under those names, and nothing else in the bundle can reach the real globals.
// Written from the WHATWG Encoding Standard's UTF-8 algorithms, so the glue sees what a browser
// would give it for what it asks (the constructor and methods below are exactly the ones it uses;
// tools/mp-build.test.js compares them with Node's TextDecoder and TextEncoder):
//   - the decoder replaces each maximal invalid subsequence with one U+FFFD and keeps a BOM
//     (`new TextDecoder('utf-8', { ignoreBOM: true })`, the glue's one decoder);
//   - the encoder turns lone surrogates into U+FFFD, and `encodeInto` never writes a partial
//     character, reporting `read` in UTF-16 code units and `written` in bytes.
//
// Lean at run time: the glue decodes every string that crosses from Rust, dozens of times per
// login round, and on iOS that code runs in JavaScriptCore's interpreter. So no call allocates a
// scratch buffer: pure ASCII (the common case) is turned into a string straight from the input
// bytes, and anything else is decoded into one code-unit buffer that each decoder keeps and grows
// (inputs above SHARED_LIMIT bytes get a buffer sized to them, dropped after the call, so one
// large string does not pin memory for the rest of the session).

/** Largest input, in bytes, decoded through the decoder's kept buffer. */
const SHARED_LIMIT = 16384;

/** Code units handed to one String.fromCharCode.apply call (engines cap argument counts). */
const APPLY_CHUNK = 8192;

/** `units[from..to)` as a string, in chunks small enough for Function.prototype.apply. */
function unitsToString(units, from, to) {
  if (from === 0 && to === units.length && to <= APPLY_CHUNK) return String.fromCharCode.apply(null, units); // no view needed
  if (to - from <= APPLY_CHUNK) return String.fromCharCode.apply(null, units.subarray(from, to));
  let out = '';
  for (let at = from; at < to; at += APPLY_CHUNK) {
    out += String.fromCharCode.apply(null, units.subarray(at, Math.min(to, at + APPLY_CHUNK)));
  }
  return out;
}

/**
 * Decodes UTF-8 bytes to a string: exactly the TextDecoder wasm-bindgen's glue makes —
 * `new TextDecoder('utf-8', { ignoreBOM: true })`, then `decode()` and `decode(uint8Array)`.
 *
 * Only that: the codec is injected into the glue alone, so nothing else can construct it, and
 * every feature the glue never uses (other labels, a fatal mode, stripping a BOM, ArrayBuffer or
 * streaming input) would be code parsed at every app launch for nothing — and under JavaScriptCore
 * the wasm compile slows down while the main thread parses or runs JS (README, "Measured").
 * Asking for any of them throws instead of silently doing something else.
 *
 * Start-up matters as much as speed here: JavaScriptCore's interpreter compiles each function the
 * first time it runs (tens of microseconds for a large one), and the glue calls `decode()` once
 * while it loads. So `decode` handles the common case (ASCII, which every option name and URL is)
 * and hands the rest to `decodeUtf8`, compiled only when non-ASCII text first arrives.
 */
class MpUtf8Decoder {
  constructor(label, options) {
    if (label !== 'utf-8' || !options || options.ignoreBOM !== true || options.fatal) {
      throw new TypeError("MpUtf8Decoder only decodes as new TextDecoder('utf-8', { ignoreBOM: true })");
    }
    /** The kept code-unit buffer (Uint16Array), grown on demand up to SHARED_LIMIT units. */
    this.units = null;
  }

  decode(input) {
    if (input === undefined) return '';
    if (!(input instanceof Uint8Array)) throw new TypeError('MpUtf8Decoder.decode expects a Uint8Array');
    // ASCII bytes are their own UTF-16 code units: no buffer at all.
    const length = input.length;
    let ascii = 0;
    while (ascii < length && input[ascii] < 0x80) ascii++;
    if (ascii < length) return decodeUtf8(this, input, ascii);
    return length <= APPLY_CHUNK ? String.fromCharCode.apply(null, input) : unitsToString(input, 0, length);
  }
}

/**
 * The WHATWG UTF-8 decoder (replacement mode) over `bytes`, whose first `ascii` bytes are known to
 * be ASCII: each maximal invalid subsequence becomes one U+FFFD. A byte order mark is kept, as
 * `ignoreBOM: true` asks.
 */
function decodeUtf8(decoder, bytes, ascii) {
  const length = bytes.length;
  // Every UTF-8 sequence (or invalid byte) yields at most one code unit per byte.
  let units = decoder.units;
  if (length > SHARED_LIMIT) {
    units = new Uint16Array(length);
  } else if (units === null || units.length < length) {
    units = new Uint16Array(Math.min(SHARED_LIMIT, Math.max(length, units === null ? 256 : units.length * 2)));
    decoder.units = units;
  }
  let used = 0;
  for (let k = 0; k < ascii; k++) units[used++] = bytes[k];

  // State of the WHATWG UTF-8 decoder: bytes still needed, seen so far, the code point being
  // built, and the allowed range of the next continuation byte (narrowed after E0, ED, F0, F4
  // so overlong forms, surrogates and values above U+10FFFF are rejected at the earliest byte).
  let needed = 0;
  let seen = 0;
  let codePoint = 0;
  let lower = 0x80;
  let upper = 0xbf;
  let i = ascii;
  while (i < length) {
    const byte = bytes[i];
    if (needed === 0) {
      i++;
      if (byte <= 0x7f) {
        units[used++] = byte;
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
        units[used++] = 0xfffd;
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
      units[used++] = 0xfffd;
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
        units[used++] = 0xd800 + (offset >> 10);
        units[used++] = 0xdc00 + (offset & 0x3ff);
      } else {
        units[used++] = codePoint;
      }
      needed = 0;
      seen = 0;
      codePoint = 0;
    }
  }
  // The input ended inside a sequence.
  if (needed !== 0) units[used++] = 0xfffd;
  return unitsToString(units, 0, used);
}

/** Encodes a string as UTF-8: the `encode` and `encodeInto` that wasm-bindgen's glue calls. */
class MpUtf8Encoder {
  encode(input) {
    // Each UTF-16 code unit takes at most 3 bytes (a surrogate pair: 2 units, 4 bytes).
    const text = input === undefined ? '' : String(input);
    const bytes = new Uint8Array(3 * text.length);
    return bytes.slice(0, this.encodeInto(text, bytes).written);
  }

  encodeInto(input, dest) {
    const text = String(input);
    const length = text.length;
    const room = dest.length;
    let read = 0;
    let written = 0;
    while (read < length) {
      let codePoint = text.charCodeAt(read);
      if (codePoint < 0x80) {
        if (written === room) break;
        dest[written++] = codePoint;
        read++;
        continue;
      }
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
      const size = codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
      if (written + size > room) break; // never write half a character
      if (size === 2) {
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

// The names esbuild's `inject` matches against the glue's free identifiers.
export { MpUtf8Decoder as TextDecoder, MpUtf8Encoder as TextEncoder, SHARED_LIMIT };
