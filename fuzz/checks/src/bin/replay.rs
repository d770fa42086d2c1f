//! Runs files through the check of a fuzz target without libFuzzer, and reports what each
//! concluded: a quick way to replay a corpus, a crash or `fixtures/regressions/<target>/`.
//!
//! ```text
//! replay TARGET PATH...      (files, or directories of files)
//! replay --regressions DIR   (DIR/<target>/<file> for every target)
//! ```
//!
//! Exits with 1 if any input breaks a property (or panics), 2 on bad usage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kafka_fuzz_checks::{check_for, Check, Verdict, TARGETS};

fn inputs(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        if let Ok(entries) = std::fs::read_dir(path) {
            let mut entries: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
            entries.sort();
            for p in entries {
                if p.is_file()
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                {
                    out.push(p);
                }
            }
        }
    } else {
        out.push(path.to_owned());
    }
}

/// Replays `files` through `check`; returns the number of failures.
fn replay(target: &str, check: Check, files: &[PathBuf]) -> usize {
    let (mut accepted, mut normalized, mut rejected, mut failed) = (0, 0, 0, 0);
    for file in files {
        let data = match std::fs::read(file) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                failed += 1;
                continue;
            }
        };
        match std::panic::catch_unwind(|| check(&data)) {
            Ok(Ok(Verdict::Accepted)) => accepted += 1,
            Ok(Ok(Verdict::Normalized)) => normalized += 1,
            Ok(Ok(Verdict::Rejected)) => rejected += 1,
            Ok(Err(v)) => {
                eprintln!("{}: {v}", file.display());
                failed += 1;
            }
            Err(_) => {
                eprintln!("{}: panicked", file.display());
                failed += 1;
            }
        }
    }
    println!(
        "{target}: {accepted} accepted, {normalized} normalized, {rejected} rejected, {failed} failed"
    );
    failed
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut failed = 0;
    match args.as_slice() {
        [flag, dir] if flag == "--regressions" => {
            for target in TARGETS {
                let mut files = Vec::new();
                inputs(&Path::new(dir).join(target), &mut files);
                if let Some(check) = check_for(target) {
                    failed += replay(target, check, &files);
                }
            }
        }
        [target, paths @ ..] if !paths.is_empty() => {
            let Some(check) = check_for(target) else {
                eprintln!("unknown target {target}; targets: {}", TARGETS.join(", "));
                return ExitCode::from(2);
            };
            let mut files = Vec::new();
            for p in paths {
                inputs(Path::new(p), &mut files);
            }
            failed += replay(target, check, &files);
        }
        _ => {
            eprintln!("usage: replay TARGET PATH... | replay --regressions DIR");
            return ExitCode::from(2);
        }
    }
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
