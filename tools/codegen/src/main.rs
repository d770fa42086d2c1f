//! Generates `kafka-protocol/src/generated/` from the message definitions inside the pinned
//! kafka-clients jars (fetched with Maven into the local repository).
//!
//! `cargo run -p kafka-codegen` writes the files; `--check` fails if they are stale.
//! Only facts are taken from the definitions: names, types, versions, tags and defaults.

mod emit;
mod merge;
mod names;
mod spec;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::merge::MMessage;
use crate::spec::{MessageKind, MessageSpec};

/// The release whose definitions are authoritative.
const CURRENT: &str = "4.3.1";
/// The last release that still defines the versions KIP-896 removed in 4.0.
const LEGACY: &str = "3.9.1";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

fn jar_path(version: &str) -> Result<PathBuf> {
    let m2 = std::env::var_os("MAVEN_REPO")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".m2/repository")))
        .context("no HOME")?;
    let jar = m2.join(format!(
        "org/apache/kafka/kafka-clients/{version}/kafka-clients-{version}.jar"
    ));
    if !jar.exists() {
        eprintln!("fetching kafka-clients {version} with Maven");
        let status = Command::new("mvn")
            .args([
                "-q",
                "dependency:get",
                "-Dtransitive=false",
                &format!("-Dartifact=org.apache.kafka:kafka-clients:{version}"),
            ])
            .status()
            .context("running mvn")?;
        if !status.success() || !jar.exists() {
            bail!("could not fetch kafka-clients {version}");
        }
    }
    Ok(jar)
}

fn read_definitions(version: &str) -> Result<Vec<MessageSpec>> {
    let jar = jar_path(version)?;
    let file = std::fs::File::open(&jar).with_context(|| format!("open {}", jar.display()))?;
    let mut zip = zip::ZipArchive::new(file)?;
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i)?;
        let name = entry.name().to_string();
        if !(name.starts_with("common/message/") && name.ends_with(".json")) {
            continue;
        }
        let mut text = String::new();
        entry.read_to_string(&mut text)?;
        let spec = spec::parse_message(&text).with_context(|| format!("{version}: {name}"))?;
        out.push(spec);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Pairs each current definition with its legacy one: by API key and kind for requests and
/// responses (a message may be renamed, as ListClientMetricsResources became ListConfigResources),
/// by name otherwise.
fn merge_all(current: &[MessageSpec], legacy: &[MessageSpec]) -> Result<Vec<MMessage>> {
    fn identity(m: &MessageSpec) -> String {
        match (m.kind, m.api_key) {
            (MessageKind::Request, Some(k)) => format!("request/{k}"),
            (MessageKind::Response, Some(k)) => format!("response/{k}"),
            _ => format!("name/{}", m.name),
        }
    }
    let mut pairs: BTreeMap<String, (Option<&MessageSpec>, Option<&MessageSpec>)> = BTreeMap::new();
    for m in current {
        pairs.entry(identity(m)).or_default().0 = Some(m);
    }
    for m in legacy {
        pairs.entry(identity(m)).or_default().1 = Some(m);
    }
    let mut out = Vec::new();
    for (id, (cur, old)) in pairs {
        let merged = merge::merge(cur, old).with_context(|| id.clone())?;
        if merged.valid == 0 {
            bail!("{id}: no versions");
        }
        out.push(merged);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn generate() -> Result<BTreeMap<String, String>> {
    let current = read_definitions(CURRENT)?;
    let legacy = read_definitions(LEGACY)?;
    let messages = merge_all(&current, &legacy)?;
    let mut files = BTreeMap::new();
    let by_name: BTreeMap<&str, &MMessage> =
        messages.iter().map(|m| (m.name.as_str(), m)).collect();
    for m in &messages {
        let partner = match (m.kind, m.api_key) {
            (MessageKind::Request, Some(k)) => messages
                .iter()
                .find(|p| p.kind == MessageKind::Response && p.api_key == Some(k)),
            _ => None,
        };
        let _ = &by_name;
        files.insert(
            format!("{}.rs", emit::module_name(m)),
            emit::emit_message(m, partner)?,
        );
    }
    files.insert("mod.rs".to_string(), emit::emit_mod(&messages)?);
    let pairs: usize = messages
        .iter()
        .filter(|m| matches!(m.kind, MessageKind::Request | MessageKind::Response))
        .map(|m| m.current.count_ones() as usize)
        .sum();
    let all_pairs: usize = messages
        .iter()
        .filter(|m| matches!(m.kind, MessageKind::Request | MessageKind::Response))
        .map(|m| m.valid.count_ones() as usize)
        .sum();
    eprintln!(
        "{} messages; {pairs} message-version pairs defined by {CURRENT}, {all_pairs} with the versions of {LEGACY}",
        messages.len()
    );
    Ok(files)
}

fn rustfmt(files: &mut BTreeMap<String, String>) -> Result<()> {
    for (name, text) in files.iter_mut() {
        let mut child = Command::new("rustfmt")
            .args(["--edition", "2021", "--emit", "stdout", "--quiet"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .context("running rustfmt")?;
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().context("rustfmt stdin")?;
            stdin.write_all(text.as_bytes())?;
        }
        let output = child.wait_with_output()?;
        if !output.status.success() {
            bail!("rustfmt failed on {name}");
        }
        *text = String::from_utf8(output.stdout)?;
    }
    Ok(())
}

fn main() -> Result<()> {
    let check = std::env::args().any(|a| a == "--check");
    let out_dir = repo_root().join("kafka-protocol/src/generated");
    let mut files = generate()?;
    rustfmt(&mut files)?;
    if check {
        let mut stale = Vec::new();
        for (name, text) in &files {
            let existing = std::fs::read_to_string(out_dir.join(name)).unwrap_or_default();
            if &existing != text {
                stale.push(name.clone());
            }
        }
        for entry in std::fs::read_dir(&out_dir)? {
            let name = entry?.file_name().to_string_lossy().to_string();
            if name.ends_with(".rs") && !files.contains_key(&name) {
                stale.push(format!("{name} (not generated)"));
            }
        }
        if !stale.is_empty() {
            bail!(
                "generated code is stale: {}; run `cargo run -p kafka-codegen`",
                stale.join(", ")
            );
        }
        eprintln!("generated code is fresh ({} files)", files.len());
        return Ok(());
    }
    std::fs::create_dir_all(&out_dir)?;
    for entry in std::fs::read_dir(&out_dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            std::fs::remove_file(path)?;
        }
    }
    for (name, text) in &files {
        std::fs::write(out_dir.join(name), text)?;
    }
    eprintln!("wrote {} files to {}", files.len(), out_dir.display());
    Ok(())
}
