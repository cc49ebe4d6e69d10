//! ptb-sandbox: where ptb runs code it does not trust.
//!
//! [`exec`] runs one command under bubblewrap (`bwrap`): every namespace unshared (so no network),
//! the system directories bound read-only, a private tmpfs work dir holding only the files given,
//! resource limits set in the child before `exec`, a wall-clock limit after which the whole process
//! group is killed, and captured output capped in size. There is no unsandboxed fallback: without
//! `bwrap`, [`Bubblewrap::find`] fails with a line saying how to install it.

pub mod exec;

pub use exec::{Bubblewrap, ExecOutcome, ExecSpec, Limits, SandboxError, Termination, WORK_DIR};
