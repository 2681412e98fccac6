//! ffprobe and ffmpeg as sandboxed subprocesses.
//!
//! Every run:
//! * has an empty environment (no `FFREPORT`, no `AV_LOG_*`), `/` as its
//!   working directory, no standard input;
//! * runs in a process group of its own, killed whole (`kill -KILL -PGID`)
//!   when the wall-clock limit passes or a cap is hit;
//! * runs under util-linux `prlimit` when it is installed: address space,
//!   CPU seconds, no file creation (`--fsize=0`), no core dumps, few open
//!   files. Without `prlimit` the run goes on with the wall-clock limit only,
//!   and [`SandboxReport::prlimit`] says so;
//! * reads only the one file it is given, as `file:<absolute path>`, with the
//!   demuxer named and whitelisted and the protocols whitelisted.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::sniff::Container;
use super::{Limits, VpdqError};

/// Paths of the programs used, found on `PATH` once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tools {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    /// util-linux `prlimit`; `None` runs without resource limits.
    pub prlimit: Option<PathBuf>,
    /// The `kill` command, used to kill a whole process group.
    pub kill: PathBuf,
}

impl Tools {
    /// Find `ffmpeg`, `ffprobe`, `kill` and (optionally) `prlimit` on `PATH`.
    pub fn discover() -> Result<Tools, VpdqError> {
        let need =
            |name: &'static str| find_on_path(name).ok_or(VpdqError::ToolMissing { tool: name });
        Ok(Tools {
            ffmpeg: need("ffmpeg")?,
            ffprobe: need("ffprobe")?,
            prlimit: find_on_path("prlimit"),
            kill: need("kill")?,
        })
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path =
        std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/local/bin:/usr/bin:/bin"));
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// How a run was confined.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SandboxReport {
    /// Whether `prlimit` applied the memory/CPU/file limits.
    pub prlimit: bool,
}

/// The argument naming the input: `file:` and the absolute path.
pub(crate) fn file_url(path: &Path) -> OsString {
    let mut s = OsString::from("file:");
    s.push(path.as_os_str());
    s
}

/// Input options shared by ffprobe and ffmpeg.
pub(crate) fn input_args(container: Container, path: &Path) -> Vec<OsString> {
    [
        "-f",
        container.demuxer(),
        "-format_whitelist",
        container.format_whitelist(),
        "-protocol_whitelist",
        "file,pipe",
    ]
    .iter()
    .map(OsString::from)
    .chain([OsString::from("-i"), file_url(path)])
    .collect()
}

/// ffmpeg's opening options: quiet, no stdin, `threads` decoder threads.
pub(crate) fn ffmpeg_head(threads: usize) -> Vec<OsString> {
    ["-nostdin", "-hide_banner", "-loglevel", "error", "-threads"]
        .into_iter()
        .map(OsString::from)
        .chain([OsString::from(threads.to_string())])
        .collect()
}

/// ffmpeg's output options: the first video stream only, through `vf`
/// (plus `extra` options before it), at most `max_frames` frames, as raw
/// RGB24 on standard output.
pub(crate) fn rgb_pipe_args(extra: &[&str], vf: String, max_frames: u64) -> Vec<OsString> {
    let mut out: Vec<OsString> = ["-map", "0:v:0", "-an", "-sn", "-dn"]
        .into_iter()
        .chain(extra.iter().copied())
        .map(OsString::from)
        .collect();
    out.extend([OsString::from("-vf"), OsString::from(vf)]);
    out.extend(
        [
            "-frames:v".to_string(),
            max_frames.to_string(),
            "-f".into(),
            "rawvideo".into(),
            "-pix_fmt".into(),
            "rgb24".into(),
            "pipe:1".into(),
        ]
        .map(OsString::from),
    );
    out
}

/// Build the command: `prlimit … -- program args` or `program args`.
pub(crate) fn command(
    tools: &Tools,
    limits: &Limits,
    program: &Path,
    args: &[OsString],
) -> Command {
    let mut cmd = match &tools.prlimit {
        Some(prlimit) => {
            let mut c = Command::new(prlimit);
            let cpu = limits
                .cpu_seconds
                .unwrap_or_else(|| limits.timeout.as_secs().saturating_mul(4).max(1));
            c.arg(format!("--as={}", limits.memory_bytes))
                .arg(format!("--cpu={cpu}"))
                .arg("--fsize=0")
                .arg("--core=0")
                .arg("--nofile=256")
                .arg("--")
                .arg(program);
            c
        }
        None => Command::new(program),
    };
    cmd.args(args)
        .env_clear()
        .env("LC_ALL", "C")
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd
}

/// Kill the whole process group led by `pgid`.
fn kill_group(tools: &Tools, pgid: u32) {
    let _ = Command::new(&tools.kill)
        .arg("-KILL")
        .arg("--")
        .arg(format!("-{pgid}"))
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Collect at most `cap` bytes of stderr, draining the rest.
fn spawn_stderr_reader(stderr: ChildStderr, cap: usize) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 4096];
        let mut r = stderr;
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = cap.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        String::from_utf8_lossy(&kept).trim().to_string()
    })
}

