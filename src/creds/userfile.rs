//! The `NTLM_USER_FILE` credential store (the formats of gss-ntlmssp and Heimdal, ARCHITECTURE.md §5).
//!
//! Each line is either `DOMAIN:USER:PASSWORD` (Heimdal; an empty DOMAIN means none) or smbpasswd-style
//! `[DOMAIN\]USER:UID:LMHASH:NTHASH[:...]` (Samba; fields after NTHASH ignored; an LM hash of `X`s or `*`s means
//! none). `#` starts a comment line, blank lines are skipped. A malformed line is reported with its number and
//! skipped; the other lines stay usable. Lookup by (user, domain) is case-insensitive: an entry for the asked
//! domain wins over a domainless entry, which matches any domain; a query without a domain takes the user's
//! first entry; with no user given, the first entry is the default credential. A lookup reports the entry's
//! own domain — none for a domainless entry — so a name built from it claims no domain the file did not name.
//!
//! The file is parsed once into an index and re-read only when its (device, inode, size, mtime) changes, or while
//! its mtime is too recent to tell a same-size rewrite apart; a read that overlapped a rewrite is retried.
//! Readers share an `Arc` snapshot swapped under an `RwLock`. A file writable by others is refused.
#![forbid(unsafe_code)]

use crate::creds::{nt_hash_of, CredentialLookup, LookupFailure, UserSecrets};
use crate::ntlm::secret::{Key16, LmHash, NtHash, Password};
use crate::status::{GssError, Minor, GSS_S_NO_CRED};
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use zeroize::Zeroizing;

/// One usable line of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserEntry {
    /// The account name as written.
    pub user: String,
    /// The domain, if the line gave one.
    pub domain: Option<String>,
    /// NTOWFv1 of the password (MS-NLMP §3.3.1).
    pub nt_hash: NtHash,
    /// LMOWFv1, when the line carried one (smbpasswd form only).
    pub lm_hash: Option<LmHash>,
    /// The 1-based line number (for messages).
    pub line: usize,
}

/// A line that could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    /// The 1-based line number.
    pub line: usize,
    /// What is wrong (never the secret itself).
    pub message: String,
}

/// A parsed file: its entries in file order, an index by upper-cased user name, and the skipped lines.
#[derive(Clone, Debug, Default)]
pub struct ParsedUserFile {
    entries: Vec<UserEntry>,
    by_user: HashMap<String, Vec<usize>>,
    /// Lines that were skipped, with the reason.
    pub errors: Vec<LineError>,
}

fn fold(s: &str) -> String {
    s.to_uppercase()
}

/// Parses 32 hex digits into a 16-byte key.
pub fn parse_hex_key(hex: &str) -> Option<Key16> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let s = core::str::from_utf8(pair).ok()?;
        *o = u8::from_str_radix(s, 16).ok()?;
    }
    Some(Key16::new(out))
}

/// A usable line: user, domain, NT hash, LM hash.
type LineEntry = (String, Option<String>, NtHash, Option<LmHash>);

fn parse_line(line: &str) -> Result<Option<LineEntry>, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() || line.trim_start().starts_with('#') {
        return Ok(None);
    }
    let fields: Vec<&str> = line.split(':').collect();
    match fields.as_slice() {
        [dom, user, password] => {
            if user.is_empty() {
                return Err("empty user name".into());
            }
            let password = Password::new(*password);
            Ok(Some((
                user.to_string(),
                (!dom.is_empty()).then(|| dom.to_string()),
                nt_hash_of(&password),
                Some(crate::ntlm::crypto::lmowfv1(&password)),
            )))
        }
        [name, _uid, lm, nt, ..] => {
            let (domain, user) = match name.split_once('\\') {
                Some((d, u)) => ((!d.is_empty()).then(|| d.to_string()), u.to_string()),
                None => (None, name.to_string()),
            };
            if user.is_empty() {
                return Err("empty user name".into());
            }
            let nt = parse_hex_key(nt).ok_or("NT hash is not 32 hex digits")?;
            let no_lm = lm.is_empty() || lm.bytes().all(|b| b == b'X' || b == b'*');
            let lm = if no_lm {
                None
            } else {
                Some(parse_hex_key(lm).ok_or("LM hash is not 32 hex digits")?)
            };
            Ok(Some((user, domain, nt, lm)))
        }
        _ => Err("expected DOMAIN:USER:PASSWORD or USER:UID:LMHASH:NTHASH:...".into()),
    }
}

