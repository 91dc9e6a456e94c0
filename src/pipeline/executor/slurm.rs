//! The Slurm executor: a batch of jobs becomes one job array per set of
//! limits (time, CPUs, memory). Each array task reads its job script from a
//! manifest in the run folder, writes a `started` sentinel, runs the job with
//! its log, and leaves an `exit.json` record; the array is submitted with
//! `sbatch --parsable` and tracked with `squeue`, then `scontrol show job`
//! once it leaves the queue, `sacct` when the cluster keeps accounting, and
//! the job's own records once the controller has forgotten it.
//!
//! Files (under the run folder, which must be on the file system the compute
//! nodes share): `slurm/batch-<hash>.sbatch`, `slurm/batch-<hash>.manifest`,
//! `slurm/out/<array>_<task>.out` (Slurm's own output of each task), and
//! `slurm/jobs/<job id>/attempt-<n>/{job.sh,started,exit.json}`.
use super::{now_unix, Executor, JobHandle, JobSpec, JobState, JobStatus};
use crate::error::{Error, Result};
use crate::tools::invocation::shell_quote;
use crate::tools::slurm::{parse_slurm_duration, JobRecord, SlurmClient};
use crate::tools::ToolEnv;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The `[executor.slurm]` section of a pipeline file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlurmConfig {
    /// `--partition`; the cluster's default partition when absent.
    pub partition: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// Default wall-time limit for jobs without their own, in Slurm's format
    /// (`30`, `1:30:00`, `2-00`); rounded up to whole minutes.
    pub time_limit: Option<String>,
    /// Default memory per job: `2G`, `500M`, or MiB as a plain number.
    pub mem: Option<String>,
    /// Default CPUs per job (`--cpus-per-task`) when a job asks for 1.
    pub cpus: Option<u32>,
    /// More `sbatch` options, one per entry (`--qos=short`, `--constraint=avx2`).
    pub extra_sbatch: Vec<String>,
    /// At most this many tasks of one array run at once (`--array=0-N%max`).
    pub max_in_flight: Option<u32>,
}

impl SlurmConfig {
    /// Check the values, naming the field that is wrong.
    pub fn validate(&self) -> Result<()> {
        if let Some(t) = &self.time_limit {
            parse_slurm_duration(t).ok_or_else(|| {
                Error::Config(format!("[executor.slurm] time_limit `{t}` is not a Slurm time (minutes, M:S, H:M:S, D-H, D-H:M:S)"))
            })?;
        }
        if let Some(m) = &self.mem {
            parse_mem_mb(m)?;
        }
        if self.cpus == Some(0) || self.max_in_flight == Some(0) {
            return Err(Error::Config("[executor.slurm] cpus and max_in_flight must be at least 1".into()));
        }
        for option in &self.extra_sbatch {
            if !option.starts_with('-') || option.contains('\n') {
                return Err(Error::Config(format!(
                    "[executor.slurm] extra_sbatch entry `{option}` is not one sbatch option (like `--qos=short`)"
                )));
            }
        }
        Ok(())
    }

    fn default_time_limit_secs(&self) -> Option<u64> {
        self.time_limit.as_deref().and_then(parse_slurm_duration).map(|d| d.as_secs())
    }
}

/// `2G` → 2048, `500M` → 500, `1024` → 1024 (MiB).
pub fn parse_mem_mb(text: &str) -> Result<u64> {
    let t = text.trim();
    let (digits, factor) = match t.chars().last() {
        Some('G' | 'g') => (&t[..t.len() - 1], 1024),
        Some('T' | 't') => (&t[..t.len() - 1], 1024 * 1024),
        Some('M' | 'm') => (&t[..t.len() - 1], 1),
        _ => (t, 1),
    };
    digits
        .parse::<u64>()
        .map(|n| n * factor)
        .map_err(|_| Error::Config(format!("[executor.slurm] mem `{text}` is not a size like 2G, 500M or 1024")))
}

