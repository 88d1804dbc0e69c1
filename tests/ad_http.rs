//! The Windows-domain scenario end to end over HTTP (issue 12, item 5): one Samba AD DC (`scripts/ad-env.sh`)
//! and Apache `mod_auth_gssapi` inside its namespaces (`ad-env.sh http`), with our plugin and **no NTLM user
//! file on the server**. alice authenticates with Kerberos from the DC's KDC (`kinit alice`, `curl
//! --negotiate`), then without a ticket with NTLM validated by the DC through winbind (curl's client-side
//! credential from a user file); `/webusers/` admits members of `ADTEST\webusers` only, from the
//! `urn:gss-negotiate:groups` name attribute (`GssapiNameAttributes` + `Require expr`): alice in, bob out.
//!
//! Needs root and the `ad` and `http` packages of scripts/install-deps.sh; skips with a clear message otherwise.

mod common;

use common::ad::{script, Dc};
use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const TEST: &str = "ad_http";

/// The DC with Apache in its namespaces; both stopped and the directory removed on drop (by the [`Dc`]).
struct Site {
    dc: Dc,
    log: PathBuf,
}

/// One HTTP exchange: status code and body.
struct Reply {
    code: u16,
    body: String,
}

impl Reply {
    fn field(&self, key: &str) -> Option<&str> {
        self.body
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
    }
}

impl Site {
    fn start(plugin: &Path, log: PathBuf) -> Result<Site, String> {
        let site = Site {
            dc: Dc::start(600)?,
            log,
        };
        let out = Command::new(script())
            .arg("http")
            .arg(&site.dc.dir)
            .env("GSS_NEGOTIATE_SO", plugin)
            .env("AD_ENV_LIFETIME", "600")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run ad-env.sh http: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "ad-env.sh http failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(site)
    }

    /// Runs `sh -c script` inside the namespaces (KRB5CCNAME = DIR/krb5cc, GSS_MECH_CONFIG = the plugin).
    fn sh(&self, script_text: &str) -> Outcome {
        let mut c = Command::new(script());
        c.arg("exec")
            .arg(&self.dc.dir)
            .arg("env")
            .arg(format!(
                "GSS_MECH_CONFIG={}",
                self.dc.dir.join("www/mech.conf").display()
            ))
            .arg("sh")
            .arg("-c")
            .arg(script_text);
        run_bounded(c, &self.log, Duration::from_secs(60))
    }

    /// `curl --negotiate` to `path`, with `NTLM_USER_FILE` = DIR/www/`users` when given.
    fn get(&self, path: &str, users: Option<&str>) -> Reply {
        let file = users.map_or(String::new(), |u| {
            format!(
                "NTLM_USER_FILE={} ",
                self.dc.dir.join("www").join(u).display()
            )
        });
        let out = self.sh(&format!(
            "{file}curl -s --max-time 30 --negotiate -u : -w '\\nHTTP_CODE=%{{http_code}}\\n' \
             http://www.ad.test{path}"
        ));
        let code = out
            .output
            .lines()
            .find_map(|l| l.strip_prefix("HTTP_CODE="))
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or_else(|| panic!("curl {path}: no status:\n{}", out.output));
        Reply {
            code,
            body: out.output,
        }
    }

    fn www_log(&self, name: &str) -> String {
        fs::read_to_string(self.dc.dir.join("www/logs").join(name)).unwrap_or_default()
    }
}

