//! Real servers for end-to-end tests: a private Dovecot per test, an aiosmtpd sink that
//! delivers into a Maildir, and a TCP proxy that can stall or reset connections.
//! Anything that cannot start panics with what is missing: tests never skip silently.
//! Needs what `scripts/install-test-deps.sh` installs; only std and `tempfile`.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

mod dovecot;
mod mini_imap;
mod radicale;
mod smtp_sink;
mod stall_proxy;

#[allow(unused_imports)] // a test binary that uses only some of these must still build clean
pub use {
    dovecot::{Dovecot, DovecotOptions, PASSWORD},
    radicale::{RADICALE_PASSWORD, RADICALE_USER, Radicale, python_env},
    smtp_sink::SmtpSink,
    stall_proxy::StallProxy,
};

use std::collections::HashSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

const INSTALL_HINT: &str = "run `scripts/install-test-deps.sh` as root to install it";

// std has no SIGTERM, no kill(2) on a process group and no SO_LINGER setter, and this module
// may not pull in crates beyond tempfile, so the three libc calls are declared here.
mod sys {
    unsafe extern "C" {
        fn kill(pid: i32, sig: i32) -> i32;
        fn geteuid() -> u32;
        fn setsockopt(fd: i32, level: i32, name: i32, value: *const i32, len: u32) -> i32;
    }
    pub const SIGTERM: i32 = 15;
    pub const SIGKILL: i32 = 9;

    /// Signals every process in the group led by `pid` (children are spawned as leaders).
    pub fn signal_group(pid: u32, sig: i32) {
        // SAFETY: plain syscall; a vanished group only yields ESRCH, which is fine here.
        unsafe { kill(-(pid as i32), sig) };
    }

    pub fn is_root() -> bool {
        // SAFETY: geteuid cannot fail.
        unsafe { geteuid() == 0 }
    }

    /// Makes the next close of this socket send RST instead of FIN (SO_LINGER, timeout 0).
    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    pub fn set_linger_zero(fd: i32) {
        const SOL_SOCKET: i32 = 1;
        const SO_LINGER: i32 = 13;
        let linger: [i32; 2] = [1, 0]; // struct linger { l_onoff = 1, l_linger = 0 }
        // SAFETY: `linger` outlives the call and has the size we pass.
        unsafe { setsockopt(fd, SOL_SOCKET, SO_LINGER, linger.as_ptr(), 8) };
    }
    #[cfg(not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )))]
    pub fn set_linger_zero(_fd: i32) {} // elsewhere a reset degrades to a plain close
}

/// Finds a program on PATH or in the sbin directories a non-root PATH often lacks.
fn find_program(name: &str, package: &str) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
    let found = dirs.map(|d| Path::new(d).join(name)).find(|p| p.is_file());
    found.unwrap_or_else(|| panic!("`{name}` not found (Debian package {package}); {INSTALL_HINT}"))
}

/// Runs a short helper command and returns its trimmed stdout, panicking with its stderr.
fn run_checked(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: could not run {cmd:?}: {e}; {INSTALL_HINT}"));
    if !out.status.success() {
        panic!(
            "{what}: {cmd:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// SIGTERM the process group, reap the leader; SIGKILL the group if it takes over 3 s.
fn stop_group(child: &mut Child) {
    sys::signal_group(child.id(), sys::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
    sys::signal_group(child.id(), sys::SIGKILL);
    let _ = child.wait();
}

fn file_tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A port on 127.0.0.1 that was free a moment ago. Ports handed out are remembered, so two
/// tests in this process never get the same one; another process can still race us, so
/// servers started here retry with fresh ports when their bind fails.
pub fn free_port() -> u16 {
    static HANDED_OUT: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let handed_out = HANDED_OUT.get_or_init(Default::default);
    for _ in 0..50 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0 for a free port");
        let port = listener
            .local_addr()
            .expect("local_addr of a bound listener")
            .port();
        if handed_out
            .lock()
            .expect("free_port lock poisoned")
            .insert(port)
        {
            return port;
        }
    }
    panic!("free_port: the kernel kept returning ports this test process already uses");
}

/// One attempt: connect, read the first line, and check it starts with `prefix`.
fn read_banner(port: u16, prefix: &str, read_timeout: Duration) -> Result<String, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(read_timeout))
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .map_err(|e| format!("read: {e}"))?;
    if line.starts_with(prefix) {
        Ok(line.trim_end().to_string())
    } else {
        Err(format!("first line was {line:?}"))
    }
}

/// Waits until 127.0.0.1:`port` sends a first line starting with `prefix` (an open port alone
/// is not enough: the server may accept before it can talk). Returns that line.
pub fn wait_for_banner(port: u16, prefix: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        match read_banner(port, prefix, Duration::from_secs(2)) {
            Ok(line) => return line,
            Err(e) if Instant::now() >= deadline => {
                panic!("no {prefix:?} banner on 127.0.0.1:{port} within {timeout:?}; last: {e}")
            }
            Err(_) => thread::sleep(Duration::from_millis(25)),
        }
    }
}