/// Runs jobs as Slurm job arrays.
pub struct SlurmExecutor {
    client: SlurmClient,
    config: SlurmConfig,
    run_dir: PathBuf,
    job_name: String,
}

impl SlurmExecutor {
    /// An executor for the run folder `run_dir`. Checks up front that the
    /// Slurm commands exist, that a controller answers and that the partition
    /// is one it knows, so a bad setup fails before anything is submitted.
    pub fn new(config: SlurmConfig, run_dir: &Path, env: ToolEnv) -> Result<Self> {
        config.validate()?;
        let client = SlurmClient::locate(env)?;
        let partitions = client.partitions()?;
        if let Some(wanted) = &config.partition {
            let known: Vec<String> = partitions.iter().map(|p| p.trim_end_matches('*').to_string()).collect();
            if !known.contains(wanted) {
                return Err(Error::Config(format!(
                    "[executor.slurm] partition `{wanted}` is not one this cluster has (it has: {}); set `partition` to one of them",
                    known.join(", ")
                )));
            }
        }
        let run_dir = std::path::absolute(run_dir).map_err(|e| Error::io(run_dir, e))?;
        std::fs::create_dir_all(run_dir.join("slurm/out")).map_err(|e| Error::io(run_dir.join("slurm/out"), e))?;
        let digest = Sha256::digest(run_dir.to_string_lossy().as_bytes());
        let job_name = format!("qforge-{}", &hex::encode(digest)[..10]);
        Ok(SlurmExecutor { client, config, run_dir, job_name })
    }

    /// The `--job-name` of every array this executor submits (one per run folder).
    pub fn job_name(&self) -> &str {
        &self.job_name
    }

    /// The folder of one try of one job: its script, sentinel and exit record.
    pub fn attempt_dir(&self, job_id: &str, attempt: u32) -> PathBuf {
        self.run_dir.join("slurm/jobs").join(job_id).join(format!("attempt-{attempt}"))
    }

    fn limits(&self, job: &JobSpec) -> JobLimits {
        let minutes = job.time_limit_secs.or(self.config.default_time_limit_secs()).map(|s| s.div_ceil(60).max(1));
        let cpus = if job.cpus > 1 { job.cpus } else { self.config.cpus.unwrap_or(1) };
        let mem = job.mem_mb.or_else(|| self.config.mem.as_deref().and_then(|m| parse_mem_mb(m).ok()));
        (minutes, cpus, mem)
    }

    /// Write `job.sh` for one try of a job.
    fn write_job_script(&self, job: &JobSpec) -> Result<PathBuf> {
        let dir = self.attempt_dir(&job.id, job.attempt);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let q = |p: &Path| shell_quote(&p.to_string_lossy());
        let mut s = String::from("#!/bin/sh\n");
        s.push_str(&format!("# Written by qforge: job {} ({}), try {}.\n", job.label, job.id, job.attempt));
        s.push_str(&format!("dir={}\n", q(&dir)));
        s.push_str("start=$(date +%s)\n");
        s.push_str(
            "if ! { echo \"$(hostname) $start\" > \"$dir/started.tmp\" && mv \"$dir/started.tmp\" \"$dir/started\"; }; then\n  \
             echo \"qforge: cannot write $dir/started: the run folder is not on a file system this node shares\" >&2\n  exit 97\nfi\n",
        );
        s.push_str(&format!("cd {} || exit 96\n", q(&job.cwd)));
        if let Some(log_dir) = job.log_path.parent() {
            s.push_str(&format!("mkdir -p {}\n", q(log_dir)));
        }
        for (name, value) in &job.env {
            s.push_str(&format!("export {name}={}\n", shell_quote(value)));
        }
        s.push_str(&q(&job.program));
        for arg in &job.args {
            s.push(' ');
            s.push_str(&shell_quote(arg));
        }
        s.push_str(&format!(" > {} 2>&1\n", q(&job.log_path)));
        s.push_str("code=$?\n");
        s.push_str(
            "printf '{\"exit_code\": %d, \"node\": \"%s\", \"started_unix\": %s, \"finished_unix\": %s}\\n' \
             \"$code\" \"$(hostname)\" \"$start\" \"$(date +%s)\" > \"$dir/exit.json.tmp\" && mv \"$dir/exit.json.tmp\" \"$dir/exit.json\"\n",
        );
        s.push_str("exit $code\n");
        let path = dir.join("job.sh");
        crate::error::write_atomic(&path, s.as_bytes())?;
        Ok(path)
    }

