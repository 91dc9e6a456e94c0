//! The `[executor]` section of a pipeline file and `--executor`: which
//! executor runs the jobs, with its settings and the retry policy.
//!
//! ```toml
//! [executor]
//! kind = "slurm"            # or "local" (the default)
//! workers = 2               # local: parallel jobs
//! poll_interval_secs = 5
//! [executor.slurm]
//! partition = "debug"
//! account = "phys"
//! time_limit = "1:00:00"
//! mem = "4G"
//! cpus = 2
//! extra_sbatch = ["--qos=short"]
//! max_in_flight = 16
//! [executor.retry]
//! max_retries = 2
//! retry_on = ["timeout", "preempted", "node_fail"]
//! ```
use super::{Executor, LocalExecutor, RetryPolicy, SlurmConfig, SlurmExecutor};
use crate::error::{Error, Result};
use crate::tools::ToolEnv;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutorKind {
    #[default]
    Local,
    Slurm,
}

impl std::str::FromStr for ExecutorKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "local" => Ok(ExecutorKind::Local),
            "slurm" => Ok(ExecutorKind::Slurm),
            other => Err(Error::Config(format!("unknown executor `{other}` (known: local, slurm)"))),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutorConfig {
    pub kind: ExecutorKind,
    /// Local executor: jobs at once (default: the number of CPUs).
    pub workers: Option<usize>,
    /// Seconds between polls of the jobs' states (default 2).
    pub poll_interval_secs: Option<f64>,
    pub slurm: SlurmConfig,
    pub retry: RetryPolicy,
}

impl ExecutorConfig {
    /// The `[executor]` section of a pipeline file (defaults when it has none).
    pub fn from_pipeline_file(path: &Path) -> Result<Self> {
        ExecutorConfig::from_pipeline_toml(&crate::error::read_to_string(path)?, path)
    }

    /// Like [`ExecutorConfig::from_pipeline_file`], from the file's text.
    pub fn from_pipeline_toml(text: &str, path: &Path) -> Result<Self> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let line = e.span().map(|s| text[..s.start].lines().count().max(1));
            Error::input_at(path, line, None, e.message())
        })?;
        let Some(section) = table.get("executor") else { return Ok(ExecutorConfig::default()) };
        let config: ExecutorConfig =
            section.clone().try_into().map_err(|e: toml::de::Error| Error::input_at(path, None, Some("executor"), e.message()))?;
        config.slurm.validate().map_err(|e| Error::input_at(path, None, Some("executor.slurm"), e.to_string()))?;
        Ok(config)
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_secs_f64(self.poll_interval_secs.unwrap_or(2.0).max(0.05))
    }

    /// The executor this section asks for, for jobs of the run folder `run_dir`.
    pub fn build(&self, run_dir: &Path, env: ToolEnv) -> Result<Box<dyn Executor>> {
        Ok(match self.kind {
            ExecutorKind::Local => {
                let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
                Box::new(LocalExecutor::new(self.workers.unwrap_or(cpus)))
            }
            ExecutorKind::Slurm => Box::new(SlurmExecutor::new(self.slurm.clone(), run_dir, env)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_executor_section_of_a_pipeline_file() {
        let text = r#"
[model]
spec = "jet.toml"
[executor]
kind = "slurm"
[executor.slurm]
partition = "debug"
time_limit = "10"
extra_sbatch = ["--qos=short"]
max_in_flight = 4
[executor.retry]
max_retries = 1
retry_on = ["timeout"]
"#;
        let c = ExecutorConfig::from_pipeline_toml(text, Path::new("p.toml")).unwrap();
        assert_eq!(c.kind, ExecutorKind::Slurm);
        assert_eq!(c.slurm.partition.as_deref(), Some("debug"));
        assert_eq!(c.slurm.max_in_flight, Some(4));
        assert_eq!(c.retry.max_retries, 1);
        let none = ExecutorConfig::from_pipeline_toml("[model]\n", Path::new("p.toml")).unwrap();
        assert_eq!(none.kind, ExecutorKind::Local);
    }

    #[test]
    fn unknown_fields_name_the_file_and_section() {
        let err = ExecutorConfig::from_pipeline_toml("[executor]\nkind = \"slurm\"\npartiton = \"x\"\n", Path::new("p.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("p.toml") && err.contains("executor") && err.contains("partiton"), "{err}");
        let err = ExecutorConfig::from_pipeline_toml("[executor]\nkind = \"pbs\"\n", Path::new("p.toml")).unwrap_err().to_string();
        assert!(err.contains("pbs"), "{err}");
    }
}
