//! `gss-negotiate check`: which library MIT's mechglue loads for each mechanism and from which file, the
//! plugin's version, the user file and login file (syntax with line numbers, permissions), the configuration
//! the plugin reads from the environment, and the host names and SPN the acceptor announces. Every problem
//! is printed with its fix in words, and makes the exit status 1.

use gss_negotiate::creds::config::Config;
use gss_negotiate::creds::login::login_file_path;
use gss_negotiate::creds::userfile::ParsedUserFile;
use gss_negotiate::oids::MECH_DESCRIPTION_PREFIX;
use gss_negotiate::spnego::OID_NTLMSSP;
use std::io::Read as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use zeroize::Zeroizing;

use crate::decode::mech_name;
use crate::mechconf::{self, MechConfig};

/// Options of `check`.
pub struct CheckArgs {
    pub gss_dir: Option<PathBuf>,
    /// A staging root (DESTDIR): configuration and libraries are looked up under it.
    pub root: Option<PathBuf>,
    pub libdir: Option<PathBuf>,
    pub service: String,
}

#[derive(Default)]
struct Report {
    problems: Vec<String>,
    root: Option<PathBuf>,
}

impl Report {
    /// Where a path the mechglue would open is on this machine (under the staging root, if any).
    fn on_disk(&self, p: &Path) -> PathBuf {
        match &self.root {
            Some(r) => r.join(p.strip_prefix("/").unwrap_or(p)),
            None => p.to_path_buf(),
        }
    }

    fn problem(&mut self, what: String, fix: String) {
        println!("  PROBLEM: {what}\n    fix: {fix}");
        self.problems.push(what);
    }
}

/// Looks for [`MECH_DESCRIPTION_PREFIX`] in a library file: the gss-negotiate version it was built from.
pub fn library_version(path: &Path) -> Option<String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(256 << 20)
        .read_to_end(&mut bytes)
        .ok()?;
    let needle = MECH_DESCRIPTION_PREFIX.as_bytes();
    let at = bytes.windows(needle.len()).position(|w| w == needle)? + needle.len();
    let rest = bytes.get(at..)?;
    let end = rest.iter().take(64).position(|&b| b == b')')?;
    String::from_utf8(rest.get(..end)?.to_vec()).ok()
}

fn is_ours(path: &Path) -> bool {
    library_version(path).is_some()
}

fn mech_section(r: &mut Report, cfg: &MechConfig, gss_dir: &Path) {
    if cfg.from_env {
        println!("Mechanism configuration: GSS_MECH_CONFIG is set, so MIT reads only that file");
    } else {
        println!(
            "Mechanism configuration: {0}/mech, then {0}/mech.d/*.conf in sorted order",
            gss_dir.display()
        );
    }
    for f in &cfg.files {
        println!("  read {}", f.display());
    }
    for f in &cfg.ignored_files {
        println!("  ignored (name does not end in .conf): {}", f.display());
    }
    for s in &cfg.skipped {
        println!("  skipped {}:{}: {}", s.file.display(), s.line, s.why);
    }
    for c in &cfg.choices {
        let w = &c.winner;
        let kind = w
            .mech_type
            .as_deref()
            .map(|t| format!(" <{t}>"))
            .unwrap_or_default();
        let written = if w.resolved.as_os_str() == w.library.as_str() {
            String::new()
        } else {
            format!(" (written {:?}, relative to $libdir/gss)", w.library)
        };
        println!(
            "  {} {} ({}){kind}: MIT loads {}{written}\n    from {}:{}",
            c.name,
            c.oid,
            mech_name(&c.oid),
            w.resolved.display(),
            w.file.display(),
            w.line
        );
        for s in &c.shadowed {
            println!(
                "    overrides {} from {}:{}",
                s.resolved.display(),
                s.file.display(),
                s.line
            );
        }
        if !r.on_disk(&w.resolved).is_file() {
            r.problem(
                format!(
                    "{} (for {}) does not exist: MIT cannot load this mechanism",
                    w.resolved.display(),
                    c.oid
                ),
                format!(
                    "install the library there or correct line {} of {}",
                    w.line,
                    w.file.display()
                ),
            );
        }
    }
    let Some(ntlm) = cfg.choices.iter().find(|c| c.oid == OID_NTLMSSP) else {
        r.problem(
            format!("no configuration line names the NTLMSSP OID {OID_NTLMSSP}: MIT offers no NTLM"),
            format!(
                "install the gss-negotiate package, or add {}/mech.d/zz-gss-negotiate.conf with the line \
                 'ntlmssp_gss_negotiate {OID_NTLMSSP} <path of libgss_negotiate.so>'",
                gss_dir.display()
            ),
        );
        return;
    };
    let winner = &ntlm.winner;
    if is_ours(&r.on_disk(&winner.resolved)) {
        println!("  NTLMSSP is served by gss-negotiate");
    } else if let Some(ours) = ntlm
        .shadowed
        .iter()
        .find(|l| is_ours(&r.on_disk(&l.resolved)))
    {
        r.problem(
            format!(
                "the gss-negotiate line {}:{} is overridden by {}:{}, so MIT loads {} for NTLM",
                ours.file.display(),
                ours.line,
                winner.file.display(),
                winner.line,
                winner.resolved.display()
            ),
            format!(
                "the last file in sorted order wins: rename {} so that it sorts after {} (e.g. zz-gss-negotiate.conf), \
                 or remove the NTLMSSP line from {}",
                ours.file.display(),
                winner.file.display(),
                winner.file.display()
            ),
        );
    } else if r.on_disk(&winner.resolved).is_file() {
        r.problem(
            format!(
                "MIT loads {} for NTLM, which is not gss-negotiate",
                winner.resolved.display()
            ),
            "install the gss-negotiate package (its mech.d file sorts last and takes over the OID)"
                .into(),
        );
    }
}

