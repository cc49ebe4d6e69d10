//! The bubblewrap sandbox against real hostile programs: each must be contained, reported as its own
//! failure, and leave other sandboxes running beside it unaffected.

use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

use ptb_sandbox::{Bubblewrap, ExecOutcome, ExecSpec, Limits, SandboxError, Termination};

fn bwrap() -> Bubblewrap {
    Bubblewrap::find().expect("bwrap is installed (scripts/setup.sh installs bubblewrap)")
}

/// Runs a Python program (as the file `main.py` in the work dir) with `limits`.
fn python(code: &str, limits: Limits) -> ExecOutcome {
    let spec = ExecSpec::new(["python3", "main.py"]).file("main.py", code).with_limits(limits);
    bwrap().exec(&spec).expect("the sandbox starts")
}

fn short(wall_s: u64) -> Limits {
    Limits { wall: Duration::from_secs(wall_s), cpu_seconds: wall_s, ..Limits::default() }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn runs_a_command_and_captures_status_and_output() {
    let spec = ExecSpec::new(["sh", "-c", "echo out; echo err >&2; exit 3"]);
    let out = bwrap().exec(&spec).unwrap();
    assert_eq!(out.termination, Termination::Exited(3));
    assert_eq!(text(&out.stdout), "out\n");
    assert_eq!(text(&out.stderr), "err\n");
    assert!(!out.success());
    assert!(python("print('ok')", Limits::default()).success());
}

#[test]
fn the_work_dir_holds_only_the_given_files_read_only() {
    let code = "import os\nprint(os.getcwd(), sorted(os.listdir('.')))\n\
                try:\n    open('main.py', 'a').write('x')\n    print('writable')\nexcept OSError:\n    print('read-only')\n\
                open('scratch.txt', 'w').write('the work dir itself is writable')\nprint(os.environ.get('HOME'))\n";
    let out = python(code, Limits::default());
    assert!(out.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "/sandbox ['main.py']\nread-only\n/sandbox\n");
}

#[test]
fn host_files_environment_and_identity_are_out_of_reach() {
    let repo = env!("CARGO_MANIFEST_DIR");
    let code = format!(
        "import os\nfor p in ['/etc/shadow', '/etc/passwd', '/root', '/home', {repo:?}, '/work', '/var']:\n\
         \x20   try:\n        open(p).read() if os.path.isfile(p) else os.listdir(p)\n        print('READ', p)\n\
         \x20   except OSError:\n        pass\n\
         try:\n    open('/usr/ptb-sandbox-test', 'w')\n    print('WROTE /usr')\nexcept OSError:\n    pass\n\
         print('env', sorted(k for k in os.environ if k.startswith('CARGO')))\nprint('uid', os.getuid())\n"
    );
    let out = python(&code, Limits::default());
    assert!(out.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(!stdout.contains("READ") && !stdout.contains("WROTE"), "{stdout}");
    assert!(stdout.contains("env []\n"), "the host environment leaks in: {stdout}");
    assert!(!stdout.contains("uid 0\n"), "the sandbox runs as root: {stdout}");
}

#[test]
fn there_is_no_network_not_even_the_hosts_loopback() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let code = format!(
        "import socket\nfor addr in [('127.0.0.1', {port}), ('1.1.1.1', 53), ('example.com', 80)]:\n\
         \x20   try:\n        socket.create_connection(addr, timeout=3).sendall(b'leak')\n        print('CONNECTED', addr)\n\
         \x20   except OSError as e:\n        print('blocked', type(e).__name__)\n"
    );
    let out = python(&code, short(20));
    assert!(out.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.matches("blocked").count(), 3, "{stdout}");
    match listener.accept() {
        Ok((mut s, _)) => {
            let mut got = Vec::new();
            let _ = s.read_to_end(&mut got);
            panic!("the sandbox reached the host's loopback: {got:?}");
        }
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock),
    }
}

#[test]
fn a_sleeper_is_killed_at_the_wall_limit_with_its_whole_process_group() {
    let marker = format!("ptb-sandbox-sleeper-{}", std::process::id());
    let code = "import os, sys, time\nos.fork()\nos.fork()\ntime.sleep(1000)\n";
    let spec = ExecSpec::new(["python3", "main.py", &marker]).file("main.py", code).with_limits(short(2));
    let out = bwrap().exec(&spec).unwrap();
    assert_eq!(out.termination, Termination::TimedOut);
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
    std::thread::sleep(Duration::from_millis(200));
    let survivors: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| text(&c))
        .filter(|c| c.contains(&marker))
        .collect();
    assert!(survivors.is_empty(), "processes outlived the sandbox: {survivors:?}");
}

