//! The JSON Schema of `org.toml`, for editors (Taplo / "Even Better TOML" read it through the
//! `#:schema ./org.schema.json` line that `convoy init` writes) and for checks in CI.
//!
//! It is derived with `schemars` from the serde types [`load`](super::load) deserialises, so it
//! cannot drift from them: doc comments become `description`s, `#[serde(deny_unknown_fields)]`
//! becomes `additionalProperties: false`, `#[serde(default = ...)]` becomes `default`, and enums
//! list their values. Fields kept as `Spanned<T>` are described as `T`
//! (`#[schemars(with = "T")]`); `[policy.rules]` is written from the rule registry
//! (`policy::config`). Checks that need more than one value or the file system (a `[[repo]]`
//! with both `name` and `topic`, a template that does not exist) stay with `convoy validate`.

use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use serde_json::Value;

use super::OrgManifest;

/// The file name `convoy init` writes the schema to, beside `org.toml`, and the one its
/// `#:schema` line names.
pub const SCHEMA_FILE: &str = "org.schema.json";

/// The first line of a manifest written by `convoy init`: Taplo's `schema` header directive
/// (<https://taplo.tamasfe.dev/configuration/directives.html>); a comment to TOML.
pub const SCHEMA_DIRECTIVE: &str = "#:schema ./org.schema.json";

/// The schema of `org.toml`: JSON Schema draft 7, the newest draft Taplo's validator and VS
/// Code's JSON support both read.
pub fn schema() -> schemars::Schema {
    let mut settings = SchemaSettings::draft07();
    // First, so the draft-7 transforms see the result.
    settings.transforms.insert(0, Box::new(RecursiveTransform(drop_null)));
    let mut schema = settings.into_generator().into_root_schema_for::<OrgManifest>();
    schema.insert("title".into(), "convoy org.toml".into());
    schema
}

/// [`schema`] as pretty-printed JSON with a final newline: what `convoy schema` prints and
/// `convoy init` writes to [`SCHEMA_FILE`].
pub fn schema_json() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// TOML has no null: an unset optional key is left out. schemars describes `Option<T>` as "T or
/// null" and serialises `None` defaults as `null`; both are removed so that editors neither
/// offer `null` nor show it as a default.
fn drop_null(schema: &mut schemars::Schema) {
    let Some(obj) = schema.as_object_mut() else { return };
    let is_null = |v: &Value| v.get("type").and_then(Value::as_str) == Some("null");
    // `anyOf: [T, {type: null}]` (an Option of a referenced or composed schema) becomes T.
    if let Some(Value::Array(any)) = obj.get("anyOf")
        && any.len() == 2
        && any.iter().any(is_null)
        && let Some(Value::Object(inner)) = any.iter().find(|v| !is_null(v)).cloned()
    {
        obj.remove("anyOf");
        for (k, v) in inner {
            obj.entry(k).or_insert(v);
        }
    }
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            obj.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(values)) = obj.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    if let Some(Value::Array(one_of)) = obj.get_mut("oneOf") {
        one_of.retain(|v| !(v.get("const") == Some(&Value::Null) || is_null(v)));
    }
    match obj.get_mut("default") {
        Some(Value::Null) => {
            obj.remove("default");
        }
        Some(default) => drop_null_members(default),
        None => {}
    }
}

/// Remove `null` members from objects, at any depth (a default such as `[campaign]`'s, whose
/// unset options serialise as `null`).
fn drop_null_members(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_null_members);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null_members),
        _ => {}
    }
}
