//! Reading MIT krb5's mechanism configuration the way its mechglue does (krb5 1.20,
//! `src/lib/gssapi/mechglue/g_initialize.c`, `loadConfigFiles` / `loadConfigFile`; ARCHITECTURE.md §1):
//! - `$GSS_MECH_CONFIG` alone when set; otherwise `<dir>/mech`, then `<dir>/mech.d/*.conf` in sorted order
//!   (glob(3) in the C locale: byte order);
//! - a line starting with `#` is a comment; the fields are `name OID library [kernel-module] [options] <type>`;
//!   a line without an OID or a library is skipped, as is one whose OID does not parse;
//! - a relative library path is taken under `$libdir/gss/`;
//! - within one read, the last line naming an OID sets its library (the first line's name is kept).

use gss_negotiate::spnego::Oid;
use std::path::{Path, PathBuf};

/// One usable configuration line.
#[derive(Clone, Debug)]
pub struct MechLine {
    pub file: PathBuf,
    pub line: usize,
    pub name: String,
    pub oid: String,
    /// The library path as written.
    pub library: String,
    /// The path the mechglue opens (relative paths resolved under `$libdir/gss/`).
    pub resolved: PathBuf,
    /// `<interposer>` or another `<...>` type, if any.
    pub mech_type: Option<String>,
}

/// A skipped line and why.
#[derive(Clone, Debug)]
pub struct Skipped {
    pub file: PathBuf,
    pub line: usize,
    pub why: String,
}

/// The result for one OID: the line whose library MIT uses, and the earlier lines it overrides.
#[derive(Clone, Debug)]
pub struct MechChoice {
    pub oid: String,
    /// The name MIT shows (that of the first line for the OID).
    pub name: String,
    pub winner: MechLine,
    pub shadowed: Vec<MechLine>,
}

#[derive(Clone, Debug, Default)]
pub struct MechConfig {
    /// The files read, in order (missing ones are not listed).
    pub files: Vec<PathBuf>,
    /// `*` entries of mech.d that MIT ignores because they do not end in `.conf`.
    pub ignored_files: Vec<PathBuf>,
    pub from_env: bool,
    pub choices: Vec<MechChoice>,
    pub skipped: Vec<Skipped>,
}

/// Accepts the dotted form and MIT's `{ 1 2 3 }` form.
fn parse_oid(s: &str) -> Option<String> {
    let dotted = if let Some(inner) = s.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
        inner.split_whitespace().collect::<Vec<_>>().join(".")
    } else {
        s.to_string()
    };
    Oid::from_dotted(&dotted).ok().map(|o| o.to_dotted())
}

/// Parses one file's lines, MIT style (see the module documentation).
pub fn parse_lines(file: &Path, text: &str, libdir: &Path) -> (Vec<MechLine>, Vec<Skipped>) {
    let mut lines = Vec::new();
    let mut skipped = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        if raw.starts_with('#') {
            continue;
        }
        // The name runs to the first white space (it may be empty when the line starts with a blank).
        let (name, rest) = match raw.find(char::is_whitespace) {
            Some(at) => (&raw[..at], &raw[at..]),
            None => (raw, ""),
        };
        let mut words = rest.split_whitespace();
        let (Some(oid_text), lib) = (words.next(), words.next()) else {
            if !raw.trim().is_empty() {
                skipped.push(Skipped {
                    file: file.into(),
                    line: n,
                    why: "no OID".into(),
                });
            }
            continue;
        };
        let Some(oid) = parse_oid(oid_text) else {
            skipped.push(Skipped {
                file: file.into(),
                line: n,
                why: format!("OID {oid_text:?} does not parse"),
            });
            continue;
        };
        let Some(library) = lib else {
            skipped.push(Skipped {
                file: file.into(),
                line: n,
                why: "no library path".into(),
            });
            continue;
        };
        let resolved = if library.starts_with('/') {
            PathBuf::from(library)
        } else {
            libdir.join("gss").join(library)
        };
        let mech_type = rest
            .find('<')
            .and_then(|a| rest[a..].find('>').map(|b| rest[a + 1..a + b].to_string()));
        lines.push(MechLine {
            file: file.into(),
            line: n,
            name: name.to_string(),
            oid,
            library: library.to_string(),
            resolved,
            mech_type,
        });
    }
    (lines, skipped)
}

/// Reads the configuration: `env_config` (the value of `GSS_MECH_CONFIG`) alone, or `<dir>/mech` and
/// `<dir>/mech.d/*.conf`.
pub fn read(env_config: Option<&Path>, dir: &Path, libdir: &Path) -> MechConfig {
    let mut cfg = MechConfig::default();
    let mut paths = Vec::new();
    if let Some(p) = env_config {
        cfg.from_env = true;
        paths.push(p.to_path_buf());
    } else {
        paths.push(dir.join("mech"));
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir.join("mech.d"))
            .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        entries.sort_by(|a, b| {
            a.as_os_str()
                .as_encoded_bytes()
                .cmp(b.as_os_str().as_encoded_bytes())
        });
        for p in entries {
            let is_conf = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".conf"));
            if is_conf {
                paths.push(p);
            } else {
                cfg.ignored_files.push(p);
            }
        }
    }
    let mut all = Vec::new();
    for p in paths {
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        let (lines, skipped) = parse_lines(&p, &text, libdir);
        cfg.files.push(p);
        all.extend(lines);
        cfg.skipped.extend(skipped);
    }
    for l in all {
        match cfg.choices.iter_mut().find(|c| c.oid == l.oid) {
            Some(c) => {
                let old = std::mem::replace(&mut c.winner, l);
                c.shadowed.push(old);
            }
            None => cfg.choices.push(MechChoice {
                oid: l.oid.clone(),
                name: l.name.clone(),
                winner: l,
                shadowed: Vec::new(),
            }),
        }
    }
    cfg
}

/// The directory MIT was built with as `$libdir` (the one holding `libgssapi_krb5.so.2`).
pub fn default_libdir() -> PathBuf {
    let multiarch = match std::env::consts::ARCH {
        "x86_64" => "x86_64-linux-gnu",
        "aarch64" => "aarch64-linux-gnu",
        "arm" => "arm-linux-gnueabihf",
        "x86" => "i386-linux-gnu",
        "powerpc64" => "powerpc64le-linux-gnu",
        "s390x" => "s390x-linux-gnu",
        "riscv64" => "riscv64-linux-gnu",
        _ => "",
    };
    [
        format!("/usr/lib/{multiarch}"),
        "/usr/lib64".into(),
        "/usr/lib".into(),
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|d| d.join("libgssapi_krb5.so.2").exists())
    .unwrap_or_else(|| PathBuf::from(format!("/usr/lib/{multiarch}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_like_mit() {
        let text = "# comment\n\nntlm 1.3.6.1.4.1.311.2.2.10 /x/a.so\nbad notanoid /y.so\nrel 1.2.3 b.so [opt] <interposer>\nnolib 1.2.4\n";
        let (lines, skipped) = parse_lines(Path::new("f"), text, Path::new("/L"));
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].resolved, PathBuf::from("/x/a.so"));
        assert_eq!(lines[1].oid, "1.2.3");
        assert_eq!(lines[1].resolved, PathBuf::from("/L/gss/b.so"));
        assert_eq!(lines[1].mech_type.as_deref(), Some("interposer"));
        assert_eq!(skipped.len(), 2);
        assert_eq!((skipped[0].line, skipped[1].line), (4, 6));
    }
}
