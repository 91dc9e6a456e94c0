//! The one runner every tool goes through. It starts the child with duct in
//! the invocation's folder (never `set_current_dir`, which is process-global),
//! in its own process group, tees the merged stdout/stderr line by line to the
//! log file, turns lines into events (current step, errors), enforces the
//! timeout (SIGTERM to the group, a grace period, then SIGKILL) and classifies
//! the outcome from the exit status and the log.
use super::{Invocation, ToolEnv, ToolKind};
use crate::error::{Error, Result};
use crate::events::{Event, Reporter};
use serde::Serialize;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    Success,
    /// Non-zero exit; the first `ERROR:`/`Error:` line of the log when there is one.
    ToolError {
        exit_code: Option<i32>,
        first_error_line: Option<String>,
    },
    /// The tool could not check out a license.
    LicenseFailure {
        line: String,
    },
    /// Stopped by qforge after the timeout.
    Timeout {
        after_secs: u64,
    },
    /// Ended by a signal it did not get from qforge (a crash, the OOM killer),
    /// or a wrapper script's `128 + signal` exit status.
    Killed {
        signal: i32,
    },
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Success)
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Success => "success".to_string(),
            Outcome::ToolError { exit_code, first_error_line } => {
                let code = exit_code.map_or("no exit code".to_string(), |c| format!("exit status {c}"));
                match first_error_line {
                    Some(line) => format!("failed ({code}): {line}"),
                    None => format!("failed ({code}) without an ERROR line in its log"),
                }
            }
            Outcome::LicenseFailure { line } => format!("license failure: {line}"),
            Outcome::Timeout { after_secs } => format!("timed out after {after_secs} s and was stopped"),
            Outcome::Killed { signal } => format!("killed by signal {signal} ({})", signal_name(*signal)),
        }
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGSEGV => "SIGSEGV, a crash",
        libc::SIGABRT => "SIGABRT",
        libc::SIGKILL => "SIGKILL, e.g. out of memory",
        libc::SIGTERM => "SIGTERM",
        libc::SIGBUS => "SIGBUS",
        libc::SIGINT => "SIGINT",
        _ => "signal",
    }
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub outcome: Outcome,
    pub exit_code: Option<i32>,
    pub elapsed_secs: f64,
    pub log_path: PathBuf,
    pub first_error_line: Option<String>,
    /// The steps seen in the log, in order.
    pub steps: Vec<String>,
}

/// What one log line means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    Step(String),
    Error,
    License,
    Warning,
    Other,
}

/// Classify one log line of `tool`.
pub fn classify_line(tool: ToolKind, line: &str) -> LineKind {
    let trimmed = line.trim();
    let lower = trimmed.to_ascii_lowercase();
    // "ERROR: ..." (Xilinx, Yosys scripts), "Error: ..." (Bambu), and
    // "file:line: ERROR: ..." / "file:1:2: error: ..." (Yosys frontends, compilers).
    let is_error = ["ERROR:", "Error:", "error:"].iter().any(|tag| trimmed.starts_with(tag) || trimmed.contains(&format!(": {tag} ")));
    if lower.contains("license") && (is_error || lower.contains("flexlm") || lower.contains("[common 17-345]")) {
        return LineKind::License;
    }
    if lower.contains("flexlm") && lower.contains("error") {
        return LineKind::License;
    }
    if is_error {
        return LineKind::Error;
    }
    if trimmed.starts_with("CRITICAL WARNING:") {
        return LineKind::Warning;
    }
    match step_of(tool, trimmed) {
        Some(step) => LineKind::Step(step),
        None => LineKind::Other,
    }
}

