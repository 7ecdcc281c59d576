//! A strict JSON Schema check for the schemas `ghops schema` prints (schemars, draft 2020-12),
//! so that tests can hold each command's real `--json` output to its published schema.
//!
//! It implements exactly the keywords those schemas use (`type`, `properties`, `required`,
//! `additionalProperties`, `items`, `$ref` into `$defs`, `oneOf`, `anyOf`, `allOf`, `const`,
//! `enum`, `minimum`, `maximum`, `format` `date-time`/`uint*`/`int*`), and **fails on any other
//! validation keyword** rather than ignoring it, so a schema it cannot check is reported, never
//! passed. It is stricter than JSON Schema in one way, on purpose: an object may only have the
//! keys its schema describes (the `properties` of the object's schema, of the branch of a
//! `oneOf`/`anyOf`/`allOf` it matched, and of the object that composes them, as a flattened
//! struct gives), unless `additionalProperties` says otherwise. An undocumented key is a
//! failure: that is what the schema promises.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// Keywords that only annotate (no effect on validity).
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$defs",
    "definitions",
];

/// Checks `instance` against `schema` (a root schema, whose `$defs` the `$ref`s point into).
/// Returns every violation found, each as `<JSON pointer>: <what>`; empty when it is valid.
pub fn validate(schema: &Value, instance: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, schema, instance, "", &BTreeSet::new(), &mut errors);
    errors
}

/// Panics, naming every violation and the instance, unless `instance` is valid.
pub fn assert_valid(schema: &Value, instance: &Value) {
    let errors = validate(schema, instance);
    assert!(
        errors.is_empty(),
        "does not match its schema:\n  {}\ninstance: {}",
        errors.join("\n  "),
        serde_json::to_string_pretty(instance).unwrap_or_default()
    );
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(want: &str, v: &Value) -> bool {
    let got = type_name(v);
    got == want || (want == "number" && got == "integer")
}

/// `2026-12-05T08:00:00Z`, `2026-12-05T08:00:00.123+01:00` (RFC 3339 date-time).
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(digits(0..4)
        && at(4, b'-')
        && digits(5..7)
        && at(7, b'-')
        && digits(8..10)
        && (at(10, b'T') || at(10, b't'))
        && digits(11..13)
        && at(13, b':')
        && digits(14..16)
        && at(16, b':')
        && digits(17..19))
    {
        return false;
    }
    let mut i = 19;
    if at(i, b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            digits(i + 1..i + 3) && at(i + 3, b':') && digits(i + 4..i + 6) && i + 6 == b.len()
        }
        _ => false,
    }
}

fn check_format(format: &str, v: &Value, at: &str, errors: &mut Vec<String>) {
    let ok = match format {
        "date-time" => v.as_str().is_none_or(is_rfc3339),
        "uint8" | "uint16" | "uint32" | "uint64" | "uint" => !v.is_number() || v.is_u64(),
        "int8" | "int16" | "int32" | "int64" | "int" => !v.is_number() || v.is_i64() || v.is_u64(),
        "double" | "float" => true,
        other => {
            errors.push(format!("{at}: the checker does not know format {other:?}"));
            return;
        }
    };
    if !ok {
        errors.push(format!("{at}: {v} is not a {format}"));
    }
}

fn resolve<'a>(root: &'a Value, r: &str) -> Option<&'a Value> {
    root.pointer(r.strip_prefix('#')?)
}

/// The property names `schema` itself describes (for the keys a composed object may have).
fn own_properties(schema: &Map<String, Value>) -> impl Iterator<Item = &String> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(Map::keys)
}

