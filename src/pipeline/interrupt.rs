//! Ctrl-C during a run. The CLI owns the signal handler and the question to
//! the user; the pipeline owns what happens to the jobs. An [`Interrupt`] is
//! shared between them: the handler calls [`Interrupt::request`], which says
//! whether a stage is supervising jobs right now (then the stage stops
//! polling, asks [`Interrupt::should_cancel`] whether to cancel the run's
//! queued and running jobs, records what finished and what became of the
//! rest, and fails with [`crate::error::Error::Interrupted`]); when no stage
//! is, the CLI simply exits.
use std::sync::atomic::{AtomicBool, Ordering};

/// What to do with the run's Slurm jobs on Ctrl-C (`--on-interrupt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInterrupt {
    /// `scancel` them.
    Cancel,
    /// Leave them queued or running; a re-run re-attaches to them.
    Keep,
    /// Ask on the terminal (keep when there is none).
    Ask,
}

impl std::str::FromStr for OnInterrupt {
    type Err = crate::error::Error;
    fn from_str(s: &str) -> crate::error::Result<Self> {
        match s {
            "cancel" => Ok(OnInterrupt::Cancel),
            "keep" => Ok(OnInterrupt::Keep),
            "ask" => Ok(OnInterrupt::Ask),
            other => Err(crate::error::Error::Config(format!("--on-interrupt `{other}`: expected cancel, keep or ask"))),
        }
    }
}

type Decide = dyn Fn(usize, &str) -> bool + Send + Sync;

/// The stop request and the decision about the jobs it leaves behind.
pub struct Interrupt {
    requested: AtomicBool,
    watching: AtomicBool,
    decide: Box<Decide>,
}

impl std::fmt::Debug for Interrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interrupt")
            .field("requested", &self.requested.load(Ordering::SeqCst))
            .field("watching", &self.watching.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

impl Interrupt {
    /// `decide(n, executor)`: whether to cancel the `n` jobs still queued or
    /// running on `executor` (`slurm`); called once, after a stop request.
    pub fn new(decide: impl Fn(usize, &str) -> bool + Send + Sync + 'static) -> Interrupt {
        Interrupt { requested: AtomicBool::new(false), watching: AtomicBool::new(false), decide: Box::new(decide) }
    }

    /// Ask the supervising stage to stop. Returns false when no stage is
    /// supervising jobs (nothing to clean up: the caller may just exit) or a
    /// stop was already requested (a second Ctrl-C).
    pub fn request(&self) -> bool {
        let first = !self.requested.swap(true, Ordering::SeqCst);
        first && self.watching.load(Ordering::SeqCst)
    }

    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// The flag the supervisor polls.
    pub fn flag(&self) -> &AtomicBool {
        &self.requested
    }

    /// Whether to cancel `n` unfinished jobs on `executor`.
    pub fn should_cancel(&self, n: usize, executor: &str) -> bool {
        (self.decide)(n, executor)
    }

    /// Mark that a stage supervises jobs until the guard is dropped.
    pub fn watch(&self) -> WatchGuard<'_> {
        self.watching.store(true, Ordering::SeqCst);
        WatchGuard(self)
    }
}

/// While it lives, Ctrl-C is handled by the supervising stage.
pub struct WatchGuard<'a>(&'a Interrupt);

impl Drop for WatchGuard<'_> {
    fn drop(&mut self) {
        self.0.watching.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_handled_only_while_a_stage_watches() {
        let i = Interrupt::new(|n, _| n > 1);
        assert!(!i.request(), "no stage watching: the caller exits");
        let i = Interrupt::new(|n, _| n > 1);
        {
            let _guard = i.watch();
            assert!(i.request());
            assert!(!i.request(), "a second Ctrl-C is not handled again");
        }
        assert!(i.is_requested());
        assert!(i.should_cancel(2, "slurm") && !i.should_cancel(1, "slurm"));
        assert_eq!("keep".parse::<OnInterrupt>().unwrap(), OnInterrupt::Keep);
        assert!("maybe".parse::<OnInterrupt>().is_err());
    }
}