#[test]
fn a_cpu_burner_is_stopped_by_the_cpu_limit() {
    let limits = Limits { cpu_seconds: 1, wall: Duration::from_secs(20), ..Limits::default() };
    let out = python("while True:\n    pass\n", limits);
    assert!(!out.success());
    assert_ne!(out.termination, Termination::TimedOut, "the CPU limit acts before the wall limit");
    assert!(out.elapsed < Duration::from_secs(15), "{:?}", out.elapsed);
}

#[test]
fn a_fork_bomb_is_contained_and_a_neighbour_still_runs() {
    let bomb = "import os, time\nn = 0\nwhile True:\n    try:\n        os.fork()\n        n += 1\n\
                \x20   except OSError:\n        break\ntime.sleep(3)\nprint(n, flush=True)\nos._exit(9)\n";
    let limits = Limits { processes: 32, ..short(20) };
    std::thread::scope(|s| {
        let bomb = s.spawn(|| python(bomb, limits.clone()));
        std::thread::sleep(Duration::from_millis(300));
        let neighbour = python(
            "import os\npid = os.fork()\nos._exit(0) if pid == 0 else os.waitpid(pid, 0)\nprint('fine')\n",
            short(20),
        );
        assert!(neighbour.success(), "{}", text(&neighbour.stderr));
        assert_eq!(text(&neighbour.stdout), "fine\n");
        let bomb = bomb.join().unwrap();
        assert_eq!(bomb.termination, Termination::Exited(9));
        let forks: Vec<u64> = text(&bomb.stdout).split_whitespace().map(|n| n.parse().unwrap()).collect();
        assert!(!forks.is_empty() && forks.iter().all(|&n| n < 32), "forks per process: {forks:?}");
        assert!(bomb.elapsed < Duration::from_secs(15), "{:?}", bomb.elapsed);
    });
}

#[test]
fn huge_files_hit_the_file_size_and_tmpfs_limits() {
    let limits = Limits { file_size: 1 << 20, tmpfs_size: 4 << 20, ..short(20) };
    let one_file = "open('big', 'wb').write(b'x' * (8 << 20))\n";
    let out = python(one_file, limits.clone());
    assert!(!out.success());
    assert!(text(&out.stderr).contains("File too large"), "{}", text(&out.stderr));
    let many_files = "import sys\nfor i in range(64):\n    try:\n        open(f'f{i}', 'wb').write(b'x' * (1 << 19))\n\
                      \x20   except OSError as e:\n        print(i, e.errno)\n        sys.exit(1)\n";
    let out = python(many_files, limits);
    assert_eq!(out.termination, Termination::Exited(1), "{}", text(&out.stderr));
    let written: usize =
        text(&out.stdout).split_whitespace().next().unwrap_or_else(|| panic!("{}", text(&out.stderr))).parse().unwrap();
    assert!(written <= 8, "the tmpfs took {written} half-MiB files");
}

#[test]
fn output_past_the_cap_kills_the_command() {
    let limits = Limits { output: 1 << 20, ..short(20) };
    let out = python("import sys\nwhile True:\n    sys.stdout.write('y' * 65536)\n", limits);
    assert_eq!(out.termination, Termination::OutputLimit);
    assert!(out.stdout.len() + out.stderr.len() <= 1 << 20);
}

#[test]
fn memory_beyond_the_address_space_limit_fails() {
    let limits = Limits { address_space: 512 << 20, ..short(20) };
    let out = python("b = bytearray(2 << 30)\n", limits);
    assert!(!out.success());
    assert!(text(&out.stderr).contains("MemoryError"), "{}", text(&out.stderr));
}

#[test]
fn a_sandbox_that_cannot_be_built_is_an_error_not_an_outcome() {
    let mut spec = ExecSpec::new(["true"]);
    spec.ro_binds.push("/nonexistent/ptb-sandbox-test".into());
    match bwrap().exec(&spec) {
        Err(SandboxError::Setup(message)) => assert!(message.contains("nonexistent"), "{message}"),
        other => panic!("expected a setup error, got {other:?}"),
    }
}
