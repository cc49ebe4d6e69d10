//! ptb-sandbox: where ptb runs code it does not trust.
//!
//! [`exec`] runs one short command under bubblewrap (`bwrap`): every namespace unshared (so no
//! network), the system directories bound read-only, a private tmpfs work dir holding only the files
//! given, resource limits set in the child before `exec`, a wall-clock limit after which the whole
//! process group is killed, and captured output capped in size. There is no unsandboxed fallback:
//! without `bwrap`, [`Bubblewrap::find`] fails with a line saying how to install it.
//!
//! [`agent`] describes the sandbox of a long-running agent once and renders it for bubblewrap or
//! apptainer; [`supervise`] runs it with limits applied from outside (time, disk), a resource monitor
//! and a timestamped trace.

pub mod agent;
pub mod exec;
pub mod supervise;

pub use agent::{Backend, Mount, SANDBOX_HOME, SandboxSpec};
pub use exec::{
    Bubblewrap, ExecOutcome, ExecSpec, Limits, SandboxError, Termination, WORK_DIR, find_program, fresh_id,
};
pub use supervise::{End, Supervised, SupervisedOutcome, supervise};
