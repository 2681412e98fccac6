//! Small formatting helpers shared by the subcommands.

use std::io::Write;

/// `println!` that returns the write error instead of panicking, so a
/// closed pipe (`sightline ls | head`) ends the command quietly.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}
pub(crate) use say;

/// Bytes for people: 1.2 MB, 340 kB, 12 B.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// One JSON value on one line of stdout.
pub fn json_line(v: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, v)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Text from the outside world (captions, paths) printed to a terminal:
/// control characters are shown escaped so they cannot move the cursor,
/// recolour the screen or hide what follows.
pub fn safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() && c != ' ' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(bytes(12), "12 B");
        assert_eq!(bytes(1_234_567), "1.2 MB");
    }

    #[test]
    fn terminal_escapes_are_neutralised() {
        assert_eq!(safe("a\u{1b}[31mred\nb"), "a\\u{1b}[31mred\\nb");
        assert_eq!(safe("كابل <b>"), "كابل <b>");
    }
}
