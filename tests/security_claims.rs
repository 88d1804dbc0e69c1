//! SECURITY.md's claims and the tests behind them (issue 10, defect 10): the acceptor's SPN check
//! (MsvAvTargetName), the AUTHENTICATE that adds flags the CHALLENGE did not offer (`FlagsNotOffered`), and a
//! check that every test SECURITY.md cites exists — a `#[test] fn <name>` in `tests/` or `src/`, a fuzz target
//! in `fuzz/fuzz_targets/`, a file that exists.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gss_negotiate::ntlm::acceptor::{AcceptorConfig, AcceptorStart, CredentialLookup, UserSecrets};
use gss_negotiate::ntlm::context::Established;
use gss_negotiate::ntlm::crypto::{ntowfv1, ntowfv2, ntproofstr};
use gss_negotiate::ntlm::env::SystemEnvironment;
use gss_negotiate::ntlm::error::NtlmError;
use gss_negotiate::ntlm::flags::NegotiateFlags;
use gss_negotiate::ntlm::initiator::{
    InitiatorConfig, InitiatorCredential, InitiatorStart, Requested,
};
use gss_negotiate::ntlm::secret::Password;
use gss_negotiate::ntlm::wire::{
    split_ntlmv2_response, Authenticate, Challenge, NtlmV2ClientChallenge,
    MSV_AV_FLAG_UNVERIFIED_SPN, MSV_AV_TARGET_NAME,
};

const USER: &str = "alice";
const DOMAIN: &str = "TESTDOM";
const PASSWORD: &str = "Claims-Passw0rd";
const OURS: &str = "host/server.test";
const OTHER: &str = "host/evil.test";

struct Store(HashMap<String, UserSecrets>);

impl CredentialLookup for Store {
    fn lookup(&self, user: &str, _domain: &str) -> Option<UserSecrets> {
        self.0.get(&user.to_ascii_lowercase()).cloned()
    }
}

fn acceptor() -> AcceptorConfig {
    let secrets = UserSecrets {
        user: USER.into(),
        domain: DOMAIN.into(),
        nt_hash: ntowfv1(&Password::new(PASSWORD)),
        lm_hash: None,
    };
    let store = Store(HashMap::from([(USER.to_string(), secrets)]));
    let mut cfg = AcceptorConfig::new(Arc::new(store), Arc::new(SystemEnvironment));
    cfg.netbios_computer = "SERVER".into();
    cfg.netbios_domain = DOMAIN.into();
    cfg.target_spn = Some(OURS.into());
    cfg
}

fn initiator(target: &str, mic: bool, seal: bool) -> InitiatorConfig {
    let cred = InitiatorCredential::User {
        user: USER.into(),
        domain: DOMAIN.into(),
        nt_hash: ntowfv1(&Password::new(PASSWORD)),
        lm_hash: None,
    };
    let mut cfg = InitiatorConfig::new(cred, Arc::new(SystemEnvironment));
    cfg.target_spn = Some(target.into());
    cfg.mic = mic;
    cfg.requested = Requested {
        sign: true,
        seal,
        datagram: false,
        identify: false,
    };
    cfg
}

/// NEGOTIATE → CHALLENGE (changed by `relay` on its way to the client) → AUTHENTICATE (changed by `tamper`)
/// → the acceptor's verdict.
fn exchange(
    icfg: InitiatorConfig,
    relay: impl FnOnce(&mut Challenge),
    tamper: impl FnOnce(Vec<u8>, &Challenge) -> Vec<u8>,
) -> Result<Established, NtlmError> {
    let (wait, negotiate) = InitiatorStart::new(icfg).negotiate();
    let (acc, challenge) = AcceptorStart::new(acceptor()).challenge(&negotiate)?;
    let mut relayed = Challenge::decode(&challenge).expect("CHALLENGE");
    relay(&mut relayed);
    let (_client, auth) = wait
        .authenticate(&relayed.encode(), None)
        .expect("AUTHENTICATE");
    let auth = tamper(auth, &relayed);
    acc.finish(&auth, None)
}

/// A relay in the middle: the server's CHALLENGE reaches the client without its MsvAvTargetName, so the
/// client, which authenticates to `OTHER`, does not notice and names `OTHER` in its (NTProofStr-protected) blob.
fn strip_target_name(c: &mut Challenge) {
    if let Some(info) = c.target_info.as_mut() {
        info.remove(MSV_AV_TARGET_NAME);
    }
}

fn unchanged(auth: Vec<u8>, _: &Challenge) -> Vec<u8> {
    auth
}

