//! Allocation bounds: decoding hostile input never allocates much more than the input itself.
//!
//! A counting allocator (`peak_alloc`, the global allocator of this test binary) measures the
//! peak heap use of one decode. Because it counts every thread of the process and tests run in
//! parallel, each case runs in a child process: the parent test re-runs this binary with
//! `--exact alloc_bounds::child --test-threads=1` and the case's name in `KAFKA_ALLOC_CASE`; the
//! child builds the input, resets the peak, decodes, and checks
//!
//! ```text
//! peak heap  <=  PER_INPUT_BYTE × input length  +  PER_CAP × decompression cap  +  FIXED
//! ```
//!
//! (the cap term only for compressed records; see `docs/fuzzing.md` for the stated bound). On
//! Linux the child also resets and reads the peak resident set (`VmHWM`), which counts memory the
//! allocator does not see (zstd's C library allocates its window with `malloc` directly), and
//! checks it against the same bound plus `RSS_SLACK`.

mod cases;

use std::process::Command;

use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

const CASE_ENV: &str = "KAFKA_ALLOC_CASE";
/// Heap bytes a decode may use per input byte.
pub const PER_INPUT_BYTE: usize = 8;
/// Heap bytes a decode may use per byte of the decompression cap: the output buffer grows by
/// doubling and a reallocation briefly holds the old and the new buffer.
pub const PER_CAP: usize = 3;
/// Fixed allowance: array pre-reservations (64 KiB each), codec state, error messages.
pub const FIXED: usize = 1 << 20;
/// Extra resident memory allowed over the heap bound (allocator caching, pages, stacks).
pub const RSS_SLACK: usize = 16 << 20;

/// The bound for an input of `len` bytes decoded with decompression cap `cap` (0: none).
pub fn bound(len: usize, cap: usize) -> usize {
    PER_INPUT_BYTE * len + PER_CAP * cap + FIXED
}

/// Peak resident set in bytes after resetting it, where Linux allows that.
fn reset_rss_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn status_kib(field: &str) -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs in the child: one case, measured.
#[test]
fn child() {
    let Ok(name) = std::env::var(CASE_ENV) else {
        return; // the ordinary run: nothing to do here
    };
    let case = cases::ALL
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name}"));
    let input = (case.input)();
    let rss = reset_rss_peak().then(|| status_kib("VmRSS:")).flatten();
    let base = ALLOC.current_usage();
    ALLOC.reset_peak_usage();
    (case.decode)(&input);
    let peak = ALLOC.peak_usage().saturating_sub(base);
    let hwm = status_kib("VmHWM:");
    let rss_growth = match (rss, hwm) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before) * 1024),
        _ => None,
    };
    let limit = bound(input.len(), case.cap);
    println!(
        "ALLOC {} input={} cap={} peak={} rss_growth={} bound={}",
        case.name,
        input.len(),
        case.cap,
        peak,
        rss_growth.map_or("n/a".into(), |r| r.to_string()),
        limit
    );
    assert!(
        peak <= limit,
        "{}: peak heap {peak} bytes for {} input bytes, bound {limit}",
        case.name,
        input.len()
    );
    if let Some(r) = rss_growth {
        assert!(
            r <= limit + RSS_SLACK,
            "{}: resident set grew {r} bytes for {} input bytes, bound {}",
            case.name,
            input.len(),
            limit + RSS_SLACK
        );
    }
}

/// Runs every case in its own child process and fails if any exceeds its bound.
#[test]
fn hostile_inputs_stay_within_bounds() {
    if std::env::var(CASE_ENV).is_ok() {
        return; // inside a child
    }
    let exe = std::env::current_exe().expect("test binary path");
    let mut failures = Vec::new();
    for case in cases::ALL {
        let out = Command::new(&exe)
            .args([
                "--exact",
                "alloc_bounds::child",
                "--test-threads=1",
                "--nocapture",
            ])
            .env(CASE_ENV, case.name)
            .output()
            .expect("run the test binary");
        let stdout = String::from_utf8_lossy(&out.stdout);
        // libtest prints the test's name first, on the same line.
        let line = stdout
            .lines()
            .find_map(|l| l.find("ALLOC ").map(|at| &l[at..]));
        match line {
            Some(l) if out.status.success() => println!("{l}"),
            _ => failures.push(format!(
                "{}: {}\n{}{}",
                case.name,
                out.status,
                stdout,
                String::from_utf8_lossy(&out.stderr)
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
