//! Events that stages emit while they work. Stages never print: the CLI turns
//! events into progress bars and logs (on stderr), other callers may ignore them.

/// What a stage reports while it runs.
#[derive(Debug, Clone)]
pub enum Event {
    /// A unit of work with a known length starts (`total` steps).
    Begin { label: String, total: u64 },
    /// `done` steps of the current unit are finished; `message` is a short status.
    Progress { done: u64, message: String },
    /// The current unit of work is finished.
    End { message: String },
    /// A line of log worth showing to a person.
    Log(String),
}

/// Receives events. `Send + Sync` so workers on several threads can share one.
pub trait Reporter: Send + Sync {
    fn event(&self, event: Event);
}

/// A reporter that drops everything (library callers, tests).
pub struct Silent;
impl Reporter for Silent {
    fn event(&self, _event: Event) {}
}
