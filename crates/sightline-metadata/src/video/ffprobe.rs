//! ffprobe as a sandboxed subprocess, and a loose reading of its JSON.
//!
//! The child runs under util-linux `prlimit` (address space, CPU seconds,
//! no core dumps), in its own process group, with a cleared environment,
//! stdin closed, only the `file` protocol and only the container demuxers
//! Sightline reads. A wall-clock timeout kills the whole group; stdout is
//! read by a thread that keeps at most `max_output_bytes`.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use sightline_core::MetaIssue;

use super::{Family, VideoLimits};

/// The demuxers ffprobe may use, nested ones (HLS segments, concat parts)
/// included: anything else is refused by ffprobe itself.
pub const FORMAT_WHITELIST: &str = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,flv";
/// At most this much of stderr is kept.
const MAX_STDERR_BYTES: usize = 64 * 1024;
/// How long to wait for the output readers once the child is gone.
const READER_GRACE: Duration = Duration::from_secs(1);
/// Messages quoting stderr are cut to this many characters.
const MAX_MESSAGE_CHARS: usize = 200;

fn issue(issues: &mut Vec<MetaIssue>, code: &str, message: String) {
    issues.push(MetaIssue {
        origin: "ffprobe".into(),
        code: code.into(),
        message,
    });
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A program as given (when it names a path) or looked up on `PATH`.
pub(crate) fn find_program(program: &Path) -> Option<PathBuf> {
    let bytes = program.as_os_str().as_encoded_bytes();
    if bytes.is_empty() {
        return None;
    }
    if bytes.contains(&b'/') {
        return is_executable(program).then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

/// Kill the child's whole process group (it leads it), then the child, then
/// reap it. The group is signalled first, while the unreaped leader still
/// holds its id, so helpers it started (a wrapper script's `sleep`) die too.
fn kill_and_reap(child: &mut Child) {
    if let Some(kill) = find_program(Path::new("kill")) {
        let _ = Command::new(kill)
            .args(["-s", "KILL", "--", &format!("-{}", child.id())])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Which output a reader thread carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pipe {
    Stdout,
    Stderr,
}

/// Read `source` to its end, keeping at most `cap` bytes; set `overflow`
/// (if given) when more arrived. Draining goes on so the child never blocks
/// on a full pipe.
fn spawn_reader(
    mut source: impl Read + Send + 'static,
    cap: usize,
    overflow: Option<Arc<AtomicBool>>,
    pipe: Pipe,
    tx: mpsc::Sender<(Pipe, Vec<u8>)>,
) {
    thread::spawn(move || {
        let mut kept = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match source.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    let room = cap.saturating_sub(kept.len());
                    kept.extend_from_slice(&chunk[..n.min(room)]);
                    if n > room
                        && let Some(flag) = &overflow
                    {
                        flag.store(true, Ordering::SeqCst);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = tx.send((pipe, kept));
    });
}

/// Remove the ` @ 0x55d0c2a4e280` context addresses ffmpeg's log lines
/// carry, which change from run to run.
fn strip_addresses(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find(" @ 0x") {
        out.push_str(&rest[..at]);
        let after = &rest[at + " @ 0x".len()..];
        let hex = after
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(after.len());
        if hex == 0 {
            out.push_str(" @ 0x");
        }
        rest = &after[hex..];
    }
    out.push_str(rest);
    out
}

/// The first non-empty stderr line, with the input's path replaced by
/// `<input>`, escaped and cut to [`MAX_MESSAGE_CHARS`].
fn first_line(stderr: &[u8], url: &str, path: &str) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("(no message)");
    let line = strip_addresses(&line.replace(url, "<input>").replace(path, "<input>"));
    let escaped: String = line.escape_debug().collect();
    if escaped.chars().count() > MAX_MESSAGE_CHARS {
        let cut: String = escaped.chars().take(MAX_MESSAGE_CHARS).collect();
        format!("{cut}…")
    } else {
        escaped
    }
}

/// Run ffprobe on `path` (absolute, a regular file of the sniffed
/// `family`). Returns its stdout when it exited successfully within the
/// limits; every failure is an issue.
pub(crate) fn run(
    path: &Path,
    family: Family,
    limits: &VideoLimits,
    issues: &mut Vec<MetaIssue>,
) -> Option<Vec<u8>> {
    let Some(ffprobe) = find_program(&limits.ffprobe) else {
        issue(
            issues,
            "ffprobe-missing",
            format!(
                "ffprobe not found ({}); container facts not read",
                limits.ffprobe.display()
            ),
        );
        return None;
    };
    let prlimit = find_program(&limits.prlimit);
    let mut cmd = match &prlimit {
        Some(prlimit) => {
            let cpu_secs = limits.timeout.as_secs_f64().ceil().max(1.0) as u64 + 1;
            let mut cmd = Command::new(prlimit);
            if limits.max_memory_bytes > 0 {
                cmd.arg(format!("--as={}", limits.max_memory_bytes));
            }
            cmd.arg(format!("--cpu={cpu_secs}"))
                .arg("--core=0")
                .arg("--")
                .arg(&ffprobe);
            cmd
        }
        None => {
            issue(
                issues,
                "prlimit-missing",
                format!(
                    "prlimit not found ({}); ffprobe ran without memory or cpu limits",
                    limits.prlimit.display()
                ),
            );
            Command::new(&ffprobe)
        }
    };
    // `file:` + absolute path: never read as an option or another protocol.
    let mut url = OsString::from("file:");
    url.push(path.as_os_str());
    cmd.args(["-v", "error", "-hide_banner"])
        .args(["-protocol_whitelist", "file"])
        .args(["-format_whitelist", FORMAT_WHITELIST])
        .args(["-f", family.demuxer()])
        .args(["-print_format", "json", "-show_format", "-show_streams"])
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_clear()
        .env("LC_ALL", "C")
        .process_group(0);
    if let Some(p) = std::env::var_os("PATH") {
        cmd.env("PATH", p);
    }

    let started = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                "ffprobe-missing"
            } else {
                "ffprobe-failed"
            };
            issue(issues, code, format!("could not start ffprobe: {e}"));
            return None;
        }
    };

    let (tx, rx) = mpsc::channel();
    let overflow = Arc::new(AtomicBool::new(false));
    let mut readers = 0;
    if let Some(out) = child.stdout.take() {
        spawn_reader(
            out,
            limits.max_output_bytes,
            Some(overflow.clone()),
            Pipe::Stdout,
            tx.clone(),
        );
        readers += 1;
    }
    if let Some(err) = child.stderr.take() {
        spawn_reader(err, MAX_STDERR_BYTES, None, Pipe::Stderr, tx.clone());
        readers += 1;
    }
    drop(tx);

    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(e) => {
                kill_and_reap(&mut child);
                issue(
                    issues,
                    "ffprobe-failed",
                    format!("waiting for ffprobe: {e}"),
                );
                return None;
            }
        }
        if overflow.load(Ordering::SeqCst) {
            kill_and_reap(&mut child);
            break None;
        }
        let elapsed = started.elapsed();
        if elapsed >= limits.timeout {
            kill_and_reap(&mut child);
            issue(
                issues,
                "ffprobe-timeout",
                format!(
                    "ffprobe still running after {} ms; killed",
                    limits.timeout.as_millis()
                ),
            );
            return None;
        }
        thread::sleep(pause.min(limits.timeout - elapsed));
        pause = (pause * 2).min(Duration::from_millis(20));
    };

    // Collect the readers. A pipe still held open after the child is gone
    // (by something it started and detached) is given up on: the reaped
    // child's id is no longer ours to signal.
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let deadline = Instant::now() + READER_GRACE;
    while readers > 0 {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((Pipe::Stdout, bytes)) => {
                stdout = bytes;
                readers -= 1;
            }
            Ok((Pipe::Stderr, bytes)) => {
                stderr = bytes;
                readers -= 1;
            }
            Err(_) => {
                issue(
                    issues,
                    "ffprobe-output-incomplete",
                    "ffprobe's output pipes stayed open after it exited".into(),
                );
                break;
            }
        }
    }

    if overflow.load(Ordering::SeqCst) {
        issue(
            issues,
            "ffprobe-output-too-large",
            format!(
                "ffprobe wrote more than {} bytes; killed, output discarded",
                limits.max_output_bytes
            ),
        );
        return None;
    }
    let status = status?;
    let url_text = url.to_string_lossy().into_owned();
    let path_text = path.to_string_lossy().into_owned();
    if !status.success() {
        let line = first_line(&stderr, &url_text, &path_text);
        let message = match (status.code(), status.signal()) {
            (Some(code), _) => format!("ffprobe exited with status {code}: {line}"),
            (None, Some(signal)) => {
                format!("ffprobe killed by signal {signal} (cpu or memory limit?): {line}")
            }
            (None, None) => format!("ffprobe failed: {line}"),
        };
        issue(issues, "ffprobe-failed", message);
        return None;
    }
    if stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        issue(
            issues,
            "ffprobe-stderr",
            first_line(&stderr, &url_text, &path_text),
        );
    }
    Some(stdout)
}

