//! Child processes from the config (`password_command`, `sendmail_command`) run with a
//! deadline. One that hangs delays only its caller, and when the deadline passes it is
//! killed together with everything it started: a shell script's `sleep` or a sendmail's
//! queue runner would otherwise outlive it and keep its pipes open.

use std::io;
use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// Why a child did not produce an [`Output`].
#[derive(Debug)]
pub enum ChildError {
    /// It could not be started (no such program, not executable).
    Spawn(io::Error),
    /// It stopped reading its input before taking all of it.
    Stdin(io::Error),
    /// Waiting for it failed.
    Wait(io::Error),
    /// It had not finished by the deadline; it and its process group were killed.
    TimedOut,
}

/// Runs `command` in a process group of its own, feeds it `input` on stdin (stdin is
/// closed right away when there is none), collects stdout and stderr unless the caller
/// redirected them, and kills the whole group when `deadline` passes first.
pub async fn run_with_deadline(
    mut command: Command,
    input: Option<&[u8]>,
    deadline: Duration,
) -> Result<Output, ChildError> {
    command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(ChildError::Spawn)?;
    let group = child.id().and_then(|id| i32::try_from(id).ok());
    let stdin = child.stdin.take();
    let run = async move {
        if let (Some(mut stdin), Some(input)) = (stdin, input) {
            stdin.write_all(input).await.map_err(ChildError::Stdin)?;
            // Dropped here, so the child sees the end of its input.
        }
        child.wait_with_output().await.map_err(ChildError::Wait)
    };
    match tokio::time::timeout(deadline, run).await {
        Ok(result) => result,
        Err(_) => {
            // Dropping `run` killed the leader; this takes the rest of its group.
            if let Some(pid) = group {
                // SAFETY: a plain syscall on the process group this function created.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
            }
            Err(ChildError::TimedOut)
        }
    }
}

/// For tests of a deadline: wait until the process whose pid a test's script wrote to
/// `pid_file` is gone (reaped or a zombie), and fail the test if it outlives `within`.
#[cfg(test)]
pub(crate) async fn assert_gone_within(pid_file: &std::path::Path, within: Duration) {
    let pid: i32 = std::fs::read_to_string(pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let alive = || {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        state
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    };
    let deadline = std::time::Instant::now() + within;
    while alive() {
        assert!(
            std::time::Instant::now() < deadline,
            "process {pid} outlived the deadline"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn input_reaches_the_child_and_output_comes_back() {
        let mut command = Command::new("/bin/sh");
        command.arg("-c").arg("tr a-z A-Z");
        command.stdout(Stdio::piped());
        let output = run_with_deadline(command, Some(b"hello"), Duration::from_secs(10))
            .await
            .unwrap();
        assert!(output.status.success());
        assert_eq!(output.stdout, b"HELLO");
    }

    #[tokio::test]
    async fn a_hung_child_is_killed_with_the_processes_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("grandchild");
        // The shell starts a grandchild and waits: killing only the shell would leave it.
        let script = format!("sleep 600 & echo $! > {}; wait", pid_file.display());
        let mut command = Command::new("/bin/sh");
        command.arg("-c").arg(script);
        let started = std::time::Instant::now();
        let result = run_with_deadline(command, None, Duration::from_millis(500)).await;
        assert!(matches!(result, Err(ChildError::TimedOut)), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_gone_within(&pid_file, Duration::from_secs(5)).await;
    }

    #[tokio::test]
    async fn a_missing_program_is_a_spawn_error() {
        let command = Command::new("/nonexistent/sendmail");
        let result = run_with_deadline(command, None, Duration::from_secs(1)).await;
        assert!(matches!(result, Err(ChildError::Spawn(_))), "{result:?}");
    }
}
