//! Merges the definitions of two kafka-clients releases into one model per message.
//!
//! Kafka 4.0 removed old protocol versions (KIP-896), so the 4.x definitions no longer describe
//! what clients of Kafka 0.8 to 3.x send. The newer release is authoritative for the versions it
//! defines; the older one adds the versions below. Fields are matched by name; a field that only
//! the older release has is kept at its place in the field order.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use crate::spec::{FieldSpec, FieldType, MessageKind, MessageSpec, Versions};

#[derive(Debug, Clone)]
pub struct MField {
    pub name: String,
    pub ty: FieldType,
    pub present: Versions,
    pub nullable: Versions,
    pub tagged: Versions,
    pub tag: Option<u32>,
    pub flexible_override: Option<Versions>,
    pub default: Option<String>,
    pub ignorable: bool,
}

#[derive(Debug, Clone)]
pub struct MStruct {
    pub name: String,
    pub fields: Vec<MField>,
}

#[derive(Debug, Clone)]
pub struct MMessage {
    pub name: String,
    pub kind: MessageKind,
    pub api_key: Option<i16>,
    /// Every version either release defines.
    pub valid: Versions,
    /// The versions the newer release defines.
    pub current: Versions,
    pub flexible: Versions,
    pub latest_unstable: bool,
    /// The top-level struct first, then nested ones in order of first appearance.
    pub structs: Vec<MStruct>,
}

/// Flattens a message's struct tree into (struct name -> fields), restricted to `mask`.
fn collect_structs(
    msg: &MessageSpec,
    mask: Versions,
    order: &mut Vec<String>,
    out: &mut BTreeMap<String, Vec<MField>>,
) -> Result<()> {
    let common: BTreeMap<&str, &Vec<FieldSpec>> = msg
        .common_structs
        .iter()
        .map(|s| (s.name.as_str(), &s.fields))
        .collect();
    fn walk(
        name: &str,
        fields: &[FieldSpec],
        mask: Versions,
        common: &BTreeMap<&str, &Vec<FieldSpec>>,
        order: &mut Vec<String>,
        out: &mut BTreeMap<String, Vec<MField>>,
    ) -> Result<()> {
        if out.contains_key(name) {
            return Ok(());
        }
        if !order.iter().any(|n| n == name) {
            order.push(name.to_string());
        }
        let mfields: Vec<MField> = fields
            .iter()
            .map(|f| MField {
                name: f.name.clone(),
                ty: f.ty.clone(),
                present: f.versions & mask,
                nullable: f.nullable & f.versions & mask,
                tagged: f.tagged & f.versions & mask,
                tag: f.tag,
                flexible_override: f.flexible_override,
                default: f.default.clone(),
                ignorable: f.ignorable,
            })
            .collect();
        out.insert(name.to_string(), mfields);
        for f in fields {
            if let Some(sname) = f.ty.struct_name() {
                let nested: &[FieldSpec] = match &f.fields {
                    Some(inline) => inline,
                    None => match common.get(sname) {
                        Some(c) => c,
                        None => bail!("struct {sname} of field {} is not defined", f.name),
                    },
                };
                walk(sname, nested, mask, common, order, out)?;
            }
        }
        Ok(())
    }
    walk(&msg.name, &msg.fields, mask, &common, order, out)
}

fn merge_fields(name: &str, newer: &[MField], older: &[MField]) -> Result<Vec<MField>> {
    let mut merged: Vec<MField> = newer.to_vec();
    let mut insert_at = 0;
    for old in older {
        if old.present == 0 {
            continue;
        }
        match merged.iter().position(|f| f.name == old.name) {
            Some(i) => {
                let f = &mut merged[i];
                if f.ty != old.ty {
                    bail!(
                        "{name}.{}: type {:?} in the newer release, {:?} in the older",
                        f.name,
                        f.ty,
                        old.ty
                    );
                }
                if f.tag.is_some() && old.tag.is_some() && f.tag != old.tag {
                    bail!("{name}.{}: tag differs between releases", f.name);
                }
                f.present |= old.present;
                f.nullable |= old.nullable;
                f.tagged |= old.tagged;
                f.tag = f.tag.or(old.tag);
                if f.default.is_none() {
                    f.default.clone_from(&old.default);
                }
                insert_at = i + 1;
            }
            None => {
                merged.insert(insert_at, old.clone());
                insert_at += 1;
            }
        }
    }
    Ok(merged)
}

/// Checks that, for every version, the fields present keep one wire order in the merged list.
fn check_order(name: &str, merged: &[MField], source: &[MField]) -> Result<()> {
    let positions: Vec<usize> = source
        .iter()
        .filter(|f| f.present != 0)
        .filter_map(|f| merged.iter().position(|m| m.name == f.name))
        .collect();
    if positions.windows(2).any(|w| w[0] > w[1]) {
        bail!("{name}: field order differs between releases");
    }
    Ok(())
}

pub fn merge(newer: Option<&MessageSpec>, older: Option<&MessageSpec>) -> Result<MMessage> {
    let Some(base) = newer.or(older) else {
        bail!("merge of nothing");
    };
    let current = newer.map_or(0, |m| m.valid);
    let old_only = older.map_or(0, |m| m.valid & !current);
    let mut order = Vec::new();
    let mut new_structs = BTreeMap::new();
    let mut old_structs = BTreeMap::new();
    if let Some(n) = newer {
        collect_structs(n, current, &mut order, &mut new_structs)?;
    }
    if let Some(o) = older {
        if old_only != 0 {
            collect_structs(o, old_only, &mut order, &mut old_structs)?;
        }
    }
    let mut structs = Vec::new();
    for sname in &order {
        let newer_fields = new_structs.get(sname).cloned().unwrap_or_default();
        let older_fields = old_structs.get(sname).cloned().unwrap_or_default();
        let fields = merge_fields(sname, &newer_fields, &older_fields)?;
        check_order(sname, &fields, &newer_fields)?;
        check_order(sname, &fields, &older_fields)?;
        structs.push(MStruct {
            name: sname.clone(),
            fields,
        });
    }
    if let (Some(n), Some(o)) = (newer, older) {
        if n.kind != o.kind || n.api_key != o.api_key {
            bail!("{}: kind or api key differs between releases", n.name);
        }
    }
    let flexible =
        newer.map_or(0, |m| m.flexible & current) | older.map_or(0, |m| m.flexible & old_only);
    Ok(MMessage {
        name: base.name.clone(),
        kind: base.kind,
        api_key: base.api_key,
        valid: current | old_only,
        current,
        flexible,
        latest_unstable: newer.is_some_and(|m| m.latest_unstable),
        structs,
    })
}