/// Which SPNEGO programs get: ours when an `<interposer>` line names this library (mech.d/gss-negotiate-spnego.conf),
/// else MIT's built-in one.
fn spnego_section(r: &mut Report, cfg: &MechConfig) {
    let interposers: Vec<_> = cfg
        .choices
        .iter()
        .filter(|c| c.winner.mech_type.as_deref() == Some("interposer"))
        .collect();
    match interposers
        .iter()
        .find(|c| is_ours(&r.on_disk(&c.winner.resolved)))
    {
        Some(c) => println!(
            "  SPNEGO is gss-negotiate's (interposer {} from {}:{})",
            c.oid,
            c.winner.file.display(),
            c.winner.line
        ),
        None if interposers.is_empty() => println!("  SPNEGO is MIT's built-in one"),
        None => println!(
            "  SPNEGO may be interposed by another library ({})",
            interposers
                .iter()
                .map(|c| c.winner.resolved.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn library_section(r: &mut Report, cfg: &MechConfig) {
    println!("Plugin");
    println!(
        "  this command: gss-negotiate {}",
        env!("CARGO_PKG_VERSION")
    );
    let Some(ntlm) = cfg.choices.iter().find(|c| c.oid == OID_NTLMSSP) else {
        return;
    };
    let lib = &r.on_disk(&ntlm.winner.resolved);
    let Ok(meta) = std::fs::metadata(lib) else {
        return;
    };
    match library_version(lib) {
        Some(v) => println!("  {}: gss-negotiate {v}", lib.display()),
        None => println!("  {}: not gss-negotiate", lib.display()),
    }
    if meta.mode() & 0o022 != 0 {
        r.problem(
            format!(
                "{} is writable by others (mode {:04o}, owner uid {}): anyone who can write it runs code in every GSSAPI program",
                lib.display(),
                meta.mode() & 0o7777,
                meta.uid()
            ),
            format!("chown root:root {0} && chmod 644 {0}", lib.display()),
        );
    }
}

fn user_file_section(r: &mut Report, label: &str, path: &Path) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            r.problem(
                format!("{label} {} cannot be read: {e}", path.display()),
                "create it (gss-negotiate hash prints lines for it) or unset the variable that names it".into(),
            );
            return;
        }
    };
    let mode = meta.mode() & 0o7777;
    println!(
        "  {label}: {} (mode {mode:04o}, owner uid {})",
        path.display(),
        meta.uid()
    );
    let text = match std::fs::read(path).map(Zeroizing::new) {
        Ok(b) => Zeroizing::new(String::from_utf8_lossy(&b).into_owned()),
        Err(e) => {
            r.problem(
                format!("{label} {} cannot be read: {e}", path.display()),
                "give the account that runs the program read access (and nobody else)".into(),
            );
            return;
        }
    };
    let parsed = ParsedUserFile::parse(&text);
    println!("    {} usable entries", parsed.entries().len());
    for e in &parsed.errors {
        r.problem(
            format!("{} line {}: {}", path.display(), e.line, e.message),
            "write DOMAIN:USER:PASSWORD or USER:UID:LMHASH:NTHASH: (gss-negotiate hash prints the latter)".into(),
        );
    }
    if mode & 0o002 != 0 {
        r.problem(
            format!(
                "{} is writable by everyone (mode {mode:04o}); the plugin refuses to use it",
                path.display()
            ),
            format!("chmod 600 {}", path.display()),
        );
    } else if mode & 0o044 != 0 {
        r.problem(
            format!(
                "{} is readable by others (mode {mode:04o}): they can log in as its users",
                path.display()
            ),
            format!(
                "chmod 600 {} (or 640 with a dedicated group)",
                path.display()
            ),
        );
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn acceptor_section(r: &mut Report, cfg: &Config, service: &str) {
    let host = hostname();
    println!("Acceptor (what a CHALLENGE announces on this machine)");
    if host.is_empty() {
        r.problem(
            "the host name is empty: acceptors without an explicit name cannot be created".into(),
            "set a host name (hostnamectl set-hostname NAME)".into(),
        );
        return;
    }
    let dns_domain = host.split_once('.').map(|(_, d)| d).unwrap_or("");
    println!("  MsvAvNbComputerName: {}", cfg.netbios_computer_name);
    println!("  MsvAvNbDomainName:   {}", cfg.netbios_domain_name);
    println!("  MsvAvDnsComputerName: {host}");
    println!(
        "  MsvAvDnsDomainName:  {}",
        if dns_domain.is_empty() {
            "(none)"
        } else {
            dns_domain
        }
    );
    println!(
        "  MsvAvTargetName (SPN) for the service name {service}@{host}: {service}/{host} — clients must target \
         exactly this name"
    );
    if !host.contains('.') {
        println!("  note: the host name has no domain part; clients that target a fully qualified name will fail the SPN check");
    }
}

pub fn run(args: &CheckArgs) -> Result<ExitCode, String> {
    let mut r = Report {
        root: args.root.clone(),
        ..Report::default()
    };
    let libdir = args.libdir.clone().unwrap_or_else(mechconf::default_libdir);
    let gss_dir = match (&args.gss_dir, &args.root) {
        (Some(d), _) => d.clone(),
        (None, Some(root)) => root.join("etc/gss"),
        (None, None) => PathBuf::from("/etc/gss"),
    };
    // Like MIT, GSS_MECH_CONFIG replaces the files; a staging root is about the files, so it ignores it.
    let env_config = std::env::var_os("GSS_MECH_CONFIG")
        .filter(|v| !v.is_empty() && args.root.is_none())
        .map(PathBuf::from);
    let cfg = mechconf::read(env_config.as_deref(), &gss_dir, &libdir);
    mech_section(&mut r, &cfg, &gss_dir);
    spnego_section(&mut r, &cfg);
    library_section(&mut r, &cfg);

    let env = Config::from_env(Some(hostname()));
    println!("Plugin configuration (environment of this shell)");
    println!("  LM_COMPAT_LEVEL: {}", env.lm_compat_level);
    for w in &env.warnings {
        r.problem(w.clone(), "correct or unset the variable".into());
    }
    match &env.user_file {
        Some(p) => user_file_section(&mut r, "NTLM_USER_FILE", p),
        None => println!("  NTLM_USER_FILE: not set (acceptors know no users; initiators need a login or a credential)"),
    }
    match login_file_path(|k| std::env::var(k).ok()) {
        Some(p) if p.exists() => user_file_section(&mut r, "login file", &p),
        Some(p) => println!("  login file: {} (not logged in)", p.display()),
        None => println!(
            "  login file: none (neither GSS_NEGOTIATE_LOGIN_FILE nor XDG_RUNTIME_DIR is set)"
        ),
    }
    acceptor_section(&mut r, &env, &args.service);

    if r.problems.is_empty() {
        println!("No problem found.");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{} problem(s) found.", r.problems.len());
        Ok(ExitCode::FAILURE)
    }
}
