//! The interop feature matrix of issue 4, run through `peers::run_pair` and judged: every feature of one pairing
//! (direction × mode) becomes a row of `interop-results.jsonl`; a failure is either ours (`fail`, the test fails)
//! or a documented defect of the peer (`peer-defect`, the row says which).
#![allow(dead_code)]

use serde_json::Value;

use super::peers::{self, record, run_pair, session, PairRun, Row, Side};

/// Which end is ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ours {
    Initiator,
    Acceptor,
}

impl Ours {
    pub fn direction(self) -> &'static str {
        match self {
            Ours::Initiator => "ours->peer",
            Ours::Acceptor => "peer->ours",
        }
    }
}

/// A known misbehaviour of a peer: when `feature` fails on the peer's end with `needle` in the detail.
pub struct Defect {
    pub feature_prefix: &'static str,
    /// The peer's role in which it shows (`None`: either).
    pub peer_role: Option<Ours>,
    pub needle: &'static str,
    pub note: &'static str,
}

/// Defects of gss-ntlmssp 1.2.0 seen through python-gssapi. `peer_role` is where *ours* sits when the defect shows,
/// i.e. `Some(Ours::Initiator)` means the peer is the acceptor.
pub const GSSNTLMSSP_DEFECTS: &[Defect] = &[
    Defect {
        feature_prefix: "acceptor_name",
        peer_role: Some(Ours::Initiator),
        needle: "\\x00",
        note: "gss-ntlmssp's gss_display_name includes a trailing NUL in the name",
    },
    Defect {
        feature_prefix: "wrap_",
        peer_role: None,
        needle: "GSS_S_CALL_INACCESSIBLE_READ",
        note: "gss-ntlmssp refuses to wrap/unwrap a zero-length message",
    },
    Defect {
        feature_prefix: "flags_datagram_handshake",
        peer_role: Some(Ours::Acceptor),
        needle: "acceptor",
        note: "gss-ntlmssp's datagram initiator starts the connectionless handshake with an empty token (raw) or a \
               NegTokenInit without a mechToken (SPNEGO), which MIT's mechglue cannot hand to a mechanism: \
               gss-ntlmssp with itself fails the same way in both modes (checked with tests/interop/peer.py)",
    },
    Defect {
        feature_prefix: "cb_different",
        peer_role: Some(Ours::Initiator),
        needle: "GSS_S_DEFECTIVE_TOKEN",
        note: "gss-ntlmssp rejects mismatched channel bindings with GSS_S_DEFECTIVE_TOKEN, not GSS_S_BAD_BINDINGS",
    },
];

/// The flags the application requests, as peer.py's FLAG_SETS names them: none, INTEG only, CONF|INTEG,
/// MUTUAL|REPLAY (MIT gss-client's default), SEQUENCE, and datagram (GSS_C_DATAGRAM_FLAG | CONF | INTEG).
pub const FLAG_SETS: &[&str] = &[
    "none",
    "integ",
    "conf_integ",
    "mutual_replay",
    "sequence",
    "datagram",
];

/// One session per flag set: handshake, wrap/MIC both ways, then a tampered MIC and a tampered wrap token in the
/// middle of each direction's stream followed by genuine ones (peer.py `flags_traffic`).
pub fn flag_sessions(sets: &[&str]) -> Vec<Value> {
    sets.iter()
        .map(|set| {
            let mut s = session(&format!("flags_{set}"), &["flags_traffic"]);
            s["flags"] = (*set).into();
            s
        })
        .collect()
}

/// The rows of the flag sessions.
const FLAG_FEATURES: &[&str] = &["handshake", "traffic", "midstream_c2s", "midstream_s2c"];

/// Defects of pyspnego 0.12's own NTLM. `peer_role` as for [`GSSNTLMSSP_DEFECTS`].
pub const PYSPNEGO_DEFECTS: &[Defect] = &[Defect {
    feature_prefix: "flags_datagram",
    peer_role: Some(Ours::Initiator),
    needle: "MIC",
    note: "pyspnego's acceptor echoes NTLMSSP_NEGOTIATE_DATAGRAM into its CHALLENGE but signs and seals in \
           connection mode (no per-message re-keying, MS-NLMP §3.4.4; its NTLM code never reads the flag), so no \
           datagram token from a real datagram peer verifies",
}];

