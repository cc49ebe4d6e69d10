//! The phases of a run, executed in order and recorded in `run.json` after each step.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ptb_core::{BenchmarkSpec, Registry, RunSettings};
use ptb_sandbox::{Backend, Bubblewrap, End, Mount, SANDBOX_HOME, SandboxSpec, Supervised, SupervisedOutcome};

use crate::RunError;
use crate::collect::{collect, make_writable};
use crate::overlay::Overlay;
use crate::record::{Evaluated, Phase, RunRecord};
use crate::spec::{AgentSpec, RunSpec};
use crate::workspace::{EvaluateEntrypoint, Scratch, populate, render_prompt, start_timer};

/// Where ptb's own files appear inside a sandbox.
const OPT: &str = "/opt/ptb";

/// The environment variable naming a phase after which the harness kills itself with SIGKILL
/// (`after-prepare`, `after-solve`, …): how the crash tests stop a run at each phase boundary.
pub const FAILPOINT_ENV: &str = "PTB_FAILPOINT";

/// What the harness brings to every run: its own binary, data, settings and registry.
#[derive(Debug, Clone)]
pub struct Harness {
    /// The ptb binary: the agent's `evaluate` and the final evaluation run it.
    pub exe: PathBuf,
    /// The config file the final evaluation reads (engine settings), if any.
    pub config_file: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub results_dir: PathBuf,
    pub settings: RunSettings,
    pub registry: Registry,
    /// The shared Hugging Face home (`$HF_HOME`) the agent sees copy-on-write, if there is one.
    pub hf_home: Option<PathBuf>,
    /// Extra `ptb eval` arguments of the final evaluation (judge endpoint, engine choice).
    pub eval_args: Vec<String>,
    /// Environment variables passed to the final evaluation by name (the judge's key).
    pub eval_env: Vec<String>,
}

/// Checks that the sandbox backend can run here, then makes the run dir and its first record.
pub fn create(harness: &Harness, spec: RunSpec) -> Result<PathBuf, RunError> {
    harness.registry.benchmark(&spec.benchmark).map_err(|e| RunError::Spec(e.to_string()))?;
    match spec.sandbox {
        Backend::Bwrap => {
            Bubblewrap::find().map_err(|e| RunError::Setup(e.to_string()))?;
        }
        Backend::Apptainer => {
            ptb_sandbox::find_program("apptainer").ok_or_else(|| {
                RunError::Setup(
                    "--sandbox apptainer: `apptainer` is not on PATH; install it or use --sandbox bwrap".into(),
                )
            })?;
            if harness.settings.apptainer_image.is_none() {
                return Err(RunError::Setup(
                    "--sandbox apptainer needs an image: set `apptainer_image` under [run] in ptb.toml".into(),
                ));
            }
        }
        Backend::None => {}
    }
    let run_dir = absolute(&harness.results_dir).join(&spec.method).join(spec.run_dir_name());
    if run_dir.join("run.json").exists() {
        return Err(RunError::Spec(format!("{} already holds a run; continue it with --resume", run_dir.display())));
    }
    std::fs::create_dir_all(&run_dir).map_err(|e| RunError::io(&run_dir, e))?;
    let mut warnings = Vec::new();
    if spec.sandbox == Backend::None {
        warnings.push(
            "no sandbox (--sandbox none --unsafe-no-sandbox): the agent could read and change everything the harness's user can; do not compare this run with sandboxed ones".into(),
        );
    }
    let uid = nix::unistd::geteuid().is_root().then(ptb_sandbox::fresh_id);
    let record = RunRecord {
        scratch: absolute(&harness.settings.scratch_dir).join(&spec.run_id),
        spec,
        phase: None,
        phases: BTreeMap::new(),
        status: "running".into(),
        reason: None,
        solve: None,
        collect: None,
        evaluation: None,
        uid,
        sandbox: serde_json::Value::Null,
        eval_hashes: BTreeMap::new(),
        versions: BTreeMap::from([("ptb".to_string(), env!("CARGO_PKG_VERSION").to_string())]),
        warnings,
    };
    record.save(&run_dir)?;
    Ok(run_dir)
}