#[test]
fn acceptor_refuses_an_authenticate_for_another_spn() {
    let err = exchange(initiator(OTHER, false, true), strip_target_name, unchanged).err();
    assert_eq!(
        err,
        Some(NtlmError::SpnMismatch {
            expected: OURS.into(),
            got: OTHER.into()
        })
    );
    // With a MIC the altered CHALLENGE is caught first; either way no context.
    let err = exchange(initiator(OTHER, true, true), strip_target_name, unchanged).err();
    assert_eq!(err, Some(NtlmError::MicMismatch));
    // The same exchange for our own SPN succeeds (the relay's change alone is not what is refused).
    assert!(exchange(initiator(OURS, false, true), strip_target_name, unchanged).is_ok());
}

/// Rewrites the client's NTLMv2 blob (MsvAvFlags, MsvAvTargetName) and recomputes the NTProofStr with the
/// password, as a client that marks its target name unverified would have sent it. Only for exchanges
/// without MIC and key exchange, whose keys follow from the NTProofStr alone.
fn with_target_name(unverified: bool) -> impl FnOnce(Vec<u8>, &Challenge) -> Vec<u8> {
    move |auth: Vec<u8>, challenge: &Challenge| {
        let mut a = Authenticate::decode(&auth).expect("AUTHENTICATE");
        let (_, blob) = split_ntlmv2_response(&a.nt_response).expect("NTLMv2");
        let mut blob = NtlmV2ClientChallenge::decode(blob).expect("blob");
        blob.av_pairs.set_string(MSV_AV_TARGET_NAME, OTHER);
        let flags = blob.av_pairs.flags().unwrap_or(0);
        blob.av_pairs.set_flags(if unverified {
            flags | MSV_AV_FLAG_UNVERIFIED_SPN
        } else {
            flags & !MSV_AV_FLAG_UNVERIFIED_SPN
        });
        let blob = blob.encode();
        let key = ntowfv2(&ntowfv1(&Password::new(PASSWORD)), USER, DOMAIN);
        let proof = ntproofstr(&key, &challenge.server_challenge, &blob);
        a.nt_response = [proof.as_slice(), &blob].concat();
        a.encode()
    }
}

#[test]
fn acceptor_accepts_a_target_name_marked_unverified() {
    let mut icfg = initiator(OURS, false, true);
    icfg.key_exchange = false;
    let ok = exchange(icfg.clone(), |_| {}, with_target_name(true));
    assert!(ok.is_ok(), "{:?}", ok.err());
    // The same rewrite without the flag is refused: the NTProofStr was recomputed correctly.
    let err = exchange(icfg, |_| {}, with_target_name(false)).err();
    assert!(
        matches!(err, Some(NtlmError::SpnMismatch { .. })),
        "{err:?}"
    );
}

/// Sets flag bits in the AUTHENTICATE's NegotiateFlags field (offset 60).
fn add_flags(bits: NegotiateFlags) -> impl FnOnce(Vec<u8>, &Challenge) -> Vec<u8> {
    move |mut auth: Vec<u8>, _: &Challenge| {
        let field = &mut auth[60..64];
        let value = u32::from_le_bytes(field.try_into().unwrap()) | bits.bits();
        field.copy_from_slice(&value.to_le_bytes());
        auth
    }
}

#[test]
fn acceptor_refuses_flags_the_challenge_did_not_offer() {
    for mic in [true, false] {
        // The client asks for signing only, so the CHALLENGE offers no sealing; the AUTHENTICATE adds it.
        let err = exchange(
            initiator(OURS, mic, false),
            |_| {},
            add_flags(NegotiateFlags::SEAL),
        )
        .err();
        assert_eq!(
            err,
            Some(NtlmError::FlagsNotOffered {
                flags: NegotiateFlags::SEAL.bits()
            }),
            "MIC {mic}"
        );
    }
    assert!(exchange(initiator(OURS, true, false), |_| {}, unchanged).is_ok());
}

