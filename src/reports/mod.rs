//! Synthesis report parsing (filled in by the reports stage).