/// Runs every phase of `run_dir` not done yet. A phase the harness died in is finished without doing
/// its work twice: the agent is never started again (the record says the solve phase was cut short).
pub fn resume(harness: &Harness, run_dir: &Path) -> Result<RunRecord, RunError> {
    let run_dir = &absolute(run_dir);
    let mut record = RunRecord::load(run_dir)?;
    for phase in Phase::ALL {
        if record.done(phase) {
            continue;
        }
        let bench = harness.registry.benchmark(&record.spec.benchmark).map_err(|e| RunError::Spec(e.to_string()))?;
        let interrupted = record.interrupted(phase);
        record.start(phase);
        record.save(run_dir)?;
        let mut ctx = PhaseCtx { harness, run_dir, bench, record: &mut record };
        match phase {
            Phase::Prepare => ctx.prepare()?,
            Phase::Solve => ctx.solve(interrupted)?,
            Phase::Collect => ctx.collect(),
            Phase::Evaluate => ctx.evaluate()?,
            Phase::Finish => ctx.finish(),
        }
        record.finish(phase);
        record.save(run_dir)?;
        if std::env::var(FAILPOINT_ENV).is_ok_and(|v| v == format!("after-{}", phase.name())) {
            let _ = nix::sys::signal::kill(nix::unistd::getpid(), nix::sys::signal::Signal::SIGKILL);
        }
    }
    Ok(record)
}

struct PhaseCtx<'a> {
    harness: &'a Harness,
    run_dir: &'a Path,
    bench: &'a BenchmarkSpec,
    record: &'a mut RunRecord,
}

