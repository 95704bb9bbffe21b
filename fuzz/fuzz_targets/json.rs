//! `wx_session::json`: the hand-written JSON reader and writer, plus the form/percent encoders.
//!
//! Input: any bytes, read as UTF-8 (lossy). Properties:
//! - `Json::parse` never panics and never overflows the stack;
//! - round trip: a parsed value printed with `to_text` parses back to an equal value, and printing
//!   that again gives the same text;
//! - differential: serde_json (a second, independent parser) accepts exactly the texts we accept,
//!   except ours refuses nesting deeper than 64 levels (our `MAX_DEPTH`), and yields the same
//!   tree (duplicate keys: first wins, as documented; numbers compared as integers when both are);
//! - `percent_encode` only emits RFC 3986 unreserved characters and `%XX`, and decodes back to the
//!   input bytes; `form_encode` joins exactly those encodings with `=` and `&`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use wx_session::json::Json;
use wx_session::protocol::spec::{form_encode, percent_encode};

/// Our `MAX_DEPTH`: a value nested deeper than this is refused.
const MAX_DEPTH: usize = 64;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let ours = Json::parse(&text);

    if let Ok(value) = &ours {
        let printed = value.to_text();
        let again = Json::parse(&printed)
            .unwrap_or_else(|e| panic!("to_text gave text parse refuses ({e}): {printed:?} from {value:?}"));
        assert_eq!(&again, value, "round trip changed the value; printed {printed:?}");
        assert_eq!(again.to_text(), printed, "to_text is not stable");
        // The accessors the session uses on answers must cope with any value.
        let _ = (value.as_u64(), value.as_id_text(), value.pointer("data.token"), value.is_object());
    }

    differential(&text, &ours);
    encoders(&text, ours.ok());
});

fn differential(text: &str, ours: &Result<Json, wx_session::json::JsonError>) {
    let theirs = serde_json::from_str::<Mirror>(text);
    match (ours, theirs) {
        (Ok(value), Ok(mirror)) => {
            assert!(depth(&mirror, 0) <= MAX_DEPTH, "accepted nesting deeper than {MAX_DEPTH}");
            assert_same(value, &mirror, text);
        }
        (Err(e), Ok(mirror)) => assert!(
            e.reason == "nested too deeply" && depth(&mirror, 0) > MAX_DEPTH,
            "we refused ({e}) valid JSON {text:?}"
        ),
        // serde_json refuses numbers beyond f64 (1e400); we keep every number as its literal.
        (Ok(_), Err(e)) => assert!(e.to_string().starts_with("number out of range"), "we accepted invalid JSON {text:?} (serde_json: {e})"),
        (Err(_), Err(_)) => {}
    }
}

/// How deep the deepest value sits (the top-level value is at 0), as our reader counts it.
fn depth(m: &Mirror, at: usize) -> usize {
    match m {
        Mirror::Array(items) => items.iter().map(|i| depth(i, at + 1)).max().unwrap_or(at),
        Mirror::Object(members) => members.iter().map(|(_, v)| depth(v, at + 1)).max().unwrap_or(at),
        _ => at,
    }
}

fn assert_same(ours: &Json, theirs: &Mirror, text: &str) {
    match (ours, theirs) {
        (Json::Null, Mirror::Null) => {}
        (Json::Bool(a), Mirror::Bool(b)) => assert_eq!(a, b, "in {text:?}"),
        (Json::String(a), Mirror::String(b)) => assert_eq!(a, b, "in {text:?}"),
        (Json::Number(literal), Mirror::Number(n)) => {
            let plain_integer = !literal.contains(['.', 'e', 'E']) && literal != "-0";
            if let (true, Some(exact)) = (plain_integer, n) {
                assert_eq!(literal, exact, "in {text:?}");
            }
        }
        (Json::Array(a), Mirror::Array(b)) => {
            assert_eq!(a.len(), b.len(), "array length in {text:?}");
            a.iter().zip(b).for_each(|(x, y)| assert_same(x, y, text));
        }
        (Json::Object(a), Mirror::Object(b)) => {
            // We keep the first of duplicate keys; keep the same from serde_json's full list.
            let mut first: Vec<&(String, Mirror)> = Vec::new();
            for member in b {
                if !first.iter().any(|(k, _)| *k == member.0) {
                    first.push(member);
                }
            }
            assert_eq!(a.len(), first.len(), "member count in {text:?}");
            for ((ka, va), (kb, vb)) in a.iter().zip(first) {
                assert_eq!(ka, kb, "member order in {text:?}");
                assert_same(va, vb, text);
            }
        }
        (a, b) => panic!("different kinds: ours {a:?}, serde_json {b:?}, in {text:?}"),
    }
}

fn encoders(text: &str, parsed: Option<Json>) {
    let mut encoded = String::new();
    percent_encode(text, &mut encoded);
    assert_eq!(percent_decode(&encoded), text.as_bytes(), "percent_encode lost bytes");

    let value = parsed.unwrap_or(Json::Null);
    let pairs = vec![(text.to_owned(), Json::String(text.to_owned())), ("v".to_owned(), value.clone())];
    let form = form_encode(&pairs);
    let mut expected = encoded.clone();
    expected.push('=');
    expected.push_str(&encoded);
    expected.push_str("&v=");
    match &value {
        Json::String(s) => percent_encode(s, &mut expected),
        other => percent_encode(&other.to_text(), &mut expected),
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

/// serde_json's reading of the same text, with every member kept (duplicates included) and
/// integers as decimal text (`None` for floats: serde_json rounds them, we keep the literal).
#[derive(Debug)]
enum Mirror {
    Null,
    Bool(bool),
    Number(Option<String>),
    String(String),
    Array(Vec<Mirror>),
    Object(Vec<(String, Mirror)>),
}

impl<'de> Deserialize<'de> for Mirror {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Mirror, D::Error> {
        deserializer.deserialize_any(MirrorVisitor)
    }
}

struct MirrorVisitor;

impl<'de> Visitor<'de> for MirrorVisitor {
    type Value = Mirror;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Mirror, E> {
        Ok(Mirror::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Mirror, E> {
        Ok(Mirror::Bool(b))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Mirror, E> {
        Ok(Mirror::Number(Some(n.to_string())))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Mirror, E> {
        Ok(Mirror::Number(Some(n.to_string())))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Mirror, E> {
        Ok(Mirror::Number(None))
    }
    fn visit_str<E>(self, s: &str) -> Result<Mirror, E> {
        Ok(Mirror::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Mirror, E> {
        Ok(Mirror::String(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Mirror, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Mirror::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Mirror, A::Error> {
        let mut members = Vec::new();
        while let Some(member) = map.next_entry::<String, Mirror>()? {
            members.push(member);
        }
        Ok(Mirror::Object(members))
    }
}
