//! The sandbox of a long-running untrusted process (an agent, or the final evaluation of what an agent
//! left): one description, [`SandboxSpec`], rendered as a command line for bubblewrap, apptainer or no
//! sandbox at all.
//!
//! bubblewrap gives the process new user, PID, IPC, UTS, cgroup and mount namespaces; the host's
//! system read-only; a home directory and `/tmp` of its own (host directories, writable); the listed
//! extra mounts and devices and nothing else of the host file system; a cleared environment with
//! only the listed variables. Nested user namespaces stay allowed: ptb's own evaluation inside the
//! sandbox runs model-written code (HumanEval) in a bubblewrap of its own. Network is shared or not ([`SandboxSpec::network`]); agents need their
//! provider's API. When the PID namespace's first process ends, the kernel kills every process left
//! in it, so nothing the agent started outlives the sandbox.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::exec::{Bubblewrap, system_ro_args};

/// The home directory inside the sandbox.
pub const SANDBOX_HOME: &str = "/home/agent";

/// Which sandbox a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// bubblewrap (Linux namespaces; the default).
    Bwrap,
    /// An apptainer container (`--containall --cleanenv`), for HPC sites.
    Apptainer,
    /// No sandbox: the process sees the whole host. Only on explicit request.
    None,
}

impl Backend {
    /// The backend's name as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bwrap => "bwrap",
            Self::Apptainer => "apptainer",
            Self::None => "none",
        }
    }
}

/// A host path shown inside the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    pub host: PathBuf,
    pub inside: PathBuf,
    pub writable: bool,
}

/// What the sandboxed process sees.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SandboxSpec {
    /// Host directory shown as [`SANDBOX_HOME`] (writable).
    pub home: PathBuf,
    /// Host directory shown as `/tmp` (writable).
    pub tmp: PathBuf,
    /// Working directory, as a path inside the sandbox.
    pub cwd: PathBuf,
    /// Extra mounts, applied in order after home and `/tmp` (so a mount may sit inside home).
    pub mounts: Vec<Mount>,
    /// Device nodes passed through (e.g. `/dev/nvidia0`, `/dev/nvidiactl`).
    pub devices: Vec<PathBuf>,
    /// The whole environment of the process (nothing of the host's is inherited).
    pub env: Vec<(String, String)>,
    /// Share the host's network (an agent talks to its provider); false gives a private loopback.
    pub network: bool,
    /// The apptainer image (only for [`Backend::Apptainer`]).
    pub image: Option<PathBuf>,
}

/// Entries of `/etc` an agent's tools need (TLS roots, name resolution, time zone); the rest of the
/// host's `/etc` (users, keys, the harness's configuration) stays invisible.
const AGENT_ETC: [&str; 7] = [
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/localtime",
    "/etc/mime.types",
];

impl SandboxSpec {
    /// Where `host` (home, `/tmp`, or a mount, or a path below one of them) appears inside the
    /// sandbox of `backend`; `None` when the sandbox does not show it. Without a sandbox every path
    /// is itself.
    pub fn inside(&self, backend: Backend, host: &Path) -> Option<PathBuf> {
        if backend == Backend::None {
            return Some(host.to_path_buf());
        }
        let roots = self
            .mounts
            .iter()
            .rev()
            .map(|m| (m.host.as_path(), m.inside.as_path()))
            .chain([(self.home.as_path(), Path::new(SANDBOX_HOME)), (self.tmp.as_path(), Path::new("/tmp"))]);
        for (root, inside) in roots {
            if let Ok(rest) = host.strip_prefix(root) {
                return Some(if rest.as_os_str().is_empty() { inside.to_path_buf() } else { inside.join(rest) });
            }
        }
        None
    }

    /// Where a path inside the sandbox lies on the host (the inverse of [`Self::inside`]).
    pub fn host_path(&self, backend: Backend, inside: &Path) -> Option<PathBuf> {
        if backend == Backend::None {
            return Some(inside.to_path_buf());
        }
        let roots = self
            .mounts
            .iter()
            .rev()
            .map(|m| (m.inside.as_path(), m.host.as_path()))
            .chain([(Path::new(SANDBOX_HOME), self.home.as_path()), (Path::new("/tmp"), self.tmp.as_path())]);
        for (root, host) in roots {
            if let Ok(rest) = inside.strip_prefix(root) {
                return Some(if rest.as_os_str().is_empty() { host.to_path_buf() } else { host.join(rest) });
            }
        }
        None
    }