    /// Write the manifest and the array's sbatch script for one group of jobs
    /// with the same limits, submit it, and return its array job id.
    fn submit_group(&self, jobs: &[&JobSpec]) -> Result<String> {
        let mut hasher = Sha256::new();
        for job in jobs {
            hasher.update(job.id.as_bytes());
            hasher.update(job.attempt.to_le_bytes());
        }
        hasher.update(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos().to_le_bytes());
        let batch = &hex::encode(hasher.finalize())[..12];
        let slurm_dir = self.run_dir.join("slurm");
        let mut manifest = String::new();
        for job in jobs {
            manifest.push_str(&self.write_job_script(job)?.display().to_string());
            manifest.push('\n');
        }
        let manifest_path = slurm_dir.join(format!("batch-{batch}.manifest"));
        crate::error::write_atomic(&manifest_path, manifest.as_bytes())?;

        let (minutes, cpus, mem) = self.limits(jobs[0]);
        let q = |p: &Path| shell_quote(&p.to_string_lossy());
        let mut s = String::from("#!/bin/sh\n");
        let mut array = format!("0-{}", jobs.len() - 1);
        if let Some(max) = self.config.max_in_flight {
            array.push_str(&format!("%{max}"));
        }
        for option in &self.config.extra_sbatch {
            s.push_str(&format!("#SBATCH {option}\n"));
        }
        // qforge's own options come last: they win over the extras.
        s.push_str(&format!("#SBATCH --job-name={}\n", self.job_name));
        s.push_str(&format!("#SBATCH --array={array}\n"));
        if let Some(minutes) = minutes {
            s.push_str(&format!("#SBATCH --time={minutes}\n"));
        }
        s.push_str(&format!("#SBATCH --cpus-per-task={cpus}\n"));
        if let Some(mem) = mem {
            s.push_str(&format!("#SBATCH --mem={mem}M\n"));
        }
        if let Some(p) = &self.config.partition {
            s.push_str(&format!("#SBATCH --partition={p}\n"));
        }
        if let Some(a) = &self.config.account {
            s.push_str(&format!("#SBATCH --account={a}\n"));
        }
        s.push_str(&format!("#SBATCH --chdir={}\n", slurm_dir.display()));
        s.push_str(&format!("#SBATCH --output={}/out/%A_%a.out\n", slurm_dir.display()));
        s.push_str(&format!("# Written by qforge: {} jobs, one per array task.\n", jobs.len()));
        s.push_str(&format!("manifest={}\n", q(&manifest_path)));
        s.push_str("script=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" \"$manifest\" 2>/dev/null)\n");
        s.push_str(
            "if [ -z \"$script\" ]; then\n  echo \"qforge: cannot read job $SLURM_ARRAY_TASK_ID from $manifest: \
             the run folder is not on a file system this node shares\" >&2\n  exit 98\nfi\nexec /bin/sh \"$script\"\n",
        );
        let script_path = slurm_dir.join(format!("batch-{batch}.sbatch"));
        crate::error::write_atomic(&script_path, s.as_bytes())?;
        self.client.sbatch(&script_path)
    }

    /// The job's own exit record, if it wrote one.
    fn exit_record(&self, handle: &JobHandle) -> Option<ExitRecord> {
        let path = self.attempt_dir(&handle.job_id, handle.attempt).join("exit.json");
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    }

