//! Replays what fuzzing found: every file of `fixtures/regressions/<target>/` goes through the
//! check of its fuzz target (`kafka_protocol::fuzzing`, the same code the targets in `fuzz/`
//! run) and must now pass. The targets of other crates (`capture_decode`, `client_conn`,
//! `client_fetch`) are replayed by `fuzz/smoke` with the `replay` tool of `fuzz/checks`.

use std::path::Path;

use kafka_protocol::fuzzing::check_for;

/// Targets whose checks live outside this crate.
const ELSEWHERE: &[&str] = &["capture_decode", "client_conn", "client_fetch"];

#[test]
fn every_regression_input_passes_its_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/regressions");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut failures = Vec::new();
    let mut replayed = 0usize;
    for dir in dirs {
        let target = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let Some(check) = check_for(&target) else {
            assert!(
                ELSEWHERE.contains(&target.as_str()),
                "fixtures/regressions/{target}: no such fuzz target"
            );
            continue;
        };
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("regression directory")
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).expect("regression file");
            replayed += 1;
            match std::panic::catch_unwind(|| check(&data)) {
                Ok(Ok(_)) => {}
                Ok(Err(v)) => failures.push(format!("{}: {v}", file.display())),
                Err(_) => failures.push(format!("{}: panicked", file.display())),
            }
        }
    }
    println!("regressions: {replayed} inputs replayed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