#[test]
fn apache_kerberos_and_ntlm_from_one_domain_controller() {
    if !is_root() {
        skip(
            TEST,
            "needs root (network/mount namespaces, a Samba AD DC, Apache)",
        );
        return;
    }
    for (prog, pkg) in [
        ("samba", "samba-ad-dc (install-deps.sh --group ad)"),
        ("wbinfo", "winbind (install-deps.sh --group ad)"),
        ("kinit", "krb5-user (install-deps.sh --group ad)"),
        ("apache2", "apache2 (install-deps.sh --group http)"),
        ("curl", "curl"),
    ] {
        if find_program(prog).is_none() && !Path::new("/usr/sbin").join(prog).exists() {
            skip(TEST, &format!("{prog} not installed (package {pkg})"));
            return;
        }
    }
    if !Path::new("/usr/lib/apache2/modules/mod_auth_gssapi.so").exists() {
        skip(
            TEST,
            "mod_auth_gssapi not installed (package libapache2-mod-auth-gssapi)",
        );
        return;
    }
    let plugin = match plugin() {
        Plugin::Found { path, .. } => path,
        other => panic!("no plugin to test: {other:?}"),
    };
    let tmp = TempDir::new(TEST).expect("temp dir");
    let site = match Site::start(&plugin, tmp.path().join("commands.log")) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };

    // The server has no NTLM user file: Apache's environment names none.
    let state = fs::read_to_string(site.dc.dir.join("state")).unwrap_or_default();
    let httpd_pid = state
        .lines()
        .find_map(|l| l.strip_prefix("HTTPD_PID="))
        .expect("HTTPD_PID in state");
    let environ = fs::read(format!("/proc/{httpd_pid}/environ")).unwrap_or_default();
    let environ = String::from_utf8_lossy(&environ);
    assert!(
        environ.contains("GSS_MECH_CONFIG=") && !environ.contains("NTLM_USER_FILE"),
        "Apache's environment: {environ}"
    );

    // Kerberos from the DC's KDC.
    let kinit = site.sh("echo 'Passw0rd!alice' | kinit alice >/dev/null && klist");
    assert!(
        kinit.success() && kinit.output.contains("krbtgt/AD.TEST@AD.TEST"),
        "kinit alice:\n{}",
        kinit.output
    );
    let r = site.get("/whoami", None);
    assert_eq!(r.code, 200, "Kerberos alice:\n{}", r.body);
    assert_eq!(r.field("REMOTE_USER"), Some("alice@AD.TEST"), "{}", r.body);
    assert_eq!(r.field("GSS_MECH"), Some("Negotiate/krb5"), "{}", r.body);
    assert!(site.sh("kdestroy").success());

    // No ticket: NTLM, validated by the DC through winbind; groups and SIDs from the name attributes.
    let r = site.get("/whoami", Some("alice.users"));
    assert_eq!(r.code, 200, "NTLM alice:\n{}", r.body);
    assert_eq!(r.field("REMOTE_USER"), Some("ADTEST\\alice"), "{}", r.body);
    assert_eq!(r.field("GSS_MECH"), Some("Negotiate/NTLM"), "{}", r.body);
    assert_eq!(
        r.field("GROUPS"),
        Some("ADTEST\\Domain Users,ADTEST\\webusers"),
        "{}",
        r.body
    );
    let sids = r.field("SIDS").unwrap_or_default();
    assert!(
        sids.starts_with("S-1-5-21-") && sids.split(',').count() >= 3,
        "{}",
        r.body
    );

    // The group-restricted location: alice (webusers) in, bob out — bob authenticated, then refused.
    let r = site.get("/webusers/whoami", Some("alice.users"));
    assert_eq!(r.code, 200, "alice at /webusers/:\n{}", r.body);
    assert_eq!(r.field("REMOTE_USER"), Some("ADTEST\\alice"), "{}", r.body);
    let r = site.get("/whoami", Some("bob.users"));
    assert_eq!(r.code, 200, "bob at /whoami:\n{}", r.body);
    assert_eq!(
        r.field("GROUPS"),
        Some("ADTEST\\Domain Users"),
        "{}",
        r.body
    );
    let r = site.get("/webusers/whoami", Some("bob.users"));
    assert_eq!(r.code, 401, "bob at /webusers/:\n{}", r.body);
    // Apache logs the request after its reply went out: wait for the line.
    let refused = "\"GET /webusers/whoami HTTP/1.1\" 401 user=ADTEST\\\\bob";
    let access = read_until(
        &site.dc.dir.join("www/logs/access.log"),
        Duration::from_secs(10),
        |t| t.contains(refused),
    );
    assert!(
        access.contains(refused),
        "bob was authenticated, then refused by the group rule:\n{access}"
    );

    // A wrong password: refused, and the DC's reason is in Apache's error log.
    fs::write(
        site.dc.dir.join("www/wrong.users"),
        "ADTEST:alice:not-her-password\n",
    )
    .expect("write");
    let r = site.get("/whoami", Some("wrong.users"));
    assert_eq!(r.code, 401, "wrong password:\n{}", r.body);
    let errors = site.www_log("error.log");
    assert!(
        // Apache's log doubles the backslash.
        errors.contains("NTLM: password does not match for ADTEST\\\\alice"),
        "error log:\n{errors}"
    );
}