/// The sessions of a full run.
pub fn full_sessions(with_cb: bool) -> Vec<Value> {
    let mut v = vec![
        session(
            "main",
            &[
                "name_and_key",
                "wrap_sizes",
                "mic",
                "interleaved",
                "export_initiator",
                "export_acceptor",
                "tamper_wrap_c2s",
            ],
        ),
        session("tamper_wrap_s2c", &["tamper_wrap_s2c"]),
        session("tamper_mic_c2s", &["tamper_mic_c2s"]),
        session("tamper_mic_s2c", &["tamper_mic_s2c"]),
    ];
    let mut wrong = session("wrong_password", &[]);
    wrong["password"] = "not-the-password".into();
    v.push(wrong);
    let mut unknown = session("unknown_user", &[]);
    unknown["user"] = "nosuchuser".into();
    v.push(unknown);
    if with_cb {
        let mut eq = session("cb_equal", &["one_wrap"]);
        eq["cb_client"] = "0102030405060708".into();
        eq["cb_server"] = "0102030405060708".into();
        v.push(eq);
        let mut diff = session("cb_different", &[]);
        diff["cb_client"] = "0102030405060708".into();
        diff["cb_server"] = "0102030405060799".into();
        v.push(diff);
    }
    v
}

/// Features (as recorded) of the main session.
const MAIN_FEATURES: &[&str] = &[
    "handshake",
    "acceptor_name",
    "session_key",
    "wrap_c2s_0",
    "wrap_s2c_0",
    "wrap_c2s_1",
    "wrap_s2c_1",
    "wrap_c2s_1024",
    "wrap_s2c_1024",
    "wrap_c2s_65536",
    "wrap_s2c_65536",
    "mic_c2s",
    "mic_s2c",
    "interleaved_10",
    "export_initiator",
    "export_acceptor",
    "tamper_wrap_c2s",
];

/// A pairing to run and judge.
pub struct Pairing<'a> {
    pub peer: &'a str,
    pub version: &'a str,
    pub ours: Ours,
    pub mode: &'a str,
    pub our_side: Side,
    pub peer_side: Side,
    pub defects: &'a [Defect],
    /// Whether the peer can export contexts (only ours must).
    pub peer_exports: bool,
    pub with_cb: bool,
    /// The application flag sets to run (see [`FLAG_SETS`]).
    pub flag_sets: &'a [&'a str],
}

/// A judged row.
pub struct Judged {
    pub feature: String,
    pub outcome: &'static str,
    pub detail: String,
}