/// Why a run was stopped by us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stopped {
    TimedOut,
    /// Stopped by the caller (a cap was hit).
    Capped,
}

/// A running sandboxed process with a watchdog.
pub(crate) struct Running {
    child: Child,
    tools: Tools,
    deadline: Instant,
    stderr: Option<thread::JoinHandle<String>>,
    watchdog: Option<thread::JoinHandle<()>>,
    finished: Arc<(Mutex<bool>, Condvar)>,
    timed_out: Arc<AtomicBool>,
    capped: bool,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("pid", &self.child.id())
            .finish()
    }
}

/// What a finished run left.
#[derive(Debug)]
pub(crate) struct Finished {
    pub status: ExitStatus,
    pub stderr: String,
    pub stopped: Option<Stopped>,
}

impl Running {
    pub(crate) fn spawn(
        mut cmd: Command,
        tools: &Tools,
        timeout: Duration,
    ) -> Result<Running, VpdqError> {
        let mut child = cmd.spawn().map_err(|e| VpdqError::Spawn {
            reason: e.to_string().to_lowercase(),
        })?;
        let pgid = child.id();
        let stderr = child
            .stderr
            .take()
            .map(|s| spawn_stderr_reader(s, 16 * 1024));
        let finished = Arc::new((Mutex::new(false), Condvar::new()));
        let timed_out = Arc::new(AtomicBool::new(false));
        let deadline = Instant::now() + timeout;
        let watchdog = {
            let finished = Arc::clone(&finished);
            let timed_out = Arc::clone(&timed_out);
            let tools = tools.clone();
            thread::spawn(move || {
                let (lock, cvar) = &*finished;
                let mut done = lock.lock().unwrap_or_else(|e| e.into_inner());
                while !*done {
                    let now = Instant::now();
                    if now >= deadline {
                        // The child is not reaped before this thread is
                        // joined, so `pgid` still names its group.
                        timed_out.store(true, Ordering::SeqCst);
                        kill_group(&tools, pgid);
                        return;
                    }
                    done = cvar
                        .wait_timeout(done, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            })
        };
        Ok(Running {
            child,
            tools: tools.clone(),
            deadline,
            stderr,
            watchdog: Some(watchdog),
            finished,
            timed_out,
            capped: false,
        })
    }

    pub(crate) fn stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    pub(crate) fn timed_out(&self) -> bool {
        self.timed_out.load(Ordering::SeqCst)
    }

    /// Kill the group now (a cap was hit).
    pub(crate) fn stop(&mut self) {
        if !self.capped && !self.timed_out() {
            self.capped = true;
            kill_group(&self.tools, self.child.id());
        }
    }

    /// Stop the watchdog, then reap the child (killing it at the deadline if
    /// it lingers after closing its output).
    pub(crate) fn finish(mut self) -> Result<Finished, VpdqError> {
        {
            let (lock, cvar) = &*self.finished;
            *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
            cvar.notify_all();
        }
        if let Some(w) = self.watchdog.take() {
            let _ = w.join();
        }
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) => {
                    if Instant::now() >= self.deadline && !self.timed_out() {
                        self.timed_out.store(true, Ordering::SeqCst);
                        kill_group(&self.tools, self.child.id());
                    }
                    thread::sleep(Duration::from_millis(5));
                }
                Err(e) => {
                    return Err(VpdqError::Spawn {
                        reason: e.to_string().to_lowercase(),
                    });
                }
            }
        };
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let stopped = if self.timed_out() {
            Some(Stopped::TimedOut)
        } else if self.capped {
            Some(Stopped::Capped)
        } else {
            None
        };
        Ok(Finished {
            status,
            stderr,
            stopped,
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Only reached on an early return: make sure nothing lingers.
        if self.watchdog.is_some() {
            {
                let (lock, cvar) = &*self.finished;
                *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
                cvar.notify_all();
            }
            if let Some(w) = self.watchdog.take() {
                let _ = w.join();
            }
            if let Ok(None) = self.child.try_wait() {
                kill_group(&self.tools, self.child.id());
                let _ = self.child.wait();
            }
        }
    }
}

/// Run to completion, collecting at most `cap` bytes of stdout.
pub(crate) fn run_collect(
    cmd: Command,
    tools: &Tools,
    timeout: Duration,
    cap: usize,
) -> Result<(Vec<u8>, Finished), VpdqError> {
    let mut running = Running::spawn(cmd, tools, timeout)?;
    let mut out = Vec::new();
    if let Some(mut stdout) = running.stdout() {
        let mut buf = [0u8; 8192];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if out.len() + n > cap {
                        running.stop();
                        break;
                    }
                    out.extend_from_slice(&buf[..n]);
                }
            }
        }
    }
    let finished = running.finish()?;
    Ok((out, finished))
}
