//! Standard output for every command. A reader that goes away (`qforge ... |
//! head`) closes the pipe: `println!` would panic (exit 101), so all output goes
//! through [`line`], which stops writing once the pipe is closed and lets the
//! command finish its work (and store its results) quietly.
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Print a line on stdout, like `println!`, but never panic.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::stdout::line(format_args!($($arg)*))
    };
}

/// Write one line; after the first failed write the rest are dropped. A broken
/// pipe is silent (the reader chose to stop); any other failure is said once on stderr.
pub(crate) fn line(args: std::fmt::Arguments) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    let written = out.write_fmt(args).and_then(|()| out.write_all(b"\n")).and_then(|()| out.flush());
    if let Err(err) = written {
        CLOSED.store(true, Ordering::Relaxed);
        if err.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("warning: cannot write to stdout: {err}");
        }
    }
}