impl ParsedUserFile {
    /// Parses the whole text; never fails as a whole.
    pub fn parse(text: &str) -> ParsedUserFile {
        let mut out = ParsedUserFile::default();
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            match parse_line(line) {
                Ok(None) => {}
                Ok(Some((user, domain, nt_hash, lm_hash))) => {
                    out.by_user
                        .entry(fold(&user))
                        .or_default()
                        .push(out.entries.len());
                    out.entries.push(UserEntry {
                        user,
                        domain,
                        nt_hash,
                        lm_hash,
                        line: line_no,
                    });
                }
                Err(message) => out.errors.push(LineError {
                    line: line_no,
                    message,
                }),
            }
        }
        out
    }

    /// The entries in file order.
    pub fn entries(&self) -> &[UserEntry] {
        &self.entries
    }

    /// The first entry (the default credential).
    pub fn first(&self) -> Option<&UserEntry> {
        self.entries.first()
    }

    /// The entry for `user` in `domain` (names compare case-insensitively).
    ///
    /// With a domain: the first entry of that domain, else the first entry without a domain — an entry for the
    /// client's domain always wins over a domainless one, wherever it stands in the file, and an entry of
    /// another domain never matches. Without a domain (or an empty one): the first entry for the user, in
    /// file order. The caller reports the entry's own domain (none for a domainless entry), never the domain
    /// it asked for: only the file vouches for a domain.
    pub fn find(&self, user: &str, domain: Option<&str>) -> Option<&UserEntry> {
        let mut candidates = self
            .by_user
            .get(&fold(user))?
            .iter()
            .filter_map(|&i| self.entries.get(i));
        let Some(asked) = domain.filter(|d| !d.is_empty()).map(fold) else {
            return candidates.next();
        };
        let mut domainless = None;
        for e in candidates {
            match &e.domain {
                Some(d) if fold(d) == asked => return Some(e),
                None if domainless.is_none() => domainless = Some(e),
                _ => {}
            }
        }
        domainless
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileStamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
}

impl FileStamp {
    fn of(meta: &std::fs::Metadata) -> FileStamp {
        FileStamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
        }
    }

    /// Whether the file was modified less than [`RACY_WINDOW`] ago (or in the future).
    fn is_recent(&self) -> bool {
        let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) else {
            return true;
        };
        let now_ns = i128::from(now.as_secs()) * 1_000_000_000 + i128::from(now.subsec_nanos());
        let mtime_ns = i128::from(self.mtime) * 1_000_000_000 + i128::from(self.mtime_nsec);
        now_ns - mtime_ns < i128::from(RACY_WINDOW_NS)
    }
}

/// How recent a modification must be for its snapshot to be re-read on the next lookup (2 s: coarser than
/// any file system timestamp granularity Linux uses, and a re-read of a small file costs little).
pub const RACY_WINDOW: std::time::Duration = std::time::Duration::from_nanos(RACY_WINDOW_NS as u64);
const RACY_WINDOW_NS: i64 = 2_000_000_000;

/// The largest user file read (16 MiB: some 200,000 lines); a larger one is refused.
pub const MAX_FILE_SIZE: usize = 16 << 20;