// ---------------------------------------------------------------------------------------------------------
// Every test SECURITY.md cites exists.

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Names of the `#[test]` functions in `sources`: a `fn NAME(` preceded, over attribute and comment lines
/// only, by `#[test]`.
fn test_functions(sources: &[String]) -> Vec<String> {
    let mut names = Vec::new();
    for text in sources {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(rest) = line.trim_start().strip_prefix("fn ") else {
                continue;
            };
            let Some(name) = rest.split('(').next() else {
                continue;
            };
            let is_test = lines[..i]
                .iter()
                .rev()
                .map(|l| l.trim())
                .take_while(|l| l.starts_with("#[") || l.starts_with("//"))
                .any(|l| l == "#[test]");
            if is_test {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// What a document cites in backticks: test names (snake_case of four words or more, not a `gss_*` API
/// name), fuzz targets (`fuzz_*`) and files (`tests/…`, `src/…`, `fuzz/…`, `scripts/…`).
fn cited(doc: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut tests, mut fuzz, mut files) = (Vec::new(), Vec::new(), Vec::new());
    for (i, chunk) in doc.split('`').enumerate() {
        if i % 2 == 0 {
            continue;
        }
        let snake = !chunk.is_empty()
            && chunk
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && chunk.starts_with(|c: char| c.is_ascii_lowercase());
        if snake && chunk.starts_with("fuzz_") {
            fuzz.push(chunk.to_string());
        } else if snake && chunk.split('_').count() >= 4 && !chunk.starts_with("gss_") {
            tests.push(chunk.to_string());
        } else if ["tests/", "src/", "fuzz/", "scripts/"]
            .iter()
            .any(|p| chunk.starts_with(p))
            && !chunk.contains(' ')
            && !chunk.contains('<')
        {
            files.push(chunk.trim_end_matches('/').to_string());
        }
    }
    (tests, fuzz, files)
}

/// What a document cites that does not exist, as readable lines.
fn missing_citations(doc: &str, test_names: &[String], root: &Path) -> Vec<String> {
    let (tests, fuzz, files) = cited(doc);
    let mut missing = Vec::new();
    for t in tests {
        if !test_names.contains(&t) {
            missing.push(format!("test `{t}`: no #[test] fn {t} in tests/ or src/"));
        }
    }
    for f in fuzz {
        if !root
            .join("fuzz/fuzz_targets")
            .join(format!("{f}.rs"))
            .is_file()
        {
            missing.push(format!("fuzz target `{f}`: no fuzz/fuzz_targets/{f}.rs"));
        }
    }
    for f in files {
        if !root.join(&f).exists() {
            missing.push(format!("file `{f}` does not exist"));
        }
    }
    missing
}

fn all_test_names() -> Vec<String> {
    let mut files = Vec::new();
    rust_sources(&root().join("tests"), &mut files);
    rust_sources(&root().join("src"), &mut files);
    let sources: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("source"))
        .collect();
    test_functions(&sources)
}

#[test]
fn every_test_cited_in_security_md_exists() {
    let doc = std::fs::read_to_string(root().join("SECURITY.md")).expect("SECURITY.md");
    let names = all_test_names();
    assert!(
        names.len() > 100,
        "found only {} tests: the scan is broken",
        names.len()
    );
    let (tests, _, _) = cited(&doc);
    assert!(
        tests.len() >= 20,
        "SECURITY.md cites only {} tests?",
        tests.len()
    );
    let missing = missing_citations(&doc, &names, &root());
    assert!(
        missing.is_empty(),
        "SECURITY.md cites what does not exist:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_rule_in_security_md_names_a_test() {
    // Each row of "Enforced by default" has a test column that cites something checkable.
    let doc = std::fs::read_to_string(root().join("SECURITY.md")).expect("SECURITY.md");
    let table = doc
        .split_once("## Enforced by default")
        .expect("section")
        .1
        .split_once("\n## ")
        .map_or("", |(t, _)| t)
        .split_once("\n### ")
        .map_or("", |(t, _)| t);
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| rule") && !l.starts_with("| ---"))
        .collect();
    assert!(rows.len() >= 10, "{} rows", rows.len());
    for row in rows {
        let test_cell = row
            .trim_end_matches('|')
            .rsplit('|')
            .next()
            .unwrap_or_default();
        let (tests, fuzz, files) = cited(test_cell);
        assert!(
            !(tests.is_empty() && fuzz.is_empty() && files.is_empty()),
            "a rule without a test: {row}"
        );
    }
}

#[test]
fn the_citation_check_catches_a_test_that_does_not_exist() {
    let names = all_test_names();
    let fake = "| rule | where | `acceptor_refuses_what_no_test_checks_at_all`, `fuzz_nothing_here`, `tests/none.rs` |";
    let missing = missing_citations(fake, &names, &root());
    assert_eq!(missing.len(), 3, "{missing:?}");
    let real =
        "`acceptor_refuses_flags_the_challenge_did_not_offer` `fuzz_exchange` `tests/policy.rs`";
    assert!(missing_citations(real, &names, &root()).is_empty());
}
