//! Drives the Java reference oracle (`tools/java-oracle`) over stdin/stdout.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds the oracle once per test process (idempotent and quick when already built).
fn build() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = Command::new("bash")
            .arg(repo_root().join("tools/java-oracle/build.sh"))
            .status()
            .expect("run tools/java-oracle/build.sh (needs java and maven)");
        assert!(status.success(), "java oracle build failed");
    });
}

pub struct Oracle {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    pub kafka_version: &'static str,
}

impl Oracle {
    /// Starts an oracle over kafka-clients `kafka_version` (4.3.1 or 3.9.1).
    pub fn start(kafka_version: &'static str) -> Oracle {
        build();
        let cache = repo_root().join(".cache/java-oracle");
        let classpath = format!(
            "{}:{}/*",
            cache.join("oracle.jar").display(),
            cache.join(format!("lib-{kafka_version}")).display()
        );
        let mut child = Command::new("java")
            .args(["-Xss4m", "-cp", &classpath, "kafkars.oracle.Oracle"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start java oracle");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut o = Oracle {
            child,
            stdin,
            stdout,
            kafka_version,
        };
        let v = o.ask("version");
        assert_eq!(v, format!("ok {kafka_version}"), "oracle version");
        o
    }

    /// Sends one command and returns the one-line answer.
    pub fn ask(&mut self, command: &str) -> String {
        writeln!(self.stdin, "{command}").expect("write to oracle");
        self.stdin.flush().expect("flush oracle");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read from oracle");
        assert!(!line.is_empty(), "oracle exited");
        line.trim_end_matches(['\n', '\r']).to_string()
    }

    /// `ok <payload>` to `Ok(payload)`, `err <why>` to `Err(why)`.
    pub fn ask_ok(&mut self, command: &str) -> Result<String, String> {
        let answer = self.ask(command);
        if let Some(rest) = answer.strip_prefix("ok") {
            Ok(rest.trim_start().to_string())
        } else {
            Err(answer)
        }
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

pub fn unhex(s: &str) -> Vec<u8> {
    let s = s.trim();
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}