impl PhaseCtx<'_> {
    fn spec(&self) -> &RunSpec {
        &self.record.spec
    }

    fn scratch(&self) -> Scratch {
        Scratch::at(self.record.scratch.clone())
    }

    fn note(&mut self, reason: String) {
        self.record.reason = Some(match self.record.reason.take() {
            Some(before) => format!("{before}; {reason}"),
            None => reason,
        });
    }

    /// ptb's binary and data dir, read-only under [`OPT`] (the paths [`Self::entrypoint`] names).
    fn ptb_mounts(&self) -> [Mount; 2] {
        [
            Mount { host: self.harness.exe.clone(), inside: format!("{OPT}/bin/ptb").into(), writable: false },
            Mount { host: absolute(&self.harness.data_dir), inside: format!("{OPT}/data").into(), writable: false },
        ]
    }

    /// Paths of ptb's binary and data as the sandbox shows them.
    fn entrypoint(&self) -> EvaluateEntrypoint {
        match self.spec().sandbox {
            Backend::None => {
                EvaluateEntrypoint { ptb: self.harness.exe.clone(), data_dir: absolute(&self.harness.data_dir) }
            }
            _ => EvaluateEntrypoint { ptb: format!("{OPT}/bin/ptb").into(), data_dir: format!("{OPT}/data").into() },
        }
    }

    fn prepare(&mut self) -> Result<(), RunError> {
        let scratch = self.scratch();
        if scratch.root.exists() {
            make_writable(&scratch.root);
            std::fs::remove_dir_all(&scratch.root).map_err(|e| RunError::io(&scratch.root, e))?;
        }
        let entry = self.entrypoint();
        let warnings =
            populate(&scratch, self.spec(), self.bench, &self.harness.registry, &self.harness.data_dir, &entry)?;
        self.record.warnings.extend(warnings);
        let template = match &self.harness.settings.prompt_file {
            Some(path) => std::fs::read_to_string(path).map_err(|e| RunError::io(path, e))?,
            None => ptb_core::registry::DEFAULT_PROMPT.to_string(),
        };
        let spec = self.spec();
        let model_text = if spec.base_model_from_hub { spec.base_model.clone() } else { spec.model_name().to_string() };
        let mut prompt = render_prompt(&template, spec, self.bench, &model_text);
        if !spec.base_model_from_hub {
            prompt.push_str(&format!("\nThe files of `{model_text}` are in `~/base_model`.\n"));
        }
        for path in [self.run_dir.join("prompt.txt"), scratch.root.join("prompt.txt")] {
            ptb_core::fsutil::atomic_write(&path, prompt.as_bytes()).map_err(|e| RunError::io(&path, e))?;
        }
        self.record.eval_hashes = self.eval_hashes()?;
        if let Some(uid) = self.record.uid {
            chown_tree(&scratch.home, uid)?;
            chown_tree(&scratch.tmp, uid)?;
        }
        Ok(())
    }

    /// sha256 of what the final evaluation runs on: the ptb binary, the benchmark's data files and
    /// the pinned templates (those present).
    fn eval_hashes(&self) -> Result<BTreeMap<String, String>, RunError> {
        let mut files = vec![("ptb".to_string(), self.harness.exe.clone())];
        let data = self.harness.data_dir.join(&self.bench.folder);
        if let Ok(entries) = std::fs::read_dir(&data) {
            for entry in entries.flatten().filter(|e| e.path().is_file()) {
                files.push((format!("{}/{}", self.bench.folder, entry.file_name().to_string_lossy()), entry.path()));
            }
        }
        for t in self.harness.registry.templates.values() {
            files.push((format!("templates/{}", t.file), self.harness.data_dir.join("templates").join(&t.file)));
        }
        let mut hashes = BTreeMap::new();
        for (name, path) in files.into_iter().filter(|(_, p)| p.is_file()) {
            let (_, sha256) = ptb_data::hash_file(&path).map_err(|e| RunError::Setup(e.to_string()))?;
            hashes.insert(name, sha256);
        }
        Ok(hashes)
    }

    fn solve(&mut self, interrupted: bool) -> Result<(), RunError> {
        if interrupted {
            self.record
                .warnings
                .push("the harness stopped during the solve phase; the agent was not started again".into());
            self.note("solve phase cut short by a harness crash".into());
            return Ok(());
        }
        let scratch = self.scratch();
        let trace = self.run_dir.join("solve_out.txt");
        let started = std::time::Instant::now();
        let outcome = match self.spec().agent.clone() {
            AgentSpec::Reference => self.solve_reference(&scratch, &trace)?,
            AgentSpec::Command { command } => self.solve_command(&scratch, &trace, &command)?,
        };
        let time_taken = ptb_core::layout::time_taken_text(started.elapsed().as_secs());
        let path = self.run_dir.join("time_taken.txt");
        ptb_core::fsutil::atomic_write(&path, time_taken.as_bytes()).map_err(|e| RunError::io(&path, e))?;
        if !matches!(outcome.end, End::Exited { code: 0 }) {
            self.note(format!("agent {}", outcome.end.describe()));
        }
        self.record.solve = Some(outcome);
        Ok(())
    }

    /// The reference agent: the base model's files, dereferenced, into `final_model/`.
    fn solve_reference(&mut self, scratch: &Scratch, trace: &Path) -> Result<SupervisedOutcome, RunError> {
        let started = std::time::Instant::now();
        let base = &self.spec().base_model_path;
        let target = scratch.task.join("final_model");
        let _ = std::fs::remove_dir_all(&target);
        copy_dereferenced(base, &target)?;
        let line = format!("[{}] reference agent: copied {} into final_model/\n", crate::record::now(), base.display());
        ptb_core::fsutil::atomic_write(trace, line.as_bytes()).map_err(|e| RunError::io(trace, e))?;
        self.record.sandbox = serde_json::json!({"backend": "none", "why": "the reference agent is harness code"});
        Ok(SupervisedOutcome {
            end: End::Exited { code: 0 },
            elapsed_s: started.elapsed().as_secs_f64(),
            leftovers_killed: 0,
        })
    }

    fn solve_command(&mut self, scratch: &Scratch, trace: &Path, command: &str) -> Result<SupervisedOutcome, RunError> {
        let backend = self.spec().sandbox;
        let settings = &self.harness.settings;
        let uid = self.record.uid;
        let hf_inside = format!("{SANDBOX_HOME}/.cache/huggingface");
        let overlay = match (&self.harness.hf_home, backend) {
            (Some(hf), Backend::Bwrap | Backend::Apptainer) if hf.is_dir() => {
                Some(Overlay::mount(hf, &scratch.root, uid)?)
            }
            (Some(hf), Backend::Bwrap | Backend::Apptainer) => {
                self.record.warnings.push(format!(
                    "no shared Hugging Face cache at {}: the agent starts with an empty one",
                    hf.display()
                ));
                None
            }
            _ => None,
        };
        let hf_host = scratch.home.join(".cache/huggingface");
        std::fs::create_dir_all(&hf_host).map_err(|e| RunError::io(&hf_host, e))?;
        if let Some(uid) = uid {
            chown_tree(&scratch.home.join(".cache"), uid)?;
        }
        let mut sandbox = self.sandbox_base(scratch, "task");
        if let Some(overlay) = &overlay {
            sandbox.mounts.push(Mount {
                host: overlay.merged().into(),
                inside: hf_inside.clone().into(),
                writable: true,
            });
        }
        if !self.spec().base_model_from_hub {
            let base = self.spec().base_model_path.clone();
            let inside = match base.file_name() {
                Some(name) if base.is_file() => Path::new(SANDBOX_HOME).join("base_model").join(name),
                _ => Path::new(SANDBOX_HOME).join("base_model"),
            };
            sandbox.mounts.push(Mount { host: base, inside, writable: false });
        }
        sandbox.mounts.extend(self.ptb_mounts());
        let gpus: Vec<String> = match std::env::var("CUDA_VISIBLE_DEVICES") {
            Ok(list) if !list.trim().is_empty() => list.split(',').map(|s| s.trim().to_string()).collect(),
            _ => (0..self.spec().gpus).map(|i| i.to_string()).collect(),
        };
        let gpus: Vec<String> = gpus.into_iter().take(self.spec().gpus as usize).collect();
        for i in &gpus {
            sandbox.devices.push(format!("/dev/nvidia{i}").into());
        }
        if !gpus.is_empty() {
            for dev in ["/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset"] {
                sandbox.devices.push(dev.into());
            }
        }
        let home_text = sandbox_home(backend, scratch);
        sandbox.env.extend([
            ("HF_HOME".to_string(), if backend == Backend::None { hf_host.display().to_string() } else { hf_inside }),
            ("NUM_GPUS".to_string(), self.spec().gpus.to_string()),
            ("CUDA_VISIBLE_DEVICES".to_string(), gpus.join(",")),
            ("PTB_HOME".to_string(), home_text),
        ]);
        sandbox.env.extend(host_env(&settings.env_allow));
        self.record.sandbox = describe(backend, &sandbox);
        self.record.save(self.run_dir)?;
        let argv: Vec<OsString> = vec!["/bin/sh".into(), "-c".into(), command.into()];
        let supervised = Supervised {
            argv: self.command_line(backend, &sandbox, &argv)?,
            env: if backend == Backend::None {
                sandbox.env.clone()
            } else {
                vec![("PATH".into(), "/usr/bin:/bin".into())]
            },
            cwd: scratch.task.clone(),
            stdin: Some(scratch.root.join("prompt.txt")),
            uid,
            time_limit: self.spec().time_limit(),
            grace: Duration::from_secs(settings.grace_s),
            disk_cap: self.spec().disk_cap,
            watch_dirs: vec![scratch.home.clone(), scratch.tmp.clone(), Overlay::upper_dir(&scratch.root)],
            disk_every: Duration::from_secs(settings.disk_check_s.max(1)),
            monitor_every: Duration::from_secs(settings.monitor_interval_s.max(1)),
            trace: trace.to_path_buf(),
            monitor: self.run_dir.join("monitor.jsonl"),
            max_processes: settings.max_processes,
        };
        start_timer(scratch, self.spec())?;
        let outcome = ptb_sandbox::supervise(&supervised).map_err(|e| RunError::Setup(e.to_string()))?;
        drop(overlay);
        Ok(outcome)
    }

    /// The sandbox every untrusted process of the run starts from: home and `/tmp` in the scratch
    /// dir, the working directory `home/<cwd>`, the configured read-only binds and a minimal
    /// environment.
    fn sandbox_base(&self, scratch: &Scratch, cwd: &str) -> SandboxSpec {
        let backend = self.spec().sandbox;
        let home = sandbox_home(backend, scratch);
        let tmp = if backend == Backend::None { scratch.tmp.display().to_string() } else { "/tmp".into() };
        SandboxSpec {
            home: scratch.home.clone(),
            tmp: scratch.tmp.clone(),
            cwd: Path::new(&home).join(cwd),
            mounts: self
                .harness
                .settings
                .ro_binds
                .iter()
                .map(|p| Mount { host: p.clone(), inside: p.clone(), writable: false })
                .collect(),
            devices: Vec::new(),
            env: vec![
                ("HOME".into(), home),
                ("PATH".into(), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()),
                ("TMPDIR".into(), tmp),
                ("LANG".into(), "C.UTF-8".into()),
            ],
            network: true,
            image: self.harness.settings.apptainer_image.clone(),
        }
    }

    /// The program and arguments that run `argv` in `sandbox` under the run's backend.
    fn command_line(
        &self,
        backend: Backend,
        sandbox: &SandboxSpec,
        argv: &[OsString],
    ) -> Result<Vec<OsString>, RunError> {
        Ok(match backend {
            Backend::Bwrap => {
                let bwrap = Bubblewrap::find().map_err(|e| RunError::Setup(e.to_string()))?;
                sandbox.bwrap_command(&bwrap, argv)
            }
            Backend::Apptainer => {
                let apptainer = ptb_sandbox::find_program("apptainer").ok_or_else(|| {
                    RunError::Setup("`apptainer` is not on PATH; install it or use --sandbox bwrap".into())
                })?;
                sandbox.apptainer_command(&apptainer, argv)
            }
            Backend::None => argv.to_vec(),
        })
    }

    fn collect(&mut self) {
        let scratch = self.scratch();
        let backend = self.spec().sandbox;
        let sandbox = SandboxSpec { home: scratch.home.clone(), tmp: scratch.tmp.clone(), ..SandboxSpec::default() };
        let out = self.run_dir.join("final_model");
        if out.exists() {
            make_writable(&out);
        }
        let collected = collect(&scratch.task, &out, &|p| sandbox.host_path(backend, p));
        if let Some(reason) = &collected.reason {
            self.note(format!("final_model refused: {reason}"));
        }
        self.record.collect = Some(collected);
    }

    fn evaluate(&mut self) -> Result<(), RunError> {
        let metrics_path = self.run_dir.join("metrics.json");
        if metrics_path.exists() {
            // Killed between writing metrics.json and recording it: the evaluation is done.
            return Ok(());
        }
        let accepted = self.record.collect.as_ref().is_some_and(|c| c.accepted);
        let mut fallback_reason = match &self.record.collect {
            Some(c) if !c.accepted => c.reason.clone().map(|r| format!("final_model refused: {r}")),
            None => Some("no final_model was collected".into()),
            _ => None,
        };
        if accepted {
            let model = self.run_dir.join("final_model");
            match self.final_eval(&model, "final") {
                Ok(accuracy) => {
                    self.record.evaluation =
                        Some(Evaluated { score_source: "final_model".into(), reason: None, accuracy });
                    return Ok(());
                }
                Err(reason) => fallback_reason = Some(reason),
            }
        }
        let reason = fallback_reason.unwrap_or_else(|| "the final model could not be evaluated".into());
        let base = self.spec().base_model_path.clone();
        let accuracy = match self.final_eval(&base, "base") {
            Ok(accuracy) => accuracy,
            Err(why) => {
                self.note(format!("{reason}; the base model's evaluation failed too: {why}"));
                self.record.evaluation =
                    Some(Evaluated { score_source: "none".into(), reason: Some(reason), accuracy: None });
                return Ok(());
            }
        };
        self.note(format!("scored with the base model's score: {reason}"));
        self.record.evaluation = Some(Evaluated { score_source: "base_model".into(), reason: Some(reason), accuracy });
        Ok(())
    }

    /// Evaluates `model` (a directory or holding a `.gguf`, or a `.gguf` file) with the harness's
    /// own evaluation in a fresh sandbox, the model read-only; moves the results into the run dir and
    /// returns the accuracy, or why every attempt failed.
    fn final_eval(&mut self, model: &Path, label: &str) -> Result<Option<f64>, String> {
        let scratch = self.scratch();
        let root = scratch.root.join(format!("eval-{label}"));
        let eval_scratch = Scratch::at(root.clone());
        let out = root.join("out");
        if root.exists() {
            make_writable(&root);
            let _ = std::fs::remove_dir_all(&root);
        }
        for dir in [&eval_scratch.home, &eval_scratch.tmp, &out] {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
        }
        let uid = self.record.uid.map(|_| ptb_sandbox::fresh_id());
        if let Some(uid) = uid {
            for dir in [&eval_scratch.home, &eval_scratch.tmp, &out] {
                chown_tree(dir, uid).map_err(|e| e.to_string())?;
            }
        }
        let backend = self.spec().sandbox;
        let mut sandbox = self.sandbox_base(&eval_scratch, "");
        // A Hub snapshot's files are links into the repo's blobs/: show the whole repo dir.
        let (model_host, model_rel) = match gguf_in(model) {
            Some(file) => {
                (file.parent().unwrap_or(model).to_path_buf(), PathBuf::from(file.file_name().unwrap_or_default()))
            }
            None if self.spec().base_model_from_hub && label == "base" => {
                let repo = model.parent().and_then(Path::parent).unwrap_or(model).to_path_buf();
                let rel = model.strip_prefix(&repo).unwrap_or(Path::new("")).to_path_buf();
                (repo, rel)
            }
            None => (model.to_path_buf(), PathBuf::new()),
        };
        let (exe, data, model_arg, out_arg, config) = if backend == Backend::None {
            (
                self.harness.exe.clone(),
                absolute(&self.harness.data_dir),
                model_host.join(&model_rel),
                out.clone(),
                self.harness.config_file.clone(),
            )
        } else {
            sandbox.mounts.push(Mount {
                host: model_host.clone(),
                inside: format!("{OPT}/model").into(),
                writable: false,
            });
            sandbox.mounts.push(Mount { host: out.clone(), inside: format!("{OPT}/out").into(), writable: true });
            sandbox.mounts.extend(self.ptb_mounts());
            let config = self.harness.config_file.as_ref().map(|c| {
                sandbox.mounts.push(Mount {
                    host: absolute(c),
                    inside: format!("{OPT}/ptb.toml").into(),
                    writable: false,
                });
                PathBuf::from(format!("{OPT}/ptb.toml"))
            });
            let model_arg = Path::new(OPT).join("model").join(&model_rel);
            (
                format!("{OPT}/bin/ptb").into(),
                format!("{OPT}/data").into(),
                model_arg,
                format!("{OPT}/out").into(),
                config,
            )
        };
        sandbox.env.extend(host_env(&self.harness.eval_env));
        let mut argv: Vec<OsString> =
            vec![exe.into(), "--data-dir".into(), data.into(), "--results-dir".into(), out_arg.clone().into()];
        if let Some(config) = config {
            argv.extend(["--config".into(), config.into()]);
        }
        argv.extend(["eval".into(), "--final".into(), "--benchmark".into(), self.spec().benchmark.clone().into()]);
        argv.extend(["--model".into(), model_arg.into(), "--out".into(), out_arg.join("eval").into()]);
        if let Some(limit) = self.spec().eval_limit {
            argv.extend(["--limit".into(), limit.to_string().into()]);
        }
        if let Some(tokens) = self.spec().eval_max_tokens {
            argv.extend(["--max-tokens".into(), tokens.to_string().into()]);
        }
        if let Some(seed) = self.spec().seed {
            argv.extend(["--seed".into(), seed.to_string().into()]);
        }
        argv.extend(self.harness.eval_args.iter().map(OsString::from));
        let supervised = Supervised {
            argv: self.command_line(backend, &sandbox, &argv).map_err(|e| e.to_string())?,
            env: if backend == Backend::None {
                sandbox.env.clone()
            } else {
                vec![("PATH".into(), "/usr/bin:/bin".into())]
            },
            cwd: eval_scratch.home.clone(),
            stdin: None,
            uid,
            time_limit: Duration::from_secs(self.harness.settings.eval_time_limit_s),
            grace: Duration::from_secs(self.harness.settings.grace_s),
            disk_cap: None,
            watch_dirs: Vec::new(),
            disk_every: Duration::from_secs(3600),
            monitor_every: Duration::from_secs(self.harness.settings.monitor_interval_s.max(1)),
            trace: self.run_dir.join(format!("final_eval_{label}_out.txt")),
            monitor: self.run_dir.join(format!("final_eval_{label}_monitor.jsonl")),
            max_processes: self.harness.settings.max_processes,
        };
        let outcome = ptb_sandbox::supervise(&supervised).map_err(|e| e.to_string())?;
        let produced = out.join("eval");
        let metrics_file = produced.join("metrics.json");
        if !metrics_file.is_file() {
            let trace = std::fs::read_to_string(&supervised.trace).unwrap_or_default();
            let last = trace.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_string();
            return Err(format!("the final evaluation failed every attempt ({}): {last}", outcome.end.describe()));
        }
        // The attempt logs and samples first; metrics.json last, so its presence means complete.
        if let Ok(entries) = std::fs::read_dir(&produced) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let keep = name.starts_with("final_eval") || name == "samples.jsonl" || name == "eval.log";
                if keep {
                    let _ = std::fs::copy(entry.path(), self.run_dir.join(&name));
                }
            }
        }
        let text = std::fs::read_to_string(&metrics_file).map_err(|e| format!("{}: {e}", metrics_file.display()))?;
        let mut metrics: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", metrics_file.display()))?;
        let accuracy = metrics.get("accuracy").and_then(|v| v.as_f64());
        if let Some(object) = metrics.as_object_mut() {
            object.insert("score_source".into(), (if label == "base" { "base_model" } else { "final_model" }).into());
            if let Some(limit) = self.spec().eval_limit {
                object.insert("eval_limit".into(), limit.into());
            }
            if let Some(tokens) = self.spec().eval_max_tokens {
                object.insert("eval_max_tokens".into(), tokens.into());
            }
        }
        let path = self.run_dir.join("metrics.json");
        ptb_core::fsutil::atomic_write_json(&path, &metrics).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(accuracy)
    }

    fn finish(&mut self) {
        let scratch = self.scratch();
        crate::overlay::unmount(&Overlay::merged_dir(&scratch.root));
        if !self.harness.settings.keep_scratch && scratch.root.exists() {
            make_writable(&scratch.root);
            if let Err(e) = std::fs::remove_dir_all(&scratch.root) {
                self.record.warnings.push(format!("could not remove the scratch dir {}: {e}", scratch.root.display()));
            }
        }
        self.record.status = "ok".into();
    }
}

