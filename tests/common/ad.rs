//! The Samba AD DC of `scripts/ad-env.sh` for the tests that need one (tests/ad_winbind, tests/ad_http):
//! started in its own namespaces, commands run inside them, stopped and removed on drop. Needs root.

use super::GssEnv;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// scripts/ad-env.sh.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/ad-env.sh")
}

/// The running DC in its own temporary directory (not inside the test's, which is removed first); stopped
/// and removed on drop.
pub struct Dc {
    /// The instance directory `ad-env.sh start` printed.
    pub dir: PathBuf,
}

impl Dc {
    /// Starts a DC whose namespaces `ad-env.sh` tears down after `lifetime` seconds at the latest.
    pub fn start(lifetime: u32) -> Result<Dc, String> {
        let out = Command::new(script())
            .arg("start")
            .env("AD_ENV_LIFETIME", lifetime.to_string())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run ad-env.sh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "ad-env.sh start failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let dir = stdout.lines().last().unwrap_or_default().trim();
        if !Path::new(dir).join("state").is_file() {
            return Err(format!("ad-env.sh start printed no directory: {stdout}"));
        }
        Ok(Dc { dir: dir.into() })
    }

    /// A command run inside the DC's namespaces.
    pub fn exec(&self, env: &GssEnv, program: &str) -> Command {
        let mut c = Command::new(script());
        env.apply(&mut c);
        c.arg("exec").arg(&self.dir).arg(program);
        c
    }

    /// Sets the DC's `ntlm auth` and restarts samba.
    pub fn ntlm_auth(&self, value: &str) {
        let st = Command::new(script())
            .arg("ntlm-auth")
            .arg(&self.dir)
            .arg(value)
            .stdin(Stdio::null())
            .status();
        assert!(
            st.is_ok_and(|s| s.success()),
            "ad-env.sh ntlm-auth {value} failed"
        );
    }

    /// `ad-env.sh samba-stop` / `samba-start`: the DC goes away or comes back.
    pub fn samba(&self, what: &str) {
        let st = Command::new(script())
            .arg(what)
            .arg(&self.dir)
            .stdin(Stdio::null())
            .status();
        assert!(st.is_ok_and(|s| s.success()), "ad-env.sh {what} failed");
    }
}

impl Drop for Dc {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .arg("stop")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .status();
    }
}
