//! Running a city's adapter program: the bridge to a service the city contracts (an SMS gateway,
//! an official real-name service). The program gets one line of JSON on stdin — never personal
//! data on its command line, which other users of the machine can read — and answers on stdout
//! within a timeout. Errors say what went wrong without the question's contents, since they
//! are logged.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Most bytes of an answer read.
const ANSWER_BYTES_MAX: u64 = 4096;

/// A configured adapter: the program, its arguments and how long it may take.
#[derive(Debug, Clone)]
pub struct Adapter {
    pub program: String,
    pub args: Vec<String>,
    pub timeout: Duration,
}

impl Adapter {
    /// Run the program with `question` on stdin; its stdout (at most 4 KiB) when it exits 0
    /// within the timeout.
    pub fn ask(&self, question: &serde_json::Value) -> Result<String, String> {
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting the adapter: {}", e.kind()))?;
        if let Some(mut stdin) = child.stdin.take() {
            // An adapter that answers without reading closes its end: not an error by itself.
            let _ = writeln!(stdin, "{question}");
        }
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() >= self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("no answer within {} ms", self.timeout.as_millis()));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(format!("waiting for the adapter: {}", e.kind())),
            }
        };
        if !status.success() {
            return Err(format!("the adapter exited with {status}"));
        }
        let mut out = String::new();
        if let Some(stdout) = child.stdout.take() {
            stdout
                .take(ANSWER_BYTES_MAX)
                .read_to_string(&mut out)
                .map_err(|e| format!("reading the answer: {}", e.kind()))?;
        }
        Ok(out)
    }
}