    fn sentinel(&self, handle: &JobHandle) -> PathBuf {
        self.attempt_dir(&handle.job_id, handle.attempt).join("started")
    }
}

#[derive(Debug, Deserialize)]
struct ExitRecord {
    exit_code: i32,
    node: String,
    started_unix: u64,
    finished_unix: u64,
}

fn status_from_record(handle: &JobHandle, record: &JobRecord) -> JobStatus {
    let mut status = JobStatus::new(handle, JobState::from_slurm(&record.state));
    status.native_state = Some(record.state.clone());
    status.exit_code = record.exit_code;
    status.signal = record.signal.filter(|&s| s != 0);
    status.node = record.node.clone();
    status.elapsed_secs = record.elapsed_secs;
    status.reason = record.reason.clone();
    status
}

impl Executor for SlurmExecutor {
    fn kind(&self) -> &'static str {
        "slurm"
    }

    fn submit(&self, jobs: &[JobSpec]) -> Result<Vec<JobHandle>> {
        // One array per set of limits, in first-seen order.
        let mut groups: Vec<(JobLimits, Vec<usize>)> = Vec::new();
        for (i, job) in jobs.iter().enumerate() {
            let key = self.limits(job);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(i),
                None => groups.push((key, vec![i])),
            }
        }
        let mut handles: Vec<Option<JobHandle>> = vec![None; jobs.len()];
        for (_, members) in groups {
            let group: Vec<&JobSpec> = members.iter().map(|&i| &jobs[i]).collect();
            let array_id = self.submit_group(&group)?;
            for (task, &i) in members.iter().enumerate() {
                handles[i] = Some(JobHandle {
                    job_id: jobs[i].id.clone(),
                    executor: self.kind().to_string(),
                    external_id: format!("{array_id}_{task}"),
                    attempt: jobs[i].attempt,
                    submitted_unix: now_unix(),
                });
            }
        }
        Ok(handles.into_iter().map(|h| h.expect("every job is in one group")).collect())
    }

    fn poll(&self, handles: &[JobHandle]) -> Result<Vec<JobStatus>> {
        let mut known: HashMap<String, JobStatus> = HashMap::new();
        let by_id: HashMap<&str, &JobHandle> = handles.iter().map(|h| (h.external_id.as_str(), h)).collect();
        for row in self.client.squeue(&self.job_name)? {
            if let Some(handle) = by_id.get(row.job_id.as_str()) {
                let mut status = JobStatus::new(handle, JobState::from_slurm(&row.state));
                status.native_state = Some(row.state.clone());
                status.node = row.node;
                status.elapsed_secs = row.elapsed_secs;
                status.reason = row.reason;
                known.insert(row.job_id, status);
            }
        }
        // Left the queue: ask the controller, which keeps finished jobs for MinJobAge.
        let mut arrays: Vec<&str> =
            handles.iter().filter(|h| !known.contains_key(&h.external_id)).map(|h| h.external_id.split('_').next().unwrap_or("")).collect();
        arrays.sort_unstable();
        arrays.dedup();
        for array in arrays {
            let mut remaining_tasks = None;
            for record in self.client.show_job(array)? {
                if record.job_id.ends_with("_*") {
                    remaining_tasks = Some(record);
                } else if let Some(handle) = by_id.get(record.job_id.as_str()) {
                    known.entry(record.job_id.clone()).or_insert_with(|| status_from_record(handle, &record));
                }
            }
            // The record of the tasks never split off covers the rest of the array.
            if let Some(record) = remaining_tasks {
                for handle in handles.iter().filter(|h| h.external_id.split('_').next() == Some(array)) {
                    known.entry(handle.external_id.clone()).or_insert_with(|| status_from_record(handle, &record));
                }
            }
        }
        // Forgotten by the controller: accounting, when the cluster keeps it.
        let missing: Vec<String> = handles.iter().filter(|h| !known.contains_key(&h.external_id)).map(|h| h.external_id.clone()).collect();
        if !missing.is_empty() {
            if let Some(records) = self.client.sacct(&missing)? {
                for record in records {
                    if let Some(handle) = by_id.get(record.job_id.as_str()) {
                        known.entry(record.job_id.clone()).or_insert_with(|| status_from_record(handle, &record));
                    }
                }
            }
        }
        let mut statuses = Vec::with_capacity(handles.len());
        for handle in handles {
            let record = self.exit_record(handle);
            let status = match known.remove(&handle.external_id) {
                Some(mut status) => {
                    if let Some(r) = &record {
                        status.exit_code = status.exit_code.or(Some(r.exit_code));
                        status.node = status.node.or(Some(r.node.clone()));
                    }
                    status
                }
                // Nobody remembers the job: its own exit record tells how it ended.
                None => match record {
                    Some(r) => {
                        let state = if r.exit_code == 0 { JobState::Completed } else { JobState::Failed };
                        let mut status = JobStatus::new(handle, state);
                        status.exit_code = Some(r.exit_code);
                        status.node = Some(r.node);
                        status.elapsed_secs = Some(r.finished_unix.saturating_sub(r.started_unix) as f64);
                        status.reason = Some("from the job's exit record (Slurm no longer lists it)".into());
                        status
                    }
                    None => {
                        let mut status = JobStatus::new(handle, JobState::Lost);
                        status.reason = Some(
                            "Slurm no longer lists the job and it left no exit record (stopped by its node, \
                             a time limit or scancel while qforge was away)"
                                .into(),
                        );
                        status
                    }
                },
            };
            // A job that ran to its end must have left its sentinel: if not, it
            // could not see the run folder.
            if matches!(status.state, JobState::Completed | JobState::Failed) && !self.sentinel(handle).exists() {
                return Err(Error::Config(format!(
                    "slurm: job {} ({}) ended as {} on {} but never wrote {}: the run folder {} is not visible from the \
                     compute nodes; put the run folder (--out) on a file system the nodes share (NFS, Lustre, GPFS, or a \
                     local folder for a one-node cluster); see {}",
                    handle.external_id,
                    handle.job_id,
                    status.native_state.as_deref().unwrap_or(status.state.name()),
                    status.node.as_deref().unwrap_or("its node"),
                    self.sentinel(handle).display(),
                    self.run_dir.display(),
                    self.run_dir.join("slurm/out").join(format!("{}.out", handle.external_id)).display(),
                )));
            }
            statuses.push(status);
        }
        Ok(statuses)
    }

    fn cancel(&self, handles: &[JobHandle]) -> Result<()> {
        let ids: Vec<String> = handles.iter().map(|h| h.external_id.clone()).collect();
        self.client.scancel(&ids)
    }
}

/// Map of the pending/running array tasks of this executor's run, by id (for tests and `qforge status`).
pub fn queued_ids(executor: &SlurmExecutor) -> Result<BTreeMap<String, String>> {
    Ok(executor.client.squeue(&executor.job_name)?.into_iter().map(|r| (r.job_id, r.state)).collect())
}

/// A job's Slurm limits as the array groups them (time, CPUs, memory).
type JobLimits = (Option<u64>, u32, Option<u64>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_mem_mb("2G").unwrap(), 2048);
        assert_eq!(parse_mem_mb("500M").unwrap(), 500);
        assert_eq!(parse_mem_mb("64").unwrap(), 64);
        assert!(parse_mem_mb("lots").is_err());
    }

    #[test]
    fn config_rejects_bad_values_naming_the_field() {
        let bad = SlurmConfig { time_limit: Some("soon".into()), ..Default::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("time_limit"));
        let bad = SlurmConfig { extra_sbatch: vec!["qos=short".into()], ..Default::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("extra_sbatch"));
    }
}