/// ffprobe's `format` section, loosely read.
#[derive(Debug, Default)]
pub(crate) struct ProbeFormat {
    pub format_name: Option<String>,
    pub duration: Option<f64>,
    pub bit_rate: Option<u64>,
    pub tags: Vec<(String, Value)>,
}

/// One of ffprobe's `streams`, loosely read.
#[derive(Debug, Default)]
pub(crate) struct ProbeStream {
    pub index: u32,
    /// Container track id (`"0x1"` in MP4 is `track_ID` 1).
    pub id: Option<String>,
    pub codec_type: Option<String>,
    pub codec_name: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub avg_frame_rate: Option<f64>,
    pub duration: Option<f64>,
    /// `side_data_list[].rotation` of a display matrix, as ffprobe prints
    /// it (libavutil's counter-clockwise convention).
    pub matrix_rotation: Option<f64>,
    pub tags: Vec<(String, Value)>,
}

/// ffprobe's whole answer.
#[derive(Debug, Default)]
pub(crate) struct Probe {
    pub format: Option<ProbeFormat>,
    pub streams: Vec<ProbeStream>,
}

/// A number, or a string holding one (`"1.000000"`); `N/A` and non-finite
/// values are `None`.
fn number(v: Option<&Value>) -> Option<f64> {
    let n = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

fn unsigned(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
    .or_else(|| {
        let f = number(v)?;
        (f >= 0.0 && f < u64::MAX as f64).then_some(f as u64)
    })
}

fn string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `"30000/1001"` → 29.97…; `0/0` and zero rates → `None`.
pub(crate) fn frame_rate(v: Option<&Value>) -> Option<f64> {
    let s = string(v)?;
    let rate = match s.split_once('/') {
        Some((num, den)) => {
            let num: f64 = num.trim().parse().ok()?;
            let den: f64 = den.trim().parse().ok()?;
            if den == 0.0 {
                return None;
            }
            num / den
        }
        None => s.trim().parse().ok()?,
    };
    (rate.is_finite() && rate > 0.0).then_some(rate)
}

/// Tags sorted by name, so the order does not depend on how serde_json was
/// built (its `preserve_order` feature is switched on by other crates in
/// the tree).
fn tags(v: Option<&Value>) -> Vec<(String, Value)> {
    let mut t: Vec<(String, Value)> = v
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    t.sort_by(|a, b| a.0.cmp(&b.0));
    t
}

/// Read ffprobe's JSON; only malformed JSON is an error, any field may be
/// missing or of an unexpected type.
pub(crate) fn parse(json: &[u8]) -> Result<Probe, String> {
    let root: Value = serde_json::from_slice(json).map_err(|e| format!("ffprobe json: {e}"))?;
    let format = root
        .get("format")
        .filter(|f| f.is_object())
        .map(|f| ProbeFormat {
            format_name: string(f.get("format_name")),
            duration: number(f.get("duration")),
            bit_rate: unsigned(f.get("bit_rate")),
            tags: tags(f.get("tags")),
        });
    let streams = root
        .get("streams")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter(|s| s.is_object())
                .enumerate()
                .map(|(position, s)| ProbeStream {
                    index: unsigned(s.get("index"))
                        .and_then(|i| u32::try_from(i).ok())
                        .unwrap_or(position as u32),
                    id: string(s.get("id")),
                    codec_type: string(s.get("codec_type")),
                    codec_name: string(s.get("codec_name")),
                    width: unsigned(s.get("width")).and_then(|w| u32::try_from(w).ok()),
                    height: unsigned(s.get("height")).and_then(|h| u32::try_from(h).ok()),
                    avg_frame_rate: frame_rate(s.get("avg_frame_rate")),
                    duration: number(s.get("duration")),
                    matrix_rotation: s
                        .get("side_data_list")
                        .and_then(Value::as_array)
                        .and_then(|sd| sd.iter().find_map(|d| number(d.get("rotation")))),
                    tags: tags(s.get("tags")),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Probe { format, streams })
}