/// The named variables of the harness's environment that are set, with their values.
fn host_env(names: &[String]) -> impl Iterator<Item = (String, String)> + '_ {
    names.iter().filter_map(|name| std::env::var(name).ok().map(|value| (name.clone(), value)))
}

/// The agent's home as the sandbox shows it.
fn sandbox_home(backend: Backend, scratch: &Scratch) -> String {
    if backend == Backend::None { scratch.home.display().to_string() } else { SANDBOX_HOME.into() }
}

/// The backend and what it shows, for `run.json` (environment values left out: only names).
fn describe(backend: Backend, sandbox: &SandboxSpec) -> serde_json::Value {
    serde_json::json!({
        "backend": backend.name(),
        "home": sandbox.home,
        "tmp": sandbox.tmp,
        "cwd": sandbox.cwd,
        "mounts": sandbox.mounts,
        "devices": sandbox.devices,
        "env": sandbox.env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        "network": sandbox.network,
        "namespaces": if backend == Backend::Bwrap { serde_json::json!(["user", "pid", "ipc", "uts", "cgroup", "mount"]) } else { serde_json::Value::Null },
    })
}

/// The `.gguf` file `model` is or holds, if any.
fn gguf_in(model: &Path) -> Option<PathBuf> {
    if model.extension().is_some_and(|e| e == "gguf") {
        return Some(model.to_path_buf());
    }
    std::fs::read_dir(model).ok()?.flatten().map(|e| e.path()).find(|p| p.extension().is_some_and(|e| e == "gguf"))
}

