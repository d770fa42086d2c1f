//! The message definitions as read from the kafka-clients jar: only the facts the codec needs
//! (names, types, versions, tags, defaults). Descriptions are never read.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

/// A set of versions 0..=63 as a bit mask.
pub type Versions = u64;

/// Parses "0+", "3-13", "5", "none" or "".
pub fn parse_versions(text: &str) -> Result<Versions> {
    let t = text.trim();
    if t.is_empty() || t == "none" {
        return Ok(0);
    }
    let range = |lo: u32, hi: u32| -> Result<Versions> {
        if lo > hi || hi > 63 {
            bail!("bad version range {t}");
        }
        let width = hi - lo + 1;
        let bits = if width == 64 {
            u64::MAX
        } else {
            (1u64 << width) - 1
        };
        Ok(bits << lo)
    };
    if let Some(lo) = t.strip_suffix('+') {
        let lo: u32 = lo.parse().with_context(|| format!("versions {t}"))?;
        return range(lo, 63);
    }
    if let Some((lo, hi)) = t.split_once('-') {
        return range(lo.parse()?, hi.parse()?);
    }
    let v: u32 = t.parse().with_context(|| format!("versions {t}"))?;
    range(v, v)
}

#[derive(Debug, Clone, PartialEq)]
pub enum FieldType {
    Bool,
    Int8,
    Int16,
    Uint16,
    Int32,
    Uint32,
    Int64,
    Float64,
    String,
    Bytes,
    Records,
    Uuid,
    Array(Box<FieldType>),
    Struct(String),
}

impl FieldType {
    pub fn parse(text: &str) -> FieldType {
        if let Some(inner) = text.strip_prefix("[]") {
            return FieldType::Array(Box::new(FieldType::parse(inner)));
        }
        match text {
            "bool" => FieldType::Bool,
            "int8" => FieldType::Int8,
            "int16" => FieldType::Int16,
            "uint16" => FieldType::Uint16,
            "int32" => FieldType::Int32,
            "uint32" => FieldType::Uint32,
            "int64" => FieldType::Int64,
            "float64" => FieldType::Float64,
            "string" => FieldType::String,
            "bytes" => FieldType::Bytes,
            "records" => FieldType::Records,
            "uuid" => FieldType::Uuid,
            other => FieldType::Struct(other.to_string()),
        }
    }

