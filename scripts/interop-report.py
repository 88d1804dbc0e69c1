#!/usr/bin/env python3
"""Turn the interop test results into INTEROP.md.

Usage: scripts/interop-report.py [RESULTS.jsonl] [OUTPUT.md]
  RESULTS defaults to $CARGO_TARGET_DIR/interop-results.jsonl (else target/interop-results.jsonl), written by
  tests/interop_*.rs (one JSON object per line: time, peer, version, direction, mode, feature, outcome, detail).
  OUTPUT defaults to INTEROP.md at the repository root.
The last row of each (peer, direction, mode, feature) wins, so the file may hold several runs.
"""
import collections
import json
import os
import sys

MARK = {"pass": "pass", "fail": "**FAIL**", "peer-defect": "peer defect", "n/a": "n/a", "skip": "skip"}
ORDER = ["gss-ntlmssp", "pyspnego", "pyspnego 0.6", "impacket", "sspi"]

# Rules chosen where peers differ from the letter of MS-NLMP or from each other. Each names the test that holds it.
RULES = [
    "### Wrap tokens when SEAL was not negotiated",
    "",
    "MS-NLMP §3.4.3 describes sealing for a context that negotiated NTLMSSP_NEGOTIATE_SEAL; a context with only "
    "SIGN would send signed-only wrap tokens. The peers do not: gss-ntlmssp (`gssntlm_wrap` seals whatever "
    "`conf_req_flag` and the flags say, `gssntlm_unwrap` always unseals), pyspnego (`wrap`/`unwrap` always "
    "seal/unseal) and .NET's managed NTLM (`Wrap` ignores `requestEncryption`; its NEGOTIATE does not even ask for "
    "SEAL) all seal, and Samba's `ntlmssp_unwrap` notes that Windows' LDAP client seals although only signing was "
    "negotiated: it verifies the signed form first, falls back to unsealing, and once that works it sets SEAL and "
    "seals its own wrap tokens. MIT's `gss-client` asks for no confidentiality, so a gss-ntlmssp client negotiates "
    "no SEAL and every wrap token it sends is sealed (issue 10, defect 1). Our rule: `gss_wrap` seals whenever SIGN "
    "or SEAL was negotiated (`conf_state` 1); `gss_unwrap` without SEAL accepts the signed-only form (MS-NLMP, Samba) "
    "and the sealed form (tried in that order, each from the same state), and after the first sealed token it "
    "expects only sealed ones (and `gss_inquire_context` reports `GSS_C_CONF_FLAG`), as Samba does. Tests: "
    "`tests/interop_samples_mixed.rs` (MIT's gss-client/gss-server, gss-ntlmssp on one side: plain, `-nx`, "
    "`-export`, `-ccount 2 -mcount 3`, raw and SPNEGO, both directions) and the `flags_*` rows below.",
    "",
    "### A refused token in the middle of a stream",
    "",
    "gss-ntlmssp, Samba (`ntlmssp_check_packet`), pyspnego and .NET's managed NTLM spend the sequence number and "
    "RC4 keystream of a MIC or wrap token they refuse, so the sender's next genuine token verifies; we kept the "
    "state untouched, so after one tampered token every later one was refused (issue 10, defect 2). Now a refused "
    "token that claims the current slot spends it (without extended session security every token; with it one "
    "whose SeqNum is the expected one), while a token carrying another SeqNum (replay, reordering) spends nothing. "
    "SECURITY.md, \"A rejected message in the middle of a stream\", has the details and tests; the `*_midstream_*` "
    "rows below check it against every peer.",
    "",
    "### GSS_C_CHANNEL_BOUND_FLAG",
    "",
    "With channel bindings given to the acceptor and matched by the initiator's, the acceptor reports "
    "GSS_C_CHANNEL_BOUND_FLAG (2048), as MIT krb5 >= 1.19 and gss-ntlmssp do; never when either side has none "
    "(MIT's t_bindings table; `tests/gss_context.rs` `channel_bound_flag_follows_mit_t_bindings`).",
    "",
    "### Half-built contexts (pyspnego 0.6)",
    "",
    "pyspnego 0.6.x decides whether GSSAPI offers NTLM after the first `gss_init_sec_context` step: "
    "`gss_set_sec_context_option(1.3.6.1.4.1.7165.655.1.3)` must succeed and "
    "`gss_inquire_sec_context_by_oid(GSS_C_INQ_SSPI_SESSION_KEY)` answer GSS_S_UNAVAILABLE, as gss-ntlmssp does. "
    "We answered GSS_S_NO_CONTEXT and pyspnego never used the plugin (issue 10, defect 4). Every query on a "
    "half-built context now answers as gss-ntlmssp's (`tests/interop_pyspnego06.rs`), except the SASL SSF, which "
    "gss-ntlmssp guesses from the flags asked for and we refuse with NO_CONTEXT until the strength is known. "
    "pyspnego 0.6 also tests gss-ntlmssp's private minor code 0x4E540016 (ERR_NOTAVAIL) to decide that the session "
    "key can be read later; that number is another error in our minor code table, so pyspnego 0.6 with "
    "`NegotiateOptions.session_key` still falls back to its own NTLM (without that option it uses the plugin).",
    "",
    "### NTLMv1 without extended session security: LM_KEY",
    "",
    "With LM_KEY the KeyExchangeKey is DES over the account's LMOWF (MS-NLMP §3.4.5.1; the §4.2.2.1.3 vector "
    "b09e379f…, which pyspnego recomputes). Our initiator asked for LM_KEY with a password credential that has no LM "
    "hash, and our acceptor granted it for NT-hash-only accounts; both then used a zero LMOWF, so at "
    "LM_COMPAT_LEVEL 0 against pyspnego the logon succeeded and every wrap failed (issue 10, defect 5) — ours was "
    "wrong (`tests/vectors_4_2.rs` `ntlmv1_lm_key_exchange_key_needs_the_real_lmowf`). The initiator now asks for "
    "LM_KEY only with an LM hash and the acceptor never grants it (it cannot know before the AUTHENTICATE whether the "
    "account has one; clients cope with a server that does not set it). Test: `tests/interop_pyspnego.rs` "
    "`ntlmv1_without_ess_at_level_0_both_directions` (the `ntlmv1_level0_*` rows).",
    "",
    "### Key exchange without SIGN or SEAL",
    "",
    "MS-NLMP §3.2.5.1.2 decrypts EncryptedRandomSessionKey only when KEY_EXCH and SIGN or SEAL are negotiated; "
    "pyspnego follows it and sends a 1-byte placeholder otherwise, gss-ntlmssp sends a 16-byte key whenever "
    "KEY_EXCH is set. Without SIGN/SEAL our acceptor takes KeyExchangeKey unless a 16-byte key was sent (the "
    "`flags_none_*` rows with pyspnego and gss-ntlmssp).",
    "",
    "### Datagram",
    "",
    "Our initiator asks for datagram session security in its NEGOTIATE; an acceptor that does not grant it "
    "(gss-ntlmssp's) now gets a connection-oriented context and the returned flags lack GSS_C_DATAGRAM_FLAG, as "
    "RFC 2743 handles any service the peer does not grant. gss-ntlmssp's own datagram initiator starts the "
    "connectionless handshake with an empty token, which MIT's mechglue cannot hand to any mechanism (gss-ntlmssp "
    "with itself fails the same way); pyspnego's acceptor echoes the DATAGRAM flag without implementing it; "
    "pyspnego's and impacket's initiators have no datagram mode (n/a).",
    "",
    "### The flags dimension",
    "",
    "Every pairing runs six sessions with the flags the application requests — none, INTEG, CONF|INTEG, "
    "MUTUAL|REPLAY (MIT gss-client's default), SEQUENCE, datagram (GSS_C_DATAGRAM_FLAG|CONF|INTEG) — each with wrap "
    "and MIC tokens both ways and, in each direction, a tampered MIC and a tampered wrap token in the middle of the "
    "stream followed by genuine ones (`flags_<set>_*` rows; peer.py `flags_traffic`). All six sets for gss-ntlmssp "
    "(both directions, raw and SPNEGO), pyspnego (the same) and impacket (its raw initiator); the sspi crate, "
    "driven in-process against our NTLM core, runs a representative subset (`flags_integ_*`: its client asking for "
    "integrity only, MICs with a tampered one mid-stream). When the initiator's context negotiated neither "
    "integrity nor confidentiality the traffic rows say n/a.",
    "",
]


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(root, "target")
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(target, "interop-results.jsonl")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "INTEROP.md")
    rows = {}
    with open(src) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            key = (r["peer"], r["direction"], r["mode"], r["feature"])
            if key not in rows or rows[key]["time"] <= r["time"]:
                rows[key] = r
    by_peer = collections.defaultdict(list)
    for r in rows.values():
        by_peer[r["peer"]].append(r)
    peers = sorted(by_peer, key=lambda p: (ORDER.index(p) if p in ORDER else 99, p))
    last = max((r["time"] for r in rows.values()), default=0)
    import datetime
    when = datetime.datetime.fromtimestamp(last, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    L = ["# Interoperability matrix", "",
         "Generated by `scripts/interop-report.py` from `interop-results.jsonl`, written by the last run of "
         "`cargo test --test 'interop_*'` (%s). Do not edit by hand." % when, "",
         "Direction `ours->peer`: gss-negotiate initiates, the peer accepts; `peer->ours`: the reverse; "
         "`attack->ours`: hand-made hostile messages. Modes: `raw` NTLMSSP, `spnego` (MIT's SPNEGO or the peer's "
         "own), `in-process` (our Rust NTLM core, no GSSAPI layer). Cells: pass, **FAIL** (ours), peer defect "
         "(the peer misbehaves, our side does the right thing; see the notes), n/a (the peer lacks the feature).", "",
         "## Peers", "", "| peer | version | how |", "| --- | --- | --- |"]
    how = {
        "gss-ntlmssp": "Debian package, separate process with its own GSS_MECH_CONFIG, python-gssapi over MIT's mechglue",
        "pyspnego": "PyPI, its own pure-Python NTLM (`use_ntlm`) and SPNEGO (`use_negotiate`), never the system GSSAPI",
        "impacket": "PyPI, `getNTLMSSPType1/Type3` encoders and SIGN/SEAL helpers as a raw NTLMSSP initiator",
        "sspi": "crates.io, Devolutions' NTLM against our in-process NTLM core (tests/sspi-peer)",
        "pyspnego 0.6": "PyPI 0.6.3 in a venv the test creates, its GSSAPI path (NTLM through the system GSSAPI, i.e. "
                        "this plugin) for client and server",
    }
    for p in peers:
        versions = sorted({r["version"] for r in by_peer[p] if r["version"] != "-"}) or ["-"]
        L.append("| %s | %s | %s |" % (p, ", ".join(versions), how.get(p, "")))
    L.append("")
    L += ["## Rules where peers differ", ""] + RULES
    notes = []
    for p in peers:
        rs = by_peer[p]
        cols = sorted({(r["direction"], r["mode"]) for r in rs})
        feats = []
        for r in sorted(rs, key=lambda r: r["time"]):
            if r["feature"] not in feats:
                feats.append(r["feature"])
        cell = {(r["direction"], r["mode"], r["feature"]): r for r in rs}
        L += ["## %s" % p, "", "| feature | " + " | ".join("%s %s" % c for c in cols) + " |",
              "| --- |" + " --- |" * len(cols)]
        for ft in feats:
            vals = []
            for c in cols:
                r = cell.get((c[0], c[1], ft))
                vals.append(MARK.get(r["outcome"], r["outcome"]) if r else "")
                if r and r["outcome"] in ("fail", "peer-defect", "skip"):
                    notes.append("- %s %s %s `%s` (%s): %s" % (p, c[0], c[1], ft, r["outcome"],
                                                                r["detail"].replace("|", "/").replace("\n", " ")[:300]))
            L.append("| %s | %s |" % (ft, " | ".join(vals)))
        L.append("")
    totals = collections.Counter(r["outcome"] for r in rows.values())
    L += ["## Totals", "", ", ".join("%s: %d" % (k, totals[k]) for k in sorted(totals)), ""]
    if notes:
        L += ["## Notes (failures, peer defects, skips)", ""] + notes + [""]
    with open(out, "w") as f:
        f.write("\n".join(L))
    print("wrote %s (%d rows, %s)" % (out, len(rows), dict(totals)))


if __name__ == "__main__":
    main()
