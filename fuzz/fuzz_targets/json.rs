//! `wx_session::json`: the value type every answer, stored value and option is read into, plus the
//! form/percent encoders. The module fills `Json` through serde-wasm-bindgen from what the JS
//! engine parsed; here serde_json reads fuzzed text into the same type through the same
//! `Deserialize` impl.
//!
//! Input: any bytes, read as UTF-8 (lossy). Properties:
//! - reading never panics and never overflows the stack: nesting deeper than 64 is refused, and
//!   whatever serde_json itself accepts at depth ≤ 64 we accept too;
//! - round trip: a value written back with its `Serialize` impl reads back equal;
//! - the accessors the session uses on answers cope with any value;
//! - `percent_encode` only emits RFC 3986 unreserved characters and `%XX`, and decodes back to the
//!   input bytes; `form_encode` joins exactly those encodings with `=` and `&`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wx_session::json::{number_text, Json};
use wx_session::protocol::spec::{form_encode, percent_encode};

/// Our nesting limit.
const MAX_DEPTH: usize = 64;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let ours = serde_json::from_str::<Json>(&text);
    let theirs = serde_json::from_str::<serde_json::Value>(&text);
    match (&ours, &theirs) {
        (Ok(value), Ok(plain)) => {
            assert!(depth(plain, 0) <= MAX_DEPTH, "accepted nesting deeper than {MAX_DEPTH}");
            let written = serde_json::to_string(value).expect("a Json value always serialises");
            let again: Json = serde_json::from_str(&written).expect("what we write reads back");
            assert_eq!(&again, value, "round trip changed the value; written {written:?}");
            let _ = (value.as_u64(), value.id_text(), value.pointer("data.token"), value.is_object(), value.is_scalar());
        }
        (Err(_), Ok(plain)) => assert!(depth(plain, 0) > MAX_DEPTH, "refused valid JSON {text:?}"),
        (Ok(_), Err(e)) => panic!("accepted what serde_json's own Value refuses ({e}): {text:?}"),
        (Err(_), Err(_)) => {}
    }
    encoders(&text, ours.ok());
});

/// How many levels reading the value opens: a scalar at the top is 0, every array or object one
/// more than its deepest member (an empty one counts as if it had a member: reading it opens a level).
fn depth(value: &serde_json::Value, at: usize) -> usize {
    match value {
        serde_json::Value::Array(items) => items.iter().map(|i| depth(i, at + 1)).max().unwrap_or(at + 1),
        serde_json::Value::Object(members) => members.values().map(|v| depth(v, at + 1)).max().unwrap_or(at + 1),
        _ => at,
    }
}

fn encoders(text: &str, parsed: Option<Json>) {
    let mut encoded = String::new();
    percent_encode(text, &mut encoded);
    assert_eq!(percent_decode(&encoded), text.as_bytes(), "percent_encode lost bytes");

    let value = parsed.filter(Json::is_scalar).unwrap_or(Json::Null);
    let pairs = vec![(text.to_owned(), Json::String(text.to_owned())), ("v".to_owned(), value.clone())];
    let form = form_encode(&pairs);
    let mut expected = encoded.clone();
    expected.push('=');
    expected.push_str(&encoded);
    expected.push_str("&v=");
    match &value {
        Json::String(s) => percent_encode(s, &mut expected),
        Json::Number(n) => percent_encode(&number_text(*n), &mut expected),
        Json::Bool(b) => expected.push_str(if *b { "true" } else { "false" }),
        _ => {}
    }
    assert_eq!(form, expected);
}

/// Decodes `%XX` and unreserved characters; panics on anything `percent_encode` must never emit.
fn percent_decode(encoded: &str) -> Vec<u8> {
    let bytes = encoded.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = encoded.get(i + 1..i + 3).expect("truncated %XX");
            assert!(hex.bytes().all(|h| h.is_ascii_digit() || (b'A'..=b'F').contains(&h)), "bad escape %{hex}");
            out.push(u8::from_str_radix(hex, 16).expect("hex"));
            i += 3;
        } else {
            assert!(b.is_ascii_alphanumeric() || b"-_.~".contains(&b), "reserved byte {b:#x} left unencoded");
            out.push(b);
            i += 1;
        }
    }
    out
}