/// The step a line announces, if it announces one.
fn step_of(tool: ToolKind, line: &str) -> Option<String> {
    // hls4ml-style markers that build_prj.tcl prints: "***** C/RTL SYNTHESIS *****".
    if let Some(inner) = line.strip_prefix("***** ").and_then(|l| l.strip_suffix(" *****")) {
        if !inner.contains("COMPLETED") && !inner.contains("OPTIONS") {
            return Some(inner.to_string());
        }
    }
    match tool {
        ToolKind::VivadoHls | ToolKind::VitisHls => {
            // "INFO: [HLS 200-10] Analyzing design file 'firmware/myproject.cpp' ..."
            let rest = line.strip_prefix("INFO: [HLS 200-10] ")?;
            Some(rest.trim_end_matches(" ...").to_string())
        }
        ToolKind::Vivado => {
            if let Some(command) = line.strip_prefix("Command: ") {
                return command.split_whitespace().next().map(str::to_string);
            }
            let task = line.strip_prefix("Starting ")?.strip_suffix(" Task")?;
            Some(task.to_string())
        }
        ToolKind::Yosys => {
            // Top-level passes only: "2. Executing SYNTH_XILINX pass." (not "2.3. ...").
            let (number, rest) = line.split_once(". ")?;
            if number.chars().all(|c| c.is_ascii_digit()) && rest.starts_with("Executing ") {
                Some(rest.trim_start_matches("Executing ").trim_end_matches('.').to_string())
            } else {
                None
            }
        }
        ToolKind::Bambu => {
            let known = [
                "Parsing",
                "Scheduling",
                "Module binding",
                "Register binding",
                "Generating",
                "Simulation",
                "Synthesis",
                "Summary of resources",
            ];
            known.iter().any(|k| line.starts_with(k)).then(|| line.trim_end_matches(':').to_string())
        }
    }
}

/// What the reader thread learned from the log.
#[derive(Default)]
struct LogSummary {
    first_error_line: Option<String>,
    license_line: Option<String>,
    steps: Vec<String>,
}