fn check(
    root: &Value,
    schema: &Value,
    v: &Value,
    at: &str,
    allowed_from_parent: &BTreeSet<String>,
    errors: &mut Vec<String>,
) {
    let s = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => {
            errors.push(format!("{at}: no value is allowed here"));
            return;
        }
        Value::Object(s) => s,
        other => {
            errors.push(format!("{at}: the schema is not a schema: {other}"));
            return;
        }
    };
    // Keys an object here may have: the parent's (a flattened struct's) and this schema's.
    let mut allowed = allowed_from_parent.clone();
    allowed.extend(own_properties(s).cloned());
    let composed = ["oneOf", "anyOf", "allOf", "$ref"]
        .iter()
        .any(|k| s.contains_key(*k));
    for (k, kv) in s {
        match k.as_str() {
            k if ANNOTATIONS.contains(&k) => {}
            "$ref" => match kv.as_str().and_then(|r| resolve(root, r)) {
                Some(target) => check(root, target, v, at, &allowed, errors),
                None => errors.push(format!("{at}: unresolvable $ref {kv}")),
            },
            "type" => {
                let ok = match kv {
                    Value::String(t) => type_matches(t, v),
                    Value::Array(ts) => ts
                        .iter()
                        .filter_map(Value::as_str)
                        .any(|t| type_matches(t, v)),
                    _ => false,
                };
                if !ok {
                    errors.push(format!("{at}: {} is not of type {kv}", type_name(v)));
                }
            }
            "const" => {
                if kv != v {
                    errors.push(format!("{at}: {v} is not {kv}"));
                }
            }
            "enum" => {
                if !kv.as_array().is_some_and(|e| e.contains(v)) {
                    errors.push(format!("{at}: {v} is not one of {kv}"));
                }
            }
            "minimum" => {
                if let (Some(min), Some(n)) = (kv.as_f64(), v.as_f64())
                    && n < min
                {
                    errors.push(format!("{at}: {n} is below the minimum {min}"));
                }
            }
            "maximum" => {
                if let (Some(max), Some(n)) = (kv.as_f64(), v.as_f64())
                    && n > max
                {
                    errors.push(format!("{at}: {n} is above the maximum {max}"));
                }
            }
            "format" => check_format(kv.as_str().unwrap_or_default(), v, at, errors),
            "required" => {
                if let Some(o) = v.as_object() {
                    for r in kv
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        if !o.contains_key(r) {
                            errors.push(format!("{at}: required key {r:?} is missing"));
                        }
                    }
                }
            }
            "properties" => {
                if let (Some(props), Some(o)) = (kv.as_object(), v.as_object()) {
                    for (name, sub) in props {
                        if let Some(value) = o.get(name) {
                            check(
                                root,
                                sub,
                                value,
                                &format!("{at}/{name}"),
                                &BTreeSet::new(),
                                errors,
                            );
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(o) = v.as_object() {
                    for (name, value) in o.iter().filter(|(n, _)| !allowed.contains(*n)) {
                        check(
                            root,
                            kv,
                            value,
                            &format!("{at}/{name}"),
                            &BTreeSet::new(),
                            errors,
                        );
                    }
                }
            }
            "items" => {
                if let Some(a) = v.as_array() {
                    for (i, item) in a.iter().enumerate() {
                        check(
                            root,
                            kv,
                            item,
                            &format!("{at}/{i}"),
                            &BTreeSet::new(),
                            errors,
                        );
                    }
                }
            }
            "allOf" => {
                for sub in kv.as_array().into_iter().flatten() {
                    check(root, sub, v, at, &allowed, errors);
                }
            }
            "oneOf" | "anyOf" => {
                let branches: Vec<Vec<String>> = kv
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|sub| {
                        let mut e = Vec::new();
                        check(root, sub, v, at, &allowed, &mut e);
                        e
                    })
                    .collect();
                let matched = branches.iter().filter(|e| e.is_empty()).count();
                let ok = if k == "oneOf" {
                    matched == 1
                } else {
                    matched >= 1
                };
                if !ok {
                    let why: Vec<String> = branches
                        .iter()
                        .enumerate()
                        .map(|(i, e)| format!("[{i}] {}", e.join("; ")))
                        .collect();
                    errors.push(format!(
                        "{at}: matches {matched} of the {k} branches (want {}): {}",
                        if k == "oneOf" {
                            "exactly 1"
                        } else {
                            "at least 1"
                        },
                        why.join(" | ")
                    ));
                }
            }
            other => errors.push(format!(
                "{at}: the checker does not implement keyword {other:?}"
            )),
        }
    }
    // Strict: an object has only the keys described here (or by a branch it matched, checked
    // there), unless `additionalProperties` decides.
    if let Some(o) = v.as_object()
        && !composed
        && !s.contains_key("additionalProperties")
        && (s.contains_key("properties") || s.get("type").is_some_and(|t| t == "object"))
    {
        for name in o.keys().filter(|n| !allowed.contains(*n)) {
            errors.push(format!("{at}: key {name:?} is not in the schema"));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "sha": {"type": "string"},
                "at": {"type": ["string", "null"], "format": "date-time"},
                "n": {"type": "integer", "format": "uint64", "minimum": 0},
                "map": {"type": "object", "additionalProperties": {"type": "integer"}},
                "rows": {"type": "array", "items": {"$ref": "#/$defs/Row"}}
            },
            "required": ["sha", "n"],
            "$defs": {
                "Row": {
                    "type": "object",
                    "properties": {"runner": {"type": "string"}},
                    "required": ["runner"],
                    "oneOf": [
                        {"type": "object", "properties": {"kind": {"const": "a"}, "x": {"type": "integer"}}, "required": ["kind", "x"]},
                        {"type": "object", "properties": {"kind": {"const": "b"}}, "required": ["kind"]}
                    ]
                }
            }
        })
    }

    #[test]
    fn a_valid_instance_passes() {
        let v = json!({
            "sha": "a", "at": "2026-12-05T08:00:00Z", "n": 3, "map": {"linux": 2},
            "rows": [{"runner": "r", "kind": "a", "x": 1}, {"runner": "s", "kind": "b"}]
        });
        assert_eq!(validate(&schema(), &v), Vec::<String>::new());
        assert!(validate(&schema(), &json!({"sha": "a", "n": 0, "at": null})).is_empty());
    }

    #[test]
    fn each_violation_is_reported_with_its_place() {
        let cases = [
            (json!({"n": 1}), "required key \"sha\""),
            (json!({"sha": 1, "n": 1}), "/sha: integer is not of type"),
            (json!({"sha": "a", "n": -1}), "/n: -1 is not a uint64"),
            (
                json!({"sha": "a", "n": 1, "at": "1900000000"}),
                "/at: \"1900000000\" is not a date-time",
            ),
            (
                json!({"sha": "a", "n": 1, "extra": true}),
                "key \"extra\" is not in the schema",
            ),
            (
                json!({"sha": "a", "n": 1, "map": {"x": "y"}}),
                "/map/x: string is not of type",
            ),
            (
                json!({"sha": "a", "n": 1, "rows": [{"runner": "r", "kind": "c"}]}),
                "/rows/0: matches 0 of the oneOf branches",
            ),
            // A key neither the composing object nor the matched branch describes.
            (
                json!({"sha": "a", "n": 1, "rows": [{"runner": "r", "kind": "b", "x": 1}]}),
                "/rows/0: matches 0 of the oneOf",
            ),
        ];
        for (v, want) in cases {
            let errors = validate(&schema(), &v).join("\n");
            assert!(errors.contains(want), "{v}: want {want:?}, got:\n{errors}");
        }
    }

    #[test]
    fn an_unknown_keyword_fails_instead_of_passing() {
        let s = json!({"type": "string", "pattern": "^[0-9a-f]{40}$"});
        let errors = validate(&s, &json!("xyz"));
        assert_eq!(
            errors,
            [": the checker does not implement keyword \"pattern\""]
        );
    }

    #[test]
    fn rfc3339() {
        for ok in [
            "2026-12-05T08:00:00Z",
            "2026-12-05T08:00:00.5+01:00",
            "2026-12-05t08:00:00z",
        ] {
            assert!(is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "2026-12-05",
            "2026-12-05T08:00:00",
            "1900000000",
            "2026-12-05T08:00:00+0100",
            "4s",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }
}