    pub fn struct_name(&self) -> Option<&str> {
        match self {
            FieldType::Struct(n) => Some(n),
            FieldType::Array(inner) => inner.struct_name(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct FieldSpec {
    pub name: String,
    pub ty: FieldType,
    pub versions: Versions,
    pub nullable: Versions,
    pub tagged: Versions,
    pub tag: Option<u32>,
    /// Field-level override of the message's flexible versions (only `ClientId` in the request
    /// header uses it).
    pub flexible_override: Option<Versions>,
    pub default: Option<String>,
    pub ignorable: bool,
    /// Inline struct definition (fields of the struct the type names), if any.
    pub fields: Option<Vec<FieldSpec>>,
}

#[derive(Debug, Clone)]
pub struct StructSpec {
    pub name: String,
    pub fields: Vec<FieldSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Request,
    Response,
    Header,
    Data,
}

#[derive(Debug, Clone)]
pub struct MessageSpec {
    pub name: String,
    pub kind: MessageKind,
    pub api_key: Option<i16>,
    pub valid: Versions,
    pub flexible: Versions,
    pub latest_unstable: bool,
    pub fields: Vec<FieldSpec>,
    pub common_structs: Vec<StructSpec>,
}

/// Removes `//` comments outside strings (the definitions carry them; JSON does not allow them).
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_string = false;
        let mut escaped = false;
        let mut cut = line.len();
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            if in_string {
                if escaped {
                    escaped = false;
                } else if c == b'\\' {
                    escaped = true;
                } else if c == b'"' {
                    in_string = false;
                }
            } else if c == b'"' {
                in_string = true;
            } else if c == b'/' && bytes.get(i + 1) == Some(&b'/') {
                cut = i;
                break;
            }
            i += 1;
        }
        out.push_str(&line[..cut]);
        out.push('\n');
    }
    out
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn parse_field(v: &Value) -> Result<FieldSpec> {
    let name = str_field(v, "name").ok_or_else(|| anyhow!("field without name"))?;
    let ty = str_field(v, "type").ok_or_else(|| anyhow!("field {name} without type"))?;
    let versions = parse_versions(str_field(v, "versions").unwrap_or(""))
        .with_context(|| format!("field {name}"))?;
    let nullable = parse_versions(str_field(v, "nullableVersions").unwrap_or(""))?;
    let tagged = parse_versions(str_field(v, "taggedVersions").unwrap_or(""))?;
    let tag = match v.get("tag") {
        None => None,
        Some(Value::Number(n)) => Some(n.as_u64().ok_or_else(|| anyhow!("bad tag"))? as u32),
        Some(Value::String(s)) => Some(s.parse()?),
        Some(other) => bail!("bad tag {other}"),
    };
    let flexible_override = match str_field(v, "flexibleVersions") {
        Some(s) => Some(parse_versions(s)?),
        None => None,
    };
    let default = match v.get("default") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => bail!("field {name}: bad default {other}"),
    };
    let ignorable = v.get("ignorable").and_then(Value::as_bool).unwrap_or(false);
    let fields = match v.get("fields") {
        Some(Value::Array(items)) => {
            Some(items.iter().map(parse_field).collect::<Result<Vec<_>>>()?)
        }
        _ => None,
    };
    Ok(FieldSpec {
        name: name.to_string(),
        ty: FieldType::parse(ty),
        versions,
        nullable,
        tagged,
        tag,
        flexible_override,
        default,
        ignorable,
        fields,
    })
}

pub fn parse_message(text: &str) -> Result<MessageSpec> {
    let v: Value = serde_json::from_str(&strip_comments(text))?;
    let name = str_field(&v, "name").ok_or_else(|| anyhow!("message without name"))?;
    let kind = match str_field(&v, "type") {
        Some("request") => MessageKind::Request,
        Some("response") => MessageKind::Response,
        Some("header") => MessageKind::Header,
        Some("data") => MessageKind::Data,
        other => bail!("{name}: unknown message type {other:?}"),
    };
    let api_key = v.get("apiKey").and_then(Value::as_i64).map(|k| k as i16);
    let valid = parse_versions(str_field(&v, "validVersions").unwrap_or(""))?;
    let flexible = parse_versions(str_field(&v, "flexibleVersions").unwrap_or("none"))?;
    let latest_unstable = v
        .get("latestVersionUnstable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let fields = match v.get("fields") {
        Some(Value::Array(items)) => items.iter().map(parse_field).collect::<Result<Vec<_>>>()?,
        _ => Vec::new(),
    };
    let common_structs = match v.get("commonStructs") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|s| {
                let sname = str_field(s, "name").ok_or_else(|| anyhow!("struct without name"))?;
                let fields = match s.get("fields") {
                    Some(Value::Array(items)) => {
                        items.iter().map(parse_field).collect::<Result<Vec<_>>>()?
                    }
                    _ => Vec::new(),
                };
                Ok(StructSpec {
                    name: sname.to_string(),
                    fields,
                })
            })
            .collect::<Result<Vec<_>>>()?,
        _ => Vec::new(),
    };
    Ok(MessageSpec {
        name: name.to_string(),
        kind,
        api_key,
        valid,
        flexible,
        latest_unstable,
        fields,
        common_structs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(parse_versions("none").unwrap(), 0);
        assert_eq!(parse_versions("3").unwrap(), 1 << 3);
        assert_eq!(parse_versions("1-2").unwrap(), 0b110);
        assert_eq!(parse_versions("62+").unwrap(), 0b11 << 62);
        assert_eq!(parse_versions("0+").unwrap(), u64::MAX);
    }

    #[test]
    fn comments_outside_strings_are_removed() {
        let s = strip_comments("{ \"a\": \"http://x\" } // note\n// whole line\n");
        assert_eq!(s, "{ \"a\": \"http://x\" } \n\n");
    }
}