/// Reads the whole file into a buffer that is wiped when freed — also each smaller buffer it outgrew (a
/// `read_to_string` would free its outgrown buffers, password lines included, unwiped). `hint` is the size
/// `fstat` gave; the buffer starts one byte larger so that reading the whole file needs no growth.
fn read_wiped(file: &mut std::fs::File, hint: usize) -> std::io::Result<Zeroizing<Vec<u8>>> {
    use std::io::Read;
    let mut buf = Zeroizing::new(Vec::with_capacity(
        hint.min(MAX_FILE_SIZE).saturating_add(1),
    ));
    loop {
        if buf.len() > MAX_FILE_SIZE {
            return Err(std::io::Error::other(format!(
                "larger than {MAX_FILE_SIZE} bytes"
            )));
        }
        if buf.len() == buf.capacity() {
            let mut bigger = Zeroizing::new(Vec::with_capacity(
                buf.capacity().saturating_mul(2).max(4096),
            ));
            bigger.extend_from_slice(&buf);
            buf = bigger; // the outgrown buffer is wiped as it drops
        }
        let filled = buf.len();
        let capacity = buf.capacity();
        buf.resize(capacity, 0); // within the capacity: no reallocation
        let got = buf
            .get_mut(filled..)
            .map_or(Ok(0), |spare| file.read(spare));
        match got {
            Ok(0) => {
                buf.truncate(filled);
                return Ok(buf);
            }
            Ok(n) => buf.truncate(filled + n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => buf.truncate(filled),
            Err(e) => return Err(e),
        }
    }
}

/// How many times a read that raced with a writer is retried before giving up with `GSS_S_NO_CRED`.
pub const READ_ATTEMPTS: usize = 5;

fn check_mode(path: &Path, meta: &std::fs::Metadata) -> Result<(), GssError> {
    if meta.mode() & 0o002 != 0 {
        return Err(GssError::with_detail(
            GSS_S_NO_CRED,
            Minor::UserFileInsecure,
            format!("{} (mode {:04o})", path.display(), meta.mode() & 0o7777),
        ));
    }
    Ok(())
}

struct Snapshot {
    stamp: FileStamp,
    /// False when the file was modified too recently for (size, mtime) to tell a later rewrite apart.
    trusted: bool,
    parsed: Arc<ParsedUserFile>,
}

/// A user file on disk, re-read when it changes. Cheap to share (`Arc`).
pub struct UserFileStore {
    path: PathBuf,
    current: RwLock<Option<Snapshot>>,
    /// The debug log its users configured (`GSS_NEGOTIATE_DEBUG`): skipped lines are reported there.
    log: Mutex<Option<PathBuf>>,
}

fn file_error(path: &Path, what: impl core::fmt::Display) -> GssError {
    GssError::with_detail(
        GSS_S_NO_CRED,
        Minor::UserFile,
        format!("user file {} cannot be read: {what}", path.display()),
    )
}

/// How many skipped lines a status text lists (the debug log has them all).
const LINES_IN_STATUS: usize = 5;

/// `line 2 (why), line 4 (why)`, at most [`LINES_IN_STATUS`] of them, then how many more.
fn list_lines(errors: &[LineError]) -> String {
    let mut out: Vec<String> = errors
        .iter()
        .take(LINES_IN_STATUS)
        .map(|e| format!("line {} ({})", e.line, e.message))
        .collect();
    if errors.len() > LINES_IN_STATUS {
        out.push(format!("{} more", errors.len() - LINES_IN_STATUS));
    }
    out.join(", ")
}

/// A store error as an operator sentence, without the `NTLM: ` prefix of the status text.
fn operator_text(e: &GssError) -> String {
    let text = e.to_string();
    text.strip_prefix("NTLM: ").unwrap_or(&text).to_string()
}

impl UserFileStore {
    /// A store for `path`; nothing is read until the first lookup.
    pub fn new(path: impl Into<PathBuf>) -> UserFileStore {
        UserFileStore {
            path: path.into(),
            current: RwLock::new(None),
            log: Mutex::new(None),
        }
    }

    /// Sets the debug log where lines skipped at the next (re-)read are reported (`None`: nowhere).
    pub fn set_debug_log(&self, log: Option<&Path>) {
        let mut guard = match self.log.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if guard.as_deref() != log {
            *guard = log.map(Path::to_path_buf);
        }
    }

    /// Reports each skipped line of a newly read file in the debug log.
    fn log_skipped(&self, parsed: &ParsedUserFile) {
        let guard = match self.log.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        for e in &parsed.errors {
            crate::debug::event(
                guard.as_deref(),
                format_args!(
                    "user file {} line {} skipped: {}",
                    self.path.display(),
                    e.line,
                    e.message
                ),
            );
        }
    }

    /// Why a file without any usable entry is unusable.
    fn no_entries(&self, parsed: &ParsedUserFile) -> String {
        if parsed.errors.is_empty() {
            format!("user file {} has no entries", self.path.display())
        } else {
            format!(
                "user file {} has no usable entry; skipped {}",
                self.path.display(),
                list_lines(&parsed.errors)
            )
        }
    }

    /// What to add to "unknown user" when the file skipped lines (the user may be on one of them).
    fn skipped_note(&self, parsed: &ParsedUserFile) -> Option<String> {
        (!parsed.errors.is_empty()).then(|| {
            format!(
                "user file {} skipped malformed {}",
                self.path.display(),
                list_lines(&parsed.errors)
            )
        })
    }

    /// The shared store for `path` (one per path and process, so the file is parsed once).
    pub fn shared(path: &Path) -> Arc<UserFileStore> {
        static STORES: OnceLock<Mutex<HashMap<PathBuf, Arc<UserFileStore>>>> = OnceLock::new();
        let map = STORES.get_or_init(Default::default);
        let mut guard = match map.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard
            .entry(path.to_path_buf())
            .or_insert_with(|| Arc::new(UserFileStore::new(path)))
            .clone()
    }

    /// The path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The parsed file, re-reading it when it changed since the last call.
    ///
    /// The file is read through one descriptor between two `fstat`s: a read is used only when neither the
    /// stamp nor the length changed meanwhile (an in-place rewrite was under way otherwise; up to
    /// [`READ_ATTEMPTS`] tries, then a clean `GSS_S_NO_CRED`). A snapshot whose mtime is less than
    /// [`RACY_WINDOW`] old is used but not trusted for the next call: a rewrite of the same size within the
    /// same timestamp tick leaves (size, mtime) unchanged, so only a re-read can see it (git's "racy clean").
    pub fn snapshot(&self) -> Result<Arc<ParsedUserFile>, GssError> {
        let meta = std::fs::metadata(&self.path).map_err(|e| file_error(&self.path, e))?;
        check_mode(&self.path, &meta)?;
        let stamp = FileStamp::of(&meta);
        if let Ok(guard) = self.current.read() {
            if let Some(s) = guard.as_ref().filter(|s| s.trusted && s.stamp == stamp) {
                return Ok(s.parsed.clone());
            }
        }
        let (stamp, bytes) = self.read_consistent()?;
        let text = core::str::from_utf8(&bytes)
            .map_err(|e| file_error(&self.path, format_args!("not UTF-8 ({e})")))?;
        let parsed = Arc::new(ParsedUserFile::parse(text));
        let mut guard = match self.current.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Report skipped lines once per version (a recent file is re-read on every lookup).
        if guard
            .as_ref()
            .map_or(true, |old| old.parsed.errors != parsed.errors)
        {
            self.log_skipped(&parsed);
        }
        *guard = Some(Snapshot {
            stamp,
            trusted: !stamp.is_recent(),
            parsed: parsed.clone(),
        });
        Ok(parsed)
    }

    /// Reads the whole file with its stamp, retrying while it changes under the read.
    fn read_consistent(&self) -> Result<(FileStamp, Zeroizing<Vec<u8>>), GssError> {
        for _ in 0..READ_ATTEMPTS {
            let mut file =
                std::fs::File::open(&self.path).map_err(|e| file_error(&self.path, e))?;
            let before = file.metadata().map_err(|e| file_error(&self.path, e))?;
            check_mode(&self.path, &before)?;
            let hint = usize::try_from(before.size()).unwrap_or(MAX_FILE_SIZE);
            let text = read_wiped(&mut file, hint).map_err(|e| file_error(&self.path, e))?;
            let after = file.metadata().map_err(|e| file_error(&self.path, e))?;
            let stamp = FileStamp::of(&before);
            if stamp == FileStamp::of(&after) && u64::try_from(text.len()).ok() == Some(stamp.size)
            {
                return Ok((stamp, text));
            }
        }
        Err(file_error(&self.path, "changed while being read"))
    }

    /// Looks up `user` (or the first entry when `user` is `None`), reporting why nothing was found.
    pub fn find(&self, user: Option<&str>, domain: Option<&str>) -> Result<UserSecrets, GssError> {
        let parsed = self.snapshot()?;
        let entry = match user {
            Some(u) => parsed.find(u, domain),
            None => parsed.first(),
        };
        let entry = entry.ok_or_else(|| {
            if parsed.entries().is_empty() {
                return GssError::with_detail(
                    GSS_S_NO_CRED,
                    Minor::UserFile,
                    self.no_entries(&parsed),
                );
            }
            let who = match (user, domain) {
                (Some(u), Some(d)) => format!("{d}\\{u}"),
                (Some(u), None) => u.to_string(),
                (None, _) => "no usable entry".to_string(),
            };
            let note = self
                .skipped_note(&parsed)
                .map(|n| format!("; {n}"))
                .unwrap_or_default();
            GssError::with_detail(
                GSS_S_NO_CRED,
                Minor::UnknownUser,
                format!("{who} in {}{note}", self.path.display()),
            )
        })?;
        Ok(secrets_of(entry))
    }
}

impl CredentialLookup for UserFileStore {
    fn lookup(&self, user: &str, domain: &str) -> Option<UserSecrets> {
        self.find_user(user, domain).ok()
    }

    /// A missing, unreadable, insecure or empty file is `Unavailable` with the reason; an unknown user is
    /// `NotFound`, noting the skipped lines (the user may be on one of them).
    fn find_user(&self, user: &str, domain: &str) -> Result<UserSecrets, LookupFailure> {
        let parsed = self
            .snapshot()
            .map_err(|e| LookupFailure::Unavailable(operator_text(&e)))?;
        if parsed.entries().is_empty() {
            return Err(LookupFailure::Unavailable(self.no_entries(&parsed)));
        }
        parsed
            .find(user, (!domain.is_empty()).then_some(domain))
            .map(secrets_of)
            .ok_or_else(|| LookupFailure::NotFound {
                note: self.skipped_note(&parsed),
            })
    }
}

fn secrets_of(entry: &UserEntry) -> UserSecrets {
    UserSecrets {
        user: entry.user.clone(),
        // The entry's own domain: a domainless entry vouches for no domain, whatever was asked.
        domain: entry.domain.clone().unwrap_or_default(),
        nt_hash: entry.nt_hash.clone(),
        lm_hash: entry.lm_hash.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    fn nt(p: &str) -> NtHash {
        nt_hash_of(&Password::new(p))
    }

    const SAMPLE: &str = "\
# comment line
CORP:alice:Passw0rd

:bob:secret
OTHER\\carol:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:8846F7EAEE8FB117AD06BDD830B7586C:[U          ]:LCT-00000000:
dave:1001:E52CAC67419A9A224A3B108F3FA6CB6D:8846F7EAEE8FB117AD06BDD830B7586C:[U ]:
broken-line-without-colons
eve:1002:XX:nothex:
";

    #[test]
    fn both_line_formats_parse_and_malformed_lines_are_reported_with_numbers() {
        let p = ParsedUserFile::parse(SAMPLE);
        let users: Vec<&str> = p.entries().iter().map(|e| e.user.as_str()).collect();
        assert_eq!(users, ["alice", "bob", "carol", "dave"]);
        assert_eq!(p.entries()[0].domain.as_deref(), Some("CORP"));
        assert_eq!(p.entries()[0].nt_hash, nt("Passw0rd"));
        assert_eq!(p.entries()[1].domain, None);
        assert_eq!(p.entries()[2].domain.as_deref(), Some("OTHER"));
        // 8846F7EAEE8FB117AD06BDD830B7586C is NTOWFv1("password").
        assert_eq!(p.entries()[2].nt_hash, nt("password"));
        assert_eq!(p.entries()[2].lm_hash, None);
        assert!(p.entries()[3].lm_hash.is_some());
        let lines: Vec<usize> = p.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [7, 8]);
        assert!(p.errors[1].message.contains("NT hash"));
    }

    #[test]
    fn lookup_is_case_insensitive_and_domain_optional() {
        let p = ParsedUserFile::parse(SAMPLE);
        assert_eq!(p.find("ALICE", Some("corp")).map(|e| e.line), Some(2));
        assert_eq!(p.find("alice", None).map(|e| e.line), Some(2));
        assert!(p.find("alice", Some("OTHER")).is_none());
        assert_eq!(p.find("bob", Some("ANY")).map(|e| e.line), Some(4));
        assert!(p.find("mallory", None).is_none());
        assert_eq!(p.first().map(|e| e.user.as_str()), Some("alice"));
    }

    #[test]
    fn first_matching_entry_wins() {
        let p = ParsedUserFile::parse("A:u:one\nB:u:two\n:u:three\n");
        assert_eq!(p.find("u", None).map(|e| e.line), Some(1));
        assert_eq!(p.find("u", Some("b")).map(|e| e.line), Some(2));
        assert_eq!(p.find("u", Some("C")).map(|e| e.line), Some(3));
    }

    #[test]
    fn an_entry_for_the_asked_domain_wins_over_an_earlier_domainless_one() {
        let p = ParsedUserFile::parse(":bob:secret\nCORP:bob:corp-pw\n");
        assert_eq!(p.find("bob", Some("corp")).map(|e| e.line), Some(2));
        assert_eq!(p.find("BOB", Some("ADMINS")).map(|e| e.line), Some(1));
        assert_eq!(p.find("bob", None).map(|e| e.line), Some(1));
        let only_domain = ParsedUserFile::parse("CORP:bob:corp-pw\n");
        assert!(only_domain.find("bob", Some("ADMINS")).is_none());
    }

    #[test]
    fn a_domainless_entry_reports_no_domain() {
        let path = temp_file("nodomain", ":bob:secret\n");
        let s = UserFileStore::new(&path)
            .find(Some("bob"), Some("ADMINS"))
            .unwrap();
        assert_eq!((s.user.as_str(), s.domain.as_str()), ("bob", ""));
    }

    #[test]
    fn hex_keys_need_32_digits() {
        assert!(parse_hex_key("8846f7eaee8fb117ad06bdd830b7586c").is_some());
        assert!(parse_hex_key("8846f7eaee8fb117ad06bdd830b7586").is_none());
        assert!(parse_hex_key("zz46f7eaee8fb117ad06bdd830b7586c").is_none());
        assert!(parse_hex_key("é846f7eaee8fb117ad06bdd830b7586").is_none());
    }

    fn temp_file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gssneg-uf-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("users");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    #[test]
    fn store_rereads_the_file_when_it_changes() {
        let path = temp_file("reload", "D:alice:one\n");
        set_mtime_ago(&path, 60);
        let store = UserFileStore::new(&path);
        assert_eq!(store.find(Some("alice"), None).unwrap().nt_hash, nt("one"));
        let first = store.snapshot().unwrap();
        assert!(
            Arc::ptr_eq(&first, &store.snapshot().unwrap()),
            "unchanged file must not be re-parsed"
        );
        std::fs::write(&path, "D:alice:two-longer\nD:bob:x\n").unwrap();
        assert_eq!(
            store.find(Some("alice"), None).unwrap().nt_hash,
            nt("two-longer")
        );
        assert!(store.find(Some("bob"), Some("d")).is_ok());
    }

    fn set_mtime_ago(path: &Path, secs: u64) {
        let when = std::time::SystemTime::now() - std::time::Duration::from_secs(secs);
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }

    #[test]
    fn same_size_rewrite_in_the_same_timestamp_tick_is_seen() {
        // A rewrite in place within one timestamp tick keeps (size, mtime): simulated by restoring the mtime.
        let path = temp_file("racy", "D:alice:one\n");
        let when = std::time::SystemTime::now();
        let set = |p: &Path| {
            std::fs::File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(when)
                .unwrap()
        };
        set(&path);
        let store = UserFileStore::new(&path);
        assert_eq!(store.find(Some("alice"), None).unwrap().nt_hash, nt("one"));
        std::fs::write(&path, "D:alice:two\n").unwrap();
        set(&path);
        assert_eq!(store.find(Some("alice"), None).unwrap().nt_hash, nt("two"));
    }

    #[test]
    fn a_recent_file_is_reread_and_an_old_one_is_parsed_once() {
        let path = temp_file("recent", "D:alice:one\n");
        let store = UserFileStore::new(&path);
        let a = store.snapshot().unwrap();
        assert!(!Arc::ptr_eq(&a, &store.snapshot().unwrap()));
        set_mtime_ago(&path, 60);
        let b = store.snapshot().unwrap();
        assert!(Arc::ptr_eq(&b, &store.snapshot().unwrap()));
    }

    #[test]
    fn store_refuses_world_writable_file() {
        let path = temp_file("perm", "D:alice:one\n");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o646)).unwrap();
        let err = UserFileStore::new(&path).find(None, None).unwrap_err();
        assert_eq!(err.minor, Minor::UserFileInsecure);
    }

    #[test]
    fn store_reports_missing_file_and_unknown_user() {
        let err = UserFileStore::new("/nonexistent/ntlm-users")
            .find(None, None)
            .unwrap_err();
        assert_eq!(err.minor, Minor::UserFile);
        let path = temp_file("unknown", "D:alice:one\n");
        let err = UserFileStore::new(&path)
            .find(Some("mallory"), None)
            .unwrap_err();
        assert_eq!(err.minor, Minor::UnknownUser);
        assert!(err.detail.unwrap().contains("mallory"));
    }

    #[test]
    fn concurrent_lookups_during_rewrites_always_see_a_whole_file() {
        let path = temp_file("concurrent", "D:alice:v0\n");
        let store = Arc::new(UserFileStore::new(&path));
        let valid: Vec<NtHash> = (0..20).map(|i| nt(&format!("v{i}"))).collect();
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                let valid = valid.clone();
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        // A torn read of a half-written file may miss the user; what it finds must be real.
                        if let Ok(s) = store.find(Some("alice"), None) {
                            assert!(valid.contains(&s.nt_hash));
                        }
                    }
                })
            })
            .collect();
        for i in 1..20 {
            let tmp = path.with_extension("tmp");
            let mut f = std::fs::File::create(&tmp).unwrap();
            writeln!(f, "D:alice:v{i}").unwrap();
            drop(f);
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).unwrap();
            std::fs::rename(&tmp, &path).unwrap();
        }
        for r in readers {
            r.join().unwrap();
        }
        assert_eq!(store.find(Some("alice"), None).unwrap().nt_hash, nt("v19"));
    }

    #[test]
    fn credential_lookup_trait_finds_users() {
        let path = temp_file("trait", "CORP:alice:pw\n");
        let store: Arc<dyn CredentialLookup> = UserFileStore::shared(&path);
        let s = store.lookup("Alice", "corp").unwrap();
        assert_eq!((s.user.as_str(), s.domain.as_str()), ("alice", "CORP"));
        assert!(store.lookup("alice", "OTHER").is_none());
    }
}