impl Pairing<'_> {
    fn sides(&self) -> (&Side, &Side) {
        match self.ours {
            Ours::Initiator => (&self.peer_side, &self.our_side),
            Ours::Acceptor => (&self.our_side, &self.peer_side),
        }
    }

    fn classify(&self, feature: &str, ok: bool, detail: &str) -> &'static str {
        if ok {
            return "pass";
        }
        let peer_fault = self.defects.iter().any(|d| {
            feature.starts_with(d.feature_prefix)
                && d.peer_role.map_or(true, |r| r == self.ours)
                && detail.contains(d.needle)
        });
        if peer_fault {
            "peer-defect"
        } else {
            "fail"
        }
    }

    /// Run the full matrix for this pairing, record every row, and return the rows that failed on our side.
    pub fn run(&self, tag: &str) -> Vec<String> {
        let (server, client) = self.sides();
        let mut sessions = full_sessions(self.with_cb);
        sessions.extend(flag_sessions(self.flag_sets));
        let rows = match run_pair(tag, server, client, self.mode, &sessions) {
            Ok(run) => self.judge(&run),
            Err(e) => vec![Judged {
                feature: "harness".into(),
                outcome: "fail",
                detail: e,
            }],
        };
        self.emit(rows)
    }

    /// Record rows and return the failures.
    pub fn emit(&self, rows: Vec<Judged>) -> Vec<String> {
        let mut failures = Vec::new();
        for r in &rows {
            record(&Row {
                peer: self.peer,
                version: self.version,
                direction: self.ours.direction(),
                mode: self.mode,
                feature: &r.feature,
                outcome: r.outcome,
                detail: &r.detail,
            });
            if r.outcome == "fail" {
                failures.push(format!(
                    "{} {} {}: {}: {}",
                    self.peer,
                    self.ours.direction(),
                    self.mode,
                    r.feature,
                    r.detail
                ));
            }
        }
        failures
    }

    pub fn judge(&self, run: &PairRun) -> Vec<Judged> {
        let mut rows = Vec::new();
        if let Some(h) = run.client.iter().find(|r| r.feature == "harness") {
            rows.push(Judged {
                feature: "harness".into(),
                outcome: "fail",
                detail: format!("{}\n--- server log:\n{}", h.detail, run.server_log),
            });
        }
        for f in MAIN_FEATURES {
            let (outcome, detail) = match run.get("main", f) {
                None => ("fail", "not run (an earlier step failed)".to_string()),
                Some(r) => {
                    let peer_export = (*f == "export_initiator" && self.ours == Ours::Acceptor)
                        || (*f == "export_acceptor" && self.ours == Ours::Initiator);
                    if peer_export && !self.peer_exports {
                        ("n/a", "the peer has no context export".to_string())
                    } else {
                        (self.classify(f, r.ok, &r.detail), r.detail.clone())
                    }
                }
            };
            rows.push(Judged {
                feature: f.to_string(),
                outcome,
                detail,
            });
        }
        for s in ["tamper_wrap_s2c", "tamper_mic_c2s", "tamper_mic_s2c"] {
            let (outcome, detail) = match (run.get(s, "handshake"), run.get(s, s)) {
                (_, Some(r)) => (self.classify(s, r.ok, &r.detail), r.detail.clone()),
                (Some(h), None) => ("fail", format!("handshake: {}", h.detail)),
                (None, None) => ("fail", "not run".to_string()),
            };
            rows.push(Judged {
                feature: s.to_string(),
                outcome,
                detail,
            });
        }
        for s in ["wrong_password", "unknown_user"] {
            let (outcome, detail) = match run.get(s, "handshake") {
                Some(h) if !h.ok && h.detail.starts_with("acceptor:") => ("pass", h.detail.clone()),
                Some(h) if !h.ok => (
                    "fail",
                    format!("refused, but not by the acceptor: {}", h.detail),
                ),
                Some(_) => ("fail", "the acceptor ACCEPTED".to_string()),
                None => ("fail", "not run".to_string()),
            };
            let outcome = if outcome == "fail" && self.ours == Ours::Initiator {
                "peer-defect"
            } else {
                outcome
            };
            rows.push(Judged {
                feature: s.to_string(),
                outcome,
                detail,
            });
        }
        for set in self.flag_sets {
            let name = format!("flags_{set}");
            let handshake = run.get(&name, "handshake");
            let hs_feature = format!("{name}_handshake");
            for f in FLAG_FEATURES {
                let feature = format!("{name}_{f}");
                let (outcome, detail) = match run.get(&name, f) {
                    Some(r) if r.ok && r.detail.starts_with("n/a") => ("n/a", r.detail.clone()),
                    Some(r) => (self.classify(&feature, r.ok, &r.detail), r.detail.clone()),
                    // Not run: as the handshake went (n/a, a peer's defect or ours).
                    None => match handshake {
                        Some(h) if h.ok && h.detail.starts_with("n/a") => ("n/a", h.detail.clone()),
                        Some(h) if !h.ok => (
                            self.classify(&hs_feature, false, &h.detail),
                            format!("handshake: {}", h.detail),
                        ),
                        _ => ("fail", "not run".to_string()),
                    },
                };
                rows.push(Judged {
                    feature,
                    outcome,
                    detail,
                });
            }
        }
        if self.with_cb {
            let (o, d) = match (
                run.get("cb_equal", "handshake"),
                run.get("cb_equal", "traffic"),
            ) {
                (Some(h), Some(t)) if h.ok && t.ok => ("pass", String::new()),
                (Some(h), t) => (
                    "fail",
                    format!(
                        "handshake: {} {}",
                        h.detail,
                        t.map(|t| t.detail.as_str()).unwrap_or("")
                    ),
                ),
                _ => ("fail", "not run".into()),
            };
            rows.push(Judged {
                feature: "cb_equal".into(),
                outcome: o,
                detail: d,
            });
            let (o, d) = match run.get("cb_different", "handshake") {
                Some(h) if h.ok => (
                    "fail",
                    "the acceptor ACCEPTED different bindings".to_string(),
                ),
                Some(h)
                    if h.detail.contains("GSS_S_BAD_BINDINGS")
                        || h.detail.contains("BadBindings") =>
                {
                    ("pass", h.detail.clone())
                }
                Some(h) => (
                    self.classify("cb_different", false, &h.detail),
                    h.detail.clone(),
                ),
                None => ("fail", "not run".into()),
            };
            rows.push(Judged {
                feature: "cb_different".into(),
                outcome: o,
                detail: d,
            });
        }
        rows
    }
}

/// Print a visible SKIP and record it for every direction/mode of the peer.
pub fn skip_peer(test: &str, peer: &str, reason: &str) {
    super::skip(test, reason);
    record(&Row {
        peer,
        version: "-",
        direction: "-",
        mode: "-",
        feature: "all",
        outcome: "skip",
        detail: reason,
    });
}

/// Our plugin, or a SKIP (with the reason) when it cannot be had.
pub fn our_plugin(test: &str, peer: &str) -> Option<std::path::PathBuf> {
    match super::plugin() {
        super::Plugin::Found { path, .. } => Some(path),
        super::Plugin::NoEntryPoints(p) => {
            skip_peer(
                test,
                peer,
                &format!(
                    "{} does not export the GSSAPI context entry points yet",
                    p.display()
                ),
            );
            None
        }
        super::Plugin::Missing(why) => {
            skip_peer(test, peer, &why);
            None
        }
    }
}

#[allow(unused_imports)]
pub use peers::GSSNTLMSSP_SO;