/// Execute `inv`: log to `inv.log_path`, report steps to `reporter`, stop it at the timeout.
/// Errors only when the tool cannot be started or the log cannot be written.
pub fn run(inv: &Invocation, reporter: &dyn Reporter) -> Result<RunResult> {
    let log_file = create_log(&inv.log_path)?;
    let mut expr = duct::cmd(&inv.program, &inv.args)
        .dir(&inv.cwd)
        .stdin_null()
        .stderr_to_stdout()
        .unchecked()
        // Its own process group, so the timeout reaches the tool's children too.
        .before_spawn(|command| {
            command.process_group(0);
            Ok(())
        });
    for (name, value) in &inv.env {
        expr = expr.env(name, value);
    }
    let started = Instant::now();
    let handle = expr
        .reader()
        .map_err(|e| Error::Tool(format!("{}: could not start {}: {e}; {}", inv.tool, inv.program.display(), inv.tool.install_hint())))?;
    let pgid = handle.pids().first().copied().map(|p| p as i32);
    reporter.event(Event::Progress { done: 0, message: format!("{} {}: started", inv.tool, inv.step) });

    let summary = Mutex::new(LogSummary::default());
    let timeout = Duration::from_secs(inv.timeout_secs);
    let grace = Duration::from_secs(inv.grace_secs);
    let mut timed_out = false;
    let status = std::thread::scope(|scope| -> Result<std::process::ExitStatus> {
        let reader = scope.spawn(|| tee_log(inv, &handle, log_file, reporter, &summary));
        let mut term_sent: Option<Instant> = None;
        let status = loop {
            if let Some(output) = handle.try_wait().map_err(|e| Error::Tool(format!("{}: waiting for the tool: {e}", inv.tool)))? {
                break output.status;
            }
            let now = Instant::now();
            match term_sent {
                None if now.duration_since(started) >= timeout => {
                    timed_out = true;
                    reporter.event(Event::Log(format!(
                        "{}: no result after {} s: stopping it (SIGTERM, then SIGKILL after {} s)",
                        inv.tool, inv.timeout_secs, inv.grace_secs
                    )));
                    signal_group(pgid, libc::SIGTERM);
                    term_sent = Some(now);
                }
                Some(sent) if now.duration_since(sent) >= grace => {
                    signal_group(pgid, libc::SIGKILL);
                }
                _ => {}
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Children left in the group may hold the log pipe open: give them the
        // grace period to finish writing, then end them.
        let deadline = Instant::now() + grace.max(Duration::from_millis(500));
        while !reader.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if !reader.is_finished() {
            signal_group(pgid, libc::SIGKILL);
        }
        reader.join().expect("log reader thread panicked")?;
        Ok(status)
    })?;
    let summary = summary.into_inner().expect("log summary lock");
    let elapsed = started.elapsed();
    let outcome = classify_outcome(status, timed_out, inv.timeout_secs, &summary);
    Ok(RunResult {
        outcome,
        exit_code: status.code(),
        elapsed_secs: elapsed.as_secs_f64(),
        log_path: inv.log_path.clone(),
        first_error_line: summary.first_error_line,
        steps: summary.steps,
    })
}

fn create_log(path: &Path) -> Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::File::create(path).map_err(|e| Error::io(path, e))
}

fn signal_group(pgid: Option<i32>, signal: i32) {
    if let Some(pgid) = pgid.filter(|&p| p > 0) {
        // SAFETY: kill(2) with a negative pid signals that process group; it
        // only reads its integer arguments.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}

/// Copy the child's output to the log line by line, classifying each line.
fn tee_log(
    inv: &Invocation,
    handle: &duct::ReaderHandle,
    log_file: std::fs::File,
    reporter: &dyn Reporter,
    summary: &Mutex<LogSummary>,
) -> Result<()> {
    let mut log = std::io::BufWriter::new(log_file);
    let mut reader = BufReader::new(handle);
    let mut raw = Vec::new();
    let mut steps_done = 0u64;
    loop {
        raw.clear();
        match reader.read_until(b'\n', &mut raw) {
            Ok(0) => break,
            Ok(_) => {}
            // The pipe closes with an error when the group is killed: the log ends there.
            Err(_) => break,
        }
        log.write_all(&raw).map_err(|e| Error::io(&inv.log_path, e))?;
        let line = String::from_utf8_lossy(&raw);
        let line = line.trim_end_matches(['\n', '\r']);
        let mut s = summary.lock().expect("log summary lock");
        match classify_line(inv.tool, line) {
            LineKind::Step(step) => {
                log.flush().ok();
                steps_done += 1;
                reporter.event(Event::Progress { done: steps_done, message: format!("{} {}: {step}", inv.tool, inv.step) });
                s.steps.push(step);
            }
            LineKind::License => {
                s.license_line.get_or_insert_with(|| line.trim().to_string());
                s.first_error_line.get_or_insert_with(|| line.trim().to_string());
                reporter.event(Event::Log(format!("{}: {}", inv.tool, line.trim())));
            }
            LineKind::Error => {
                s.first_error_line.get_or_insert_with(|| line.trim().to_string());
                reporter.event(Event::Log(format!("{}: {}", inv.tool, line.trim())));
            }
            LineKind::Warning => reporter.event(Event::Log(format!("{}: {}", inv.tool, line.trim()))),
            LineKind::Other => {}
        }
    }
    log.flush().map_err(|e| Error::io(&inv.log_path, e))
}

fn classify_outcome(status: std::process::ExitStatus, timed_out: bool, timeout_secs: u64, log: &LogSummary) -> Outcome {
    if timed_out {
        return Outcome::Timeout { after_secs: timeout_secs };
    }
    if let Some(signal) = status.signal() {
        return Outcome::Killed { signal };
    }
    let code = status.code();
    if let Some(line) = &log.license_line {
        return Outcome::LicenseFailure { line: line.clone() };
    }
    match code {
        Some(0) => Outcome::Success,
        // The vendor tools are shell-script wrappers: a crash of the real
        // binary reaches us as the shell's 128 + signal.
        Some(c) if (129..=128 + 31).contains(&c) && log.first_error_line.is_none() => Outcome::Killed { signal: c - 128 },
        _ => Outcome::ToolError { exit_code: code, first_error_line: log.first_error_line.clone() },
    }
}

/// Run a short command (a version probe) and return its merged output, or
/// `None` when it cannot start or does not finish within `timeout`.
pub fn capture(program: &Path, args: &[&str], env: &ToolEnv, timeout: Duration) -> Option<String> {
    let mut expr = duct::cmd(program, args).stdin_null().stderr_to_stdout().stdout_capture().unchecked().before_spawn(|c| {
        c.process_group(0);
        Ok(())
    });
    for (name, value) in env.overrides() {
        expr = expr.env(name, value);
    }
    let handle = expr.start().ok()?;
    let started = Instant::now();
    loop {
        if let Ok(Some(output)) = handle.try_wait() {
            return Some(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        if started.elapsed() >= timeout {
            signal_group(handle.pids().first().map(|&p| p as i32), libc::SIGKILL);
            let _ = handle.kill();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
