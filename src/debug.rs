//! The debug log: one line per context event, appended to the file named by `GSS_NEGOTIATE_DEBUG` (or, for
//! compatibility, gss-ntlmssp's `GSSNTLMSSP_DEBUG`). It records names, flags, outcomes and error texts — never a
//! password, hash, key, challenge response or token.
#![forbid(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where events go: the path and its open file (`None` after a failure, retried at the next event).
struct Sink {
    path: PathBuf,
    file: Option<File>,
}

/// The log, keyed by its path so a changed setting takes effect, and the paths whose failure was reported.
static LOG: Mutex<(Option<Sink>, Vec<PathBuf>)> = Mutex::new((None, Vec::new()));

/// Appends one line to the log at `path` (if any); the whole line is escaped
/// ([`crate::ntlm::error::escape`]), so one event is one line whatever it quotes.
///
/// Logging never breaks authentication, but a log that cannot be written is not ignored silently: the first
/// failure for a path is reported once on the process's standard error (see [`event_reporting_to`]).
pub fn event(path: Option<&Path>, message: std::fmt::Arguments<'_>) {
    event_reporting_to(path, message, &mut std::io::stderr());
}

/// [`event`], reporting a log that cannot be opened or written to `report` — once per log path and process.
///
/// Why standard error: the operator turned the log on to see what happens and would otherwise see nothing.
/// Standard error is the one channel every host already collects without more configuration (Apache's
/// `error_log`, the systemd journal, a terminal), needs no `unsafe` (syslog would) and cannot fail in a way
/// that hurts authentication; once per path keeps a busy server's error log readable.
pub fn event_reporting_to(
    path: Option<&Path>,
    message: std::fmt::Arguments<'_>,
    report: &mut dyn Write,
) {
    let Some(path) = path else { return };
    let mut guard = match LOG.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    let (current, warned) = &mut *guard;
    if current.as_ref().map_or(true, |s| s.path != path) {
        *current = Some(Sink {
            path: path.to_path_buf(),
            file: None,
        });
    }
    let Some(sink) = current.as_mut() else { return };
    if sink.file.is_none() {
        match OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o660)
            .open(path)
        {
            Ok(f) => sink.file = Some(f),
            Err(e) => return warn_once(warned, path, &e, report),
        }
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let message = message.to_string();
    let line = format!(
        "{}.{:03} gss-negotiate[{}]: {}\n",
        now.as_secs(),
        now.subsec_millis(),
        std::process::id(),
        crate::ntlm::error::escape(&message)
    );
    let written = sink.file.as_mut().map(|f| f.write_all(line.as_bytes()));
    if let Some(Err(e)) = written {
        sink.file = None;
        warn_once(warned, path, &e, report);
    }
}

fn warn_once(warned: &mut Vec<PathBuf>, path: &Path, e: &std::io::Error, report: &mut dyn Write) {
    if warned.iter().any(|p| p == path) {
        return;
    }
    warned.push(path.to_path_buf());
    let _ = writeln!(
        report,
        "gss-negotiate[{}]: cannot write the debug log {}: {e}; its messages are dropped",
        std::process::id(),
        crate::ntlm::error::escape(&path.display().to_string())
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_appends_lines_to_the_configured_file() {
        let path =
            std::env::temp_dir().join(format!("gss-negotiate-debug-{}.log", std::process::id()));
        let _ = std::fs::remove_file(&path);
        event(Some(&path), format_args!("first {}", 1));
        event(Some(&path), format_args!("second"));
        event(None, format_args!("not written"));
        let text = std::fs::read_to_string(&path).expect("log written");
        let _ = std::fs::remove_file(&path);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].ends_with("first 1") && lines[1].ends_with("second"),
            "{text}"
        );
        assert!(lines[0].contains("gss-negotiate["), "{text}");
    }

    #[test]
    fn a_log_that_cannot_be_opened_is_reported_once_per_path() {
        let dir =
            std::env::temp_dir().join(format!("gss-negotiate-debug-dir-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut report = Vec::new();
        for _ in 0..3 {
            event_reporting_to(Some(&dir), format_args!("lost"), &mut report);
        }
        let text = String::from_utf8(report).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("cannot write the debug log"), "{text}");
        assert!(text.contains(&dir.display().to_string()), "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