/// Copies a file or a directory tree, following symlinks (a Hub snapshot's links into `blobs/`).
fn copy_dereferenced(from: &Path, to: &Path) -> Result<(), RunError> {
    let meta = std::fs::metadata(from).map_err(|e| RunError::io(from, e))?;
    if meta.is_file() {
        std::fs::create_dir_all(to).map_err(|e| RunError::io(to, e))?;
        let target = to.join(from.file_name().unwrap_or_default());
        std::fs::copy(from, &target).map_err(|e| RunError::io(&target, e))?;
        return Ok(());
    }
    std::fs::create_dir_all(to).map_err(|e| RunError::io(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| RunError::io(from, e))?.flatten() {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if std::fs::metadata(&src).map_err(|e| RunError::io(&src, e))?.is_dir() {
            copy_dereferenced(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| RunError::io(&dst, e))?;
        }
    }
    Ok(())
}

/// Gives a tree to `uid` (the agent's home before it starts).
fn chown_tree(dir: &Path, uid: u32) -> Result<(), RunError> {
    let owner = Some(nix::unistd::Uid::from_raw(uid));
    let group = Some(nix::unistd::Gid::from_raw(uid));
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        nix::unistd::fchownat(nix::fcntl::AT_FDCWD, &path, owner, group, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(|e| RunError::io(&path, e.into()))?;
        if path.symlink_metadata().is_ok_and(|m| m.is_dir()) {
            for entry in std::fs::read_dir(&path).map_err(|e| RunError::io(&path, e))?.flatten() {
                stack.push(entry.path());
            }
        }
    }
    Ok(())
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
