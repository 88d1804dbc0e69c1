//! The debug log: one line per context event, appended to the file named by `GSS_NEGOTIATE_DEBUG` (or, for
//! compatibility, gss-ntlmssp's `GSSNTLMSSP_DEBUG`). It records names, flags, outcomes and error texts — never a
//! password, hash, key, challenge response or token.
#![forbid(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// The open log file, keyed by its path so a changed setting takes effect.
static LOG: Mutex<Option<(PathBuf, File)>> = Mutex::new(None);

/// Appends one line to the log at `path` (if any). Failures to log are ignored: logging never breaks
/// authentication.
pub fn event(path: Option<&Path>, message: std::fmt::Arguments<'_>) {
    let Some(path) = path else { return };
    let mut guard = match LOG.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    if guard.as_ref().map_or(true, |(p, _)| p != path) {
        *guard = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
            .map(|f| (path.to_path_buf(), f));
    }
    if let Some((_, file)) = guard.as_mut() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        // Escaped as a whole too: whatever a caller forgot, one event stays one line.
        let message = message.to_string();
        let line = format!(
            "{}.{:03} gss-negotiate[{}]: {}\n",
            now.as_secs(),
            now.subsec_millis(),
            std::process::id(),
            crate::ntlm::error::escape(&message)
        );
        let _ = file.write_all(line.as_bytes());
    }
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
}
