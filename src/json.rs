//! A JSON value as the session sees it: what servers answer, what storage holds, what the app puts
//! in its options. No parser lives here: answers are parsed by the JavaScript engine
//! (`JSON.parse`, in C++) and storage hands back values, so [`Json`] is filled by serde — through
//! serde-wasm-bindgen from JS values in the module, through serde_json from text in native tests
//! and the fuzz targets. Both read into this one type, so the fuzzers exercise the decoders the
//! module runs.
//!
//! Numbers are `f64`, which is what JavaScript holds: integers above 2^53 (9,007,199,254,740,992)
//! have already lost digits by the time any JS code sees them, so ids that large must travel as
//! strings (documented in the README).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

/// Nesting deeper than this is refused: a hostile answer, or an options object that refers to
/// itself, must not exhaust the stack.
const MAX_DEPTH: u32 = 64;

/// Largest integer an `f64` holds exactly (2^53).
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null` (and JavaScript's `undefined`).
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, members in their original order.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The member `key` of an object; `None` for other values or a missing key.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Follows a dotted path such as `data.token` through nested objects.
    pub fn pointer(&self, path: &str) -> Option<&Json> {
        path.split('.').try_fold(self, |value, key| value.get(key))
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A non-negative whole number that an `f64` holds exactly.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Number(n) if n.fract() == 0.0 && (0.0..=MAX_EXACT).contains(n) => Some(*n as u64),
            _ => None,
        }
    }

    /// A string, or a number as its decimal text — how ids such as `uid` or an error `code` arrive.
    pub fn id_text(&self) -> Option<String> {
        match self {
            Json::String(s) => Some(s.clone()),
            Json::Number(n) => Some(number_text(*n)),
            _ => None,
        }
    }

    /// Whether this is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, Json::Object(_))
    }

    /// Whether this is a string, number, boolean or null (what fits in a form field).
    pub fn is_scalar(&self) -> bool {
        !matches!(self, Json::Array(_) | Json::Object(_))
    }
}

/// The parts one after another. (`[..].concat()` does the same through a generic join that costs
/// about a kilobyte of wasm; this is a loop.)
pub fn join(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// A number as JavaScript would print it for the common cases: whole numbers without a fraction
/// (`2`, not `2.0`), others with the shortest text that reads back the same.
pub fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < MAX_EXACT {
        let digits = crate::store::decimal(n.abs() as u64);
        return if n < 0.0 { join(&["-", &digits]) } else { digits };
    }
    n.to_string()
}

/// Reads one value at a given depth; the depth travels down so nesting is bounded.
struct Reader {
    depth: u32,
}

impl Reader {
    fn deeper<E: de::Error>(&self) -> Result<Reader, E> {
        if self.depth >= MAX_DEPTH {
            return Err(E::custom("nested too deeply"));
        }
        Ok(Reader { depth: self.depth + 1 })
    }
}

impl<'de> DeserializeSeed<'de> for Reader {
    type Value = Json;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Reader {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_bool<E>(self, value: bool) -> Result<Json, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Json, E> {
        Ok(Json::Number(value as f64))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Json, E> {
        Ok(Json::Number(value as f64))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Json, E> {
        if !value.is_finite() {
            return Err(E::custom("not a finite number"));
        }
        Ok(Json::Number(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Json, E> {
        Ok(Json::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Json, E> {
        Ok(Json::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.deeper()?)? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members: Vec<(String, Json)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(self.deeper()?)?;
            // Duplicate keys keep the first, as the members are looked up front to back anyway.
            if !members.iter().any(|(k, _)| *k == key) {
                members.push((key, value));
            }
        }
        Ok(Json::Object(members))
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(Reader { depth: 0 })
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => serializer.serialize_unit(),
            Json::Bool(b) => serializer.serialize_bool(*b),
            Json::Number(n) => serializer.serialize_f64(*n),
            Json::String(s) => serializer.serialize_str(s),
            Json::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (key, value) in members {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Json {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn reads_every_kind_of_value() {
        let j = parse(r#"{"a":[1,2.5,-3],"b":{"c":"中文 🐼"},"d":null,"e":true,"a":"dup"}"#);
        assert_eq!(j.pointer("a"), Some(&Json::Array(vec![Json::Number(1.0), Json::Number(2.5), Json::Number(-3.0)])));
        assert_eq!(j.pointer("b.c").and_then(Json::as_str), Some("中文 🐼"));
        assert_eq!(j.get("d"), Some(&Json::Null));
        assert_eq!(j.get("e").and_then(Json::as_bool), Some(true));
        assert_eq!(serde_json::to_string(&j).unwrap(), r#"{"a":[1.0,2.5,-3.0],"b":{"c":"中文 🐼"},"d":null,"e":true}"#);
    }

    #[test]
    fn numbers_as_ids_and_lifetimes() {
        assert_eq!(parse("10000").id_text().as_deref(), Some("10000"));
        assert_eq!(parse("-7").id_text().as_deref(), Some("-7"));
        assert_eq!(parse("1.5").id_text().as_deref(), Some("1.5"));
        assert_eq!(parse("\"u_1\"").id_text().as_deref(), Some("u_1"));
        assert_eq!(parse("3600").as_u64(), Some(3600));
        assert_eq!(parse("3600.5").as_u64(), None);
        assert_eq!(parse("-1").as_u64(), None);
        assert_eq!(parse("1e300").as_u64(), None);
        assert_eq!(parse("true").id_text(), None);
    }

    #[test]
    fn nesting_is_bounded() {
        // serde_json's own limit is 128; ours (64) must be the one that stops this.
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(serde_json::from_str::<Json>(&deep).is_err());
        let fine = format!("{}{}", "[".repeat(60), "]".repeat(60));
        assert!(serde_json::from_str::<Json>(&fine).is_ok());
    }
}