    /// The bubblewrap command line (program first) that runs `argv` in this sandbox.
    pub fn bwrap_command(&self, bwrap: &Bubblewrap, argv: &[OsString]) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![bwrap.path().into()];
        let mut push = |items: &[&str]| args.extend(items.iter().map(OsString::from));
        push(&["--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]);
        if !self.network {
            push(&["--unshare-net"]);
        }
        push(&["--die-with-parent", "--new-session", "--hostname", "ptb-sandbox"]);
        args.extend(system_ro_args(&AGENT_ETC));
        args.extend(["--proc", "/proc", "--dev", "/dev"].map(OsString::from));
        for device in &self.devices {
            args.extend(["--dev-bind-try".into(), device.clone().into(), device.clone().into()]);
        }
        args.extend(["--bind".into(), self.home.clone().into(), SANDBOX_HOME.into()]);
        args.extend(["--bind".into(), self.tmp.clone().into(), "/tmp".into()]);
        for mount in &self.mounts {
            let flag = if mount.writable { "--bind" } else { "--ro-bind" };
            args.extend([flag.into(), mount.host.clone().into(), mount.inside.clone().into()]);
        }
        args.extend(["--chdir".into(), self.cwd.clone().into(), "--clearenv".into()]);
        for (key, value) in &self.env {
            args.extend(["--setenv".into(), key.into(), value.into()]);
        }
        args.push("--".into());
        args.extend(argv.iter().cloned());
        args
    }

    /// The apptainer command line (program first) that runs `argv` in this sandbox: the same home,
    /// `/tmp`, mounts, working directory and environment, and the GPUs through `--nv` when devices
    /// are given.
    pub fn apptainer_command(&self, apptainer: &Path, argv: &[OsString]) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![apptainer.into(), "exec".into()];
        args.extend(["--containall", "--cleanenv", "--no-mount", "home,cwd"].map(OsString::from));
        if !self.network {
            args.extend(["--net", "--network", "none"].map(OsString::from));
        }
        if !self.devices.is_empty() {
            args.push("--nv".into());
        }
        args.extend(["--home".into(), format!("{}:{SANDBOX_HOME}", self.home.display()).into()]);
        args.extend(["--bind".into(), format!("{}:/tmp", self.tmp.display()).into()]);
        for mount in &self.mounts {
            let mode = if mount.writable { "rw" } else { "ro" };
            args.extend([
                "--bind".into(),
                format!("{}:{}:{mode}", mount.host.display(), mount.inside.display()).into(),
            ]);
        }
        args.extend(["--pwd".into(), self.cwd.clone().into()]);
        for (key, value) in &self.env {
            args.extend(["--env".into(), format!("{key}={value}").into()]);
        }
        args.push(self.image.clone().unwrap_or_default().into());
        args.extend(argv.iter().cloned());
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SandboxSpec {
        SandboxSpec {
            home: "/scratch/run1/home".into(),
            tmp: "/scratch/run1/tmp".into(),
            cwd: "/home/agent/task".into(),
            mounts: vec![
                Mount {
                    host: "/srv/hf/merged".into(),
                    inside: "/home/agent/.cache/huggingface".into(),
                    writable: true,
                },
                Mount { host: "/opt/models/base".into(), inside: "/home/agent/base_model".into(), writable: false },
            ],
            devices: vec!["/dev/nvidia0".into()],
            env: vec![("HOME".into(), SANDBOX_HOME.into()), ("CUDA_VISIBLE_DEVICES".into(), "0".into())],
            network: true,
            image: Some("/images/agent.sif".into()),
        }
    }

    fn text(args: &[OsString]) -> String {
        args.iter().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn paths_map_both_ways_and_the_innermost_mount_wins() {
        let s = spec();
        let host = Path::new("/srv/hf/merged/hub/models--x");
        assert_eq!(s.inside(Backend::Bwrap, host).unwrap(), Path::new("/home/agent/.cache/huggingface/hub/models--x"));
        assert_eq!(
            s.host_path(Backend::Bwrap, Path::new("/home/agent/.cache/huggingface/hub")).unwrap(),
            Path::new("/srv/hf/merged/hub")
        );
        assert_eq!(
            s.host_path(Backend::Bwrap, Path::new("/home/agent/task/x")).unwrap(),
            Path::new("/scratch/run1/home/task/x")
        );
        assert_eq!(s.inside(Backend::Bwrap, Path::new("/etc/passwd")), None);
        assert_eq!(s.inside(Backend::None, Path::new("/etc/passwd")).unwrap(), Path::new("/etc/passwd"));
    }

    #[test]
    fn apptainer_command_has_the_same_binds_and_a_clean_environment() {
        let argv = vec![OsString::from("sh"), "-c".into(), "true".into()];
        let line = text(&spec().apptainer_command(Path::new("/usr/bin/apptainer"), &argv));
        assert!(line.starts_with("/usr/bin/apptainer exec --containall --cleanenv"), "{line}");
        for part in [
            "--home /scratch/run1/home:/home/agent",
            "--bind /scratch/run1/tmp:/tmp",
            "--bind /srv/hf/merged:/home/agent/.cache/huggingface:rw",
            "--bind /opt/models/base:/home/agent/base_model:ro",
            "--pwd /home/agent/task",
            "--env CUDA_VISIBLE_DEVICES=0",
            " --nv ",
            "/images/agent.sif sh -c true",
        ] {
            assert!(line.contains(part), "{part:?} missing from {line}");
        }
        let mut offline = spec();
        offline.network = false;
        offline.devices.clear();
        let line = text(&offline.apptainer_command(Path::new("apptainer"), &argv));
        assert!(line.contains("--net --network none") && !line.contains("--nv"), "{line}");
    }

    #[test]
    fn bwrap_command_unshares_everything_but_the_network_and_clears_the_environment() {
        let bwrap = Bubblewrap { bwrap: "/usr/bin/bwrap".into(), has_size: true, has_disable_userns: false };
        let line = text(&spec().bwrap_command(&bwrap, &[OsString::from("true")]));
        for part in [
            "--unshare-user --unshare-pid --unshare-ipc --unshare-uts",
            "--die-with-parent",
            "--bind /scratch/run1/home /home/agent",
            "--bind /scratch/run1/tmp /tmp",
            "--ro-bind /opt/models/base /home/agent/base_model",
            "--dev-bind-try /dev/nvidia0 /dev/nvidia0",
            "--chdir /home/agent/task --clearenv",
            "-- true",
        ] {
            assert!(line.contains(part), "{part:?} missing from {line}");
        }
        assert!(!line.contains("--unshare-net"));
        assert!(!line.contains("/root") && !line.contains("--bind /etc"), "{line}");
    }
}
