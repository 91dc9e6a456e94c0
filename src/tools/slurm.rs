//! The Slurm client commands (`sbatch`, `squeue`, `scontrol`, `sacct`,
//! `scancel`, `sinfo`) as typed calls, for the Slurm executor
//! (`pipeline::executor::slurm`). Input: the [`ToolEnv`] the commands run with
//! (`SLURM_CONF` and PATH come from it). Output: parsed rows, or errors that
//! name the fault and its fix (Slurm missing, controller down, unknown partition).
use super::ToolEnv;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How to bring up a controller when none answers.
pub const CONTROLLER_HINT: &str = "start the Slurm controller (for a one-node cluster on this machine: \
scripts/slurm-cluster.sh start, then export the SLURM_CONF it prints) or point SLURM_CONF at your cluster's slurm.conf";

/// What to do when the Slurm commands are not installed.
pub const INSTALL_HINT: &str =
    "install the Slurm client commands (Debian/Ubuntu: apt-get install slurm-wlm munge) or put sbatch, squeue and scontrol on PATH";

/// A Slurm command's captured run.
#[derive(Debug, Clone)]
pub struct Captured {
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Captured {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// One row of `squeue -r`: a pending or running array task.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRow {
    /// `123_4` for an array task.
    pub job_id: String,
    pub state: String,
    pub node: Option<String>,
    pub elapsed_secs: Option<f64>,
    pub reason: Option<String>,
}

/// One job record from `scontrol show job -o` or `sacct`.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    /// `123_4` for an array task, `123` for a plain job.
    pub job_id: String,
    pub state: String,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub node: Option<String>,
    pub elapsed_secs: Option<f64>,
    pub reason: Option<String>,
}

/// The located Slurm commands and the environment they run with.
#[derive(Debug, Clone)]
pub struct SlurmClient {
    env: ToolEnv,
    bin: BTreeMap<&'static str, PathBuf>,
    timeout: Duration,
}

const COMMANDS: [&str; 6] = ["sbatch", "squeue", "scontrol", "sacct", "scancel", "sinfo"];

