//! Turns library events into indicatif progress bars on stderr. Bars are hidden
//! when stderr is not a terminal or `CI` is set; log lines still go to stderr.
use crate::events::{Event, Reporter};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;

pub struct CliReporter {
    bar: Mutex<Option<ProgressBar>>,
    visible: bool,
    quiet: bool,
}

impl CliReporter {
    pub fn new(quiet: bool) -> Self {
        let visible = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        CliReporter { bar: Mutex::new(None), visible, quiet }
    }
}

impl Reporter for CliReporter {
    fn event(&self, event: Event) {
        let mut slot = self.bar.lock().unwrap();
        match event {
            Event::Begin { label, total } => {
                let bar = ProgressBar::with_draw_target(
                    Some(total),
                    if self.visible { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() },
                );
                bar.set_style(
                    ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {elapsed_precise} {msg}")
                        .unwrap()
                        .progress_chars("=> "),
                );
                bar.set_prefix(label);
                *slot = Some(bar);
            }
            Event::Progress { done, message } => {
                if let Some(bar) = slot.as_ref() {
                    bar.set_position(done);
                    bar.set_message(message);
                }
            }
            Event::End { message } => {
                if let Some(bar) = slot.take() {
                    bar.finish_and_clear();
                }
                if !self.quiet && !message.is_empty() {
                    eprintln!("{message}");
                }
            }
            Event::Log(line) => {
                if self.quiet {
                    return;
                }
                match slot.as_ref() {
                    // A hidden bar drops what it prints: without one on screen, plain stderr.
                    Some(bar) if self.visible => bar.println(line),
                    _ => eprintln!("{line}"),
                }
            }
        }
    }
}