impl SlurmClient {
    /// Find the Slurm commands on the PATH of `env` (or in `$QFORGE_SLURM_BIN`).
    pub fn locate(env: ToolEnv) -> Result<Self> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let mut bin = BTreeMap::new();
        for name in COMMANDS {
            let found = match env.get("QFORGE_SLURM_BIN") {
                Some(dir) => Some(Path::new(dir).join(name)).filter(|p| p.is_file()),
                None => {
                    let path: OsString = env.get("PATH").unwrap_or("").into();
                    which::which_in(name, Some(path), &cwd).ok()
                }
            };
            match found {
                Some(path) => {
                    bin.insert(name, path);
                }
                None => {
                    return Err(Error::Tool(format!(
                        "slurm: `{name}` not found (looked in {}); {INSTALL_HINT}",
                        if env.get("QFORGE_SLURM_BIN").is_some() { "$QFORGE_SLURM_BIN" } else { "PATH" }
                    )))
                }
            }
        }
        Ok(SlurmClient { env, bin, timeout: Duration::from_secs(120) })
    }

    /// Run one Slurm command, capturing its output.
    pub fn command(&self, name: &str, args: &[String]) -> Result<Captured> {
        let program = self.bin.get(name).ok_or_else(|| Error::Tool(format!("slurm: unknown command {name}")))?;
        let mut expr = duct::cmd(program, args).stdin_null().stdout_capture().stderr_capture().unchecked().before_spawn(|c| {
            c.process_group(0);
            Ok(())
        });
        for (key, value) in self.env.overrides() {
            expr = expr.env(key, value);
        }
        let handle = expr.start().map_err(|e| Error::Tool(format!("slurm: could not start {name}: {e}; {INSTALL_HINT}")))?;
        let started = Instant::now();
        loop {
            match handle.try_wait() {
                Ok(Some(output)) => {
                    return Ok(Captured {
                        exit_code: output.status.code(),
                        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
                    })
                }
                Ok(None) => {}
                Err(e) => return Err(Error::Tool(format!("slurm: waiting for {name}: {e}"))),
            }
            if started.elapsed() > self.timeout {
                let _ = handle.kill();
                return Err(Error::Tool(format!(
                    "slurm: `{name} {}` gave no answer in {} s; {CONTROLLER_HINT}",
                    args.join(" "),
                    self.timeout.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The partitions the controller knows. Fails with the fix when no controller answers.
    pub fn partitions(&self) -> Result<Vec<String>> {
        let out = self.command("sinfo", &args(&["-h", "-o", "%R"]))?;
        check("sinfo", &out)?;
        let mut parts: Vec<String> = out.stdout.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect();
        parts.dedup();
        Ok(parts)
    }

    /// Submit a batch script; returns the job id (`sbatch --parsable`).
    pub fn sbatch(&self, script: &Path) -> Result<String> {
        let out = self.command("sbatch", &["--parsable".to_string(), script.display().to_string()])?;
        check("sbatch", &out)?;
        let id = out.stdout.trim().split(';').next().unwrap_or("").trim().to_string();
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
            return Err(Error::Tool(format!("slurm: sbatch {} printed no job id: {}", script.display(), out.stdout.trim())));
        }
        Ok(id)
    }

    /// Pending and running tasks of the jobs named `job_name` (array tasks one per row).
    pub fn squeue(&self, job_name: &str) -> Result<Vec<QueueRow>> {
        let out = self.command("squeue", &args(&["-h", "-r", "-n", job_name, "-o", "%i|%T|%N|%M|%r"]))?;
        check("squeue", &out)?;
        Ok(out.stdout.lines().filter_map(parse_queue_row).collect())
    }

    /// The records `scontrol show job -o ID` has for a job (all tasks of an
    /// array); empty once the controller has purged the job (after `MinJobAge`).
    pub fn show_job(&self, job_id: &str) -> Result<Vec<JobRecord>> {
        let out = self.command("scontrol", &args(&["show", "job", "-o", job_id]))?;
        if !out.success() && out.stderr.contains("Invalid job id") {
            return Ok(Vec::new());
        }
        check("scontrol", &out)?;
        Ok(out.stdout.lines().filter_map(parse_scontrol_line).flat_map(expand_array_record).collect())
    }

    /// Accounting records, or `None` when the cluster keeps no accounting.
    pub fn sacct(&self, job_ids: &[String]) -> Result<Option<Vec<JobRecord>>> {
        let out = self.command(
            "sacct",
            &args(&["-n", "-P", "-X", "-j", &job_ids.join(","), "-o", "JobID,State,ExitCode,NodeList,ElapsedRaw,Reason"]),
        )?;
        if !out.success() || out.stderr.contains("accounting storage is disabled") {
            return Ok(None);
        }
        Ok(Some(out.stdout.lines().filter_map(parse_sacct_line).collect()))
    }

    /// Cancel jobs or array tasks (`123`, `123_4`).
    pub fn scancel(&self, job_ids: &[String]) -> Result<()> {
        if job_ids.is_empty() {
            return Ok(());
        }
        let out = self.command("scancel", job_ids)?;
        check("scancel", &out)
    }
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Turn a failed Slurm command into an error naming the fault and the fix.
fn check(name: &str, out: &Captured) -> Result<()> {
    if out.success() {
        return Ok(());
    }
    let stderr = out.stderr.trim();
    let lower = stderr.to_ascii_lowercase();
    if lower.contains("unable to contact slurm controller") || lower.contains("connection refused") {
        return Err(Error::Tool(format!("slurm: {name}: no Slurm controller answers ({stderr}); {CONTROLLER_HINT}")));
    }
    if lower.contains("invalid partition") {
        return Err(Error::Config(format!(
            "slurm: {name}: {stderr}; set `partition` in the [executor.slurm] section to one that `sinfo -s` lists"
        )));
    }
    if lower.contains("invalid account") {
        return Err(Error::Config(format!(
            "slurm: {name}: {stderr}; set `account` in the [executor.slurm] section to one `sacctmgr show assoc user=$USER` lists"
        )));
    }
    let code = out.exit_code.map_or("a signal".to_string(), |c| format!("exit status {c}"));
    Err(Error::Tool(format!("slurm: {name} failed ({code}): {stderr}")))
}

fn none_if_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty() && s != "(null)" && s != "None" && s != "n/a").then(|| s.to_string())
}

/// `123_4|RUNNING|node1|1:02|None`
pub fn parse_queue_row(line: &str) -> Option<QueueRow> {
    let fields: Vec<&str> = line.trim().split('|').collect();
    if fields.len() < 5 {
        return None;
    }
    Some(QueueRow {
        job_id: fields[0].to_string(),
        state: fields[1].to_string(),
        node: none_if_empty(fields[2]),
        elapsed_secs: parse_slurm_duration(fields[3]).map(|d| d.as_secs_f64()),
        reason: none_if_empty(fields[4]),
    })
}

/// One line of `scontrol show job -o`: `JobId=124 ArrayJobId=123 ArrayTaskId=1 ... JobState=COMPLETED ...`.
pub fn parse_scontrol_line(line: &str) -> Option<JobRecord> {
    let fields: BTreeMap<&str, &str> = line.split_whitespace().filter_map(|w| w.split_once('=')).collect();
    let state = fields.get("JobState")?;
    let job_id = match (fields.get("ArrayJobId"), fields.get("ArrayTaskId")) {
        (Some(array), Some(task)) => format!("{array}_{task}"),
        _ => fields.get("JobId")?.to_string(),
    };
    let (exit_code, signal) = parse_exit_code(fields.get("ExitCode").copied().unwrap_or(""));
    Some(JobRecord {
        job_id,
        state: state.to_string(),
        exit_code,
        signal,
        node: fields.get("NodeList").and_then(|n| none_if_empty(n)),
        elapsed_secs: fields.get("RunTime").and_then(|t| parse_slurm_duration(t)).map(|d| d.as_secs_f64()),
        reason: fields.get("Reason").and_then(|r| none_if_empty(r)),
    })
}

/// A record for a range of array tasks (`10_0-19%4`, `10_[1,3-5]`; pending
/// tasks not yet split off, or cancelled before they were) becomes one
/// record per task; one for all the array's remaining tasks gets the id `10_*`.
pub fn expand_array_record(record: JobRecord) -> Vec<JobRecord> {
    let Some((array, tasks)) = record.job_id.split_once('_') else { return vec![record] };
    // NO_VAL: a pending array cancelled before any task was split off; the
    // record stands for all its remaining tasks.
    if tasks == "4294967294" {
        return vec![JobRecord { job_id: format!("{array}_*"), ..record }];
    }
    let tasks = tasks.trim_start_matches('[').trim_end_matches(']');
    let tasks = tasks.split('%').next().unwrap_or("");
    if tasks.chars().all(|c| c.is_ascii_digit()) {
        return vec![record];
    }
    let mut out = Vec::new();
    for part in tasks.split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (lo.parse::<u64>().ok(), hi.parse::<u64>().ok()),
            None => (part.parse().ok(), part.parse().ok()),
        };
        if let (Some(lo), Some(hi)) = (lo, hi) {
            for task in lo..=hi.min(lo + 100_000) {
                out.push(JobRecord { job_id: format!("{array}_{task}"), ..record.clone() });
            }
        }
    }
    out
}

/// One line of `sacct -n -P -o JobID,State,ExitCode,NodeList,ElapsedRaw,Reason`.
pub fn parse_sacct_line(line: &str) -> Option<JobRecord> {
    let fields: Vec<&str> = line.trim().split('|').collect();
    if fields.len() < 5 {
        return None;
    }
    let (exit_code, signal) = parse_exit_code(fields[2]);
    Some(JobRecord {
        job_id: fields[0].to_string(),
        // "CANCELLED by 0" → "CANCELLED"
        state: fields[1].split_whitespace().next().unwrap_or("").to_string(),
        exit_code,
        signal,
        node: none_if_empty(fields[3]),
        elapsed_secs: fields[4].trim().parse::<f64>().ok(),
        reason: fields.get(5).and_then(|r| none_if_empty(r)),
    })
}

/// `3:0` → (exit 3, signal 0).
pub fn parse_exit_code(text: &str) -> (Option<i32>, Option<i32>) {
    let mut parts = text.trim().split(':');
    let code = parts.next().and_then(|c| c.parse().ok());
    let signal = parts.next().and_then(|s| s.parse().ok());
    (code, signal)
}

/// Slurm's time formats: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`
/// (`squeue %M` and `scontrol RunTime` print the same family). `UNLIMITED`
/// and `INVALID` give `None`.
pub fn parse_slurm_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (days, rest) = match text.split_once('-') {
        Some((d, rest)) => (d.parse::<u64>().ok()?, rest),
        None => (0, text),
    };
    let parts: Vec<u64> = rest.split(':').map(|p| p.parse::<u64>().ok()).collect::<Option<_>>()?;
    let has_days = text.contains('-');
    let secs = match (has_days, parts.as_slice()) {
        (false, [m]) => m * 60,
        (false, [m, s]) => m * 60 + s,
        (false, [h, m, s]) => h * 3600 + m * 60 + s,
        (true, [h]) => h * 3600,
        (true, [h, m]) => h * 3600 + m * 60,
        (true, [h, m, s]) => h * 3600 + m * 60 + s,
        _ => return None,
    };
    Some(Duration::from_secs(days * 86_400 + secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_slurm_formats() {
        let s = |t: &str| parse_slurm_duration(t).map(|d| d.as_secs());
        assert_eq!(s("5"), Some(300));
        assert_eq!(s("0:07"), Some(7));
        assert_eq!(s("01:02:03"), Some(3723));
        assert_eq!(s("2-01"), Some(2 * 86_400 + 3600));
        assert_eq!(s("1-00:00:05"), Some(86_405));
        assert_eq!(s("UNLIMITED"), None);
    }

    #[test]
    fn scontrol_array_task_line() {
        let line = "JobId=12 ArrayJobId=10 ArrayTaskId=2 JobName=q JobState=TIMEOUT Reason=TimeLimit ExitCode=0:15 RunTime=00:01:03 NodeList=vm BatchHost=vm";
        let r = parse_scontrol_line(line).unwrap();
        assert_eq!(r.job_id, "10_2");
        assert_eq!(r.state, "TIMEOUT");
        assert_eq!((r.exit_code, r.signal), (Some(0), Some(15)));
        assert_eq!(r.elapsed_secs, Some(63.0));
        assert_eq!(r.node.as_deref(), Some("vm"));
    }

    #[test]
    fn a_range_of_array_tasks_becomes_one_record_each() {
        let line = "JobId=20 ArrayJobId=20 ArrayTaskId=0-2,5%4 JobState=CANCELLED Reason=None ExitCode=0:0";
        let ids: Vec<String> = expand_array_record(parse_scontrol_line(line).unwrap()).into_iter().map(|r| r.job_id).collect();
        assert_eq!(ids, ["20_0", "20_1", "20_2", "20_5"]);
    }

    #[test]
    fn sacct_and_squeue_rows() {
        let r = parse_sacct_line("10_3|CANCELLED by 0|0:0|vm|12|None").unwrap();
        assert_eq!((r.job_id.as_str(), r.state.as_str(), r.elapsed_secs), ("10_3", "CANCELLED", Some(12.0)));
        let q = parse_queue_row("10_4|PENDING||0:00|JobArrayTaskLimit").unwrap();
        assert_eq!(q.node, None);
        assert_eq!(q.reason.as_deref(), Some("JobArrayTaskLimit"));
    }

    #[test]
    fn controller_down_names_the_fix() {
        let out = Captured {
            exit_code: Some(1),
            stdout: String::new(),
            stderr: "slurm_load_jobs error: Unable to contact slurm controller (connect failure)".into(),
        };
        let msg = check("squeue", &out).unwrap_err().to_string();
        assert!(msg.contains("scripts/slurm-cluster.sh start"), "{msg}");
    }
}
