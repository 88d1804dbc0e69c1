//! Drives Devolutions' `sspi` NTLM (an independent implementation) against gss-negotiate's in-process NTLM core
//! (src/ntlm: `AcceptorStart`/`InitiatorStart`, `Established::security`), both directions, and replays the
//! sspi-rs issue #172 attack (AUTHENTICATE with a wrong NTProofStr and no MIC) against both acceptors.
//! Prints one JSON line per feature: {"direction", "feature", "ok", "detail", "peer_defect"}; tests/interop_sspi.rs
//! runs it, records the rows and fails on any `ok: false` that is not a peer defect.

use std::collections::HashMap;
use std::sync::Arc;

use gss_negotiate::ntlm::acceptor::{AcceptorConfig, AcceptorStart, CredentialLookup, UserSecrets};
use gss_negotiate::ntlm::context::Established;
use gss_negotiate::ntlm::crypto::{lmowfv1, ntowfv1};
use gss_negotiate::ntlm::env::SystemEnvironment;
use gss_negotiate::ntlm::initiator::{
    InitiatorConfig, InitiatorCredential, InitiatorStart, Requested,
};
use gss_negotiate::ntlm::secret::Password;
use sspi::{
    AuthIdentity, BufferType, ClientRequestFlags, CredentialUse, DataRepresentation,
    EncryptionFlags, Ntlm, SecurityBuffer, SecurityBufferRef, SecurityStatus, ServerRequestFlags,
    Sspi, SspiImpl, Username,
};

const DOMAIN: &str = "TESTDOM";
const USER: &str = "testuser";
const PASSWORD: &str = "Passw0rd!";
const SIZES: [usize; 4] = [0, 1, 1024, 65536];

fn emit(direction: &str, feature: &str, ok: bool, detail: &str, peer_defect: bool) {
    let esc: String = detail
        .chars()
        .flat_map(|c| match c {
            '"' => vec!['\\', '"'],
            '\\' => vec!['\\', '\\'],
            c if c.is_control() => vec![' '],
            c => vec![c],
        })
        .collect();
    println!(
        "{{\"direction\":\"{direction}\",\"feature\":\"{feature}\",\"ok\":{ok},\"detail\":\"{esc}\",\"peer_defect\":{peer_defect}}}"
    );
}

fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(3).wrapping_add(seed))
        .collect()
}

struct Store(HashMap<String, UserSecrets>);

impl CredentialLookup for Store {
    fn lookup(&self, user: &str, _domain: &str) -> Option<UserSecrets> {
        self.0.get(&user.to_ascii_lowercase()).cloned()
    }
}

fn our_acceptor() -> AcceptorStart {
    let pw = Password::new(PASSWORD);
    let mut m = HashMap::new();
    m.insert(
        USER.to_string(),
        UserSecrets {
            user: USER.into(),
            domain: DOMAIN.into(),
            nt_hash: ntowfv1(&pw),
            lm_hash: Some(lmowfv1(&pw)),
        },
    );
    let mut cfg = AcceptorConfig::new(Arc::new(Store(m)), Arc::new(SystemEnvironment));
    cfg.netbios_computer = "SERVER".into();
    cfg.netbios_domain = DOMAIN.into();
    cfg.dns_computer = "server.test".into();
    AcceptorStart::new(cfg)
}

fn our_initiator(password: &str, mic: bool) -> InitiatorStart {
    let pw = Password::new(password);
    let cred = InitiatorCredential::User {
        user: USER.into(),
        domain: DOMAIN.into(),
        nt_hash: ntowfv1(&pw),
        lm_hash: Some(lmowfv1(&pw)),
    };
    let mut cfg = InitiatorConfig::new(cred, Arc::new(SystemEnvironment));
    cfg.workstation = "CLIENTPC".into();
    cfg.requested = Requested {
        sign: true,
        seal: true,
        datagram: false,
        identify: false,
    };
    cfg.key_exchange = true;
    cfg.mic = mic;
    InitiatorStart::new(cfg)
}

fn identity(password: &str) -> AuthIdentity {
    AuthIdentity {
        username: Username::parse(&format!("{DOMAIN}\\{USER}")).expect("username"),
        password: password.to_string().into(),
    }
}

/// An sspi NTLM client; `step` takes the previous server token (empty at first).
struct SspiClient {
    ntlm: Ntlm,
    cred: Option<sspi::AuthIdentityBuffers>,
    flags: ClientRequestFlags,
}

impl SspiClient {
    fn new(password: &str) -> sspi::Result<SspiClient> {
        Self::with_flags(
            password,
            ClientRequestFlags::INTEGRITY
                | ClientRequestFlags::CONFIDENTIALITY
                | ClientRequestFlags::USE_SESSION_KEY,
        )
    }

    /// A client asking for `flags` (the flags an application requests).
    fn with_flags(password: &str, flags: ClientRequestFlags) -> sspi::Result<SspiClient> {
        let mut ntlm = Ntlm::new();
        let id = identity(password);
        let res = ntlm
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Outbound)
            .with_auth_data(&id)
            .execute(&mut ntlm)?;
        Ok(SspiClient {
            ntlm,
            cred: res.credentials_handle,
            flags,
        })
    }

    fn step(&mut self, input: &[u8]) -> sspi::Result<(Vec<u8>, SecurityStatus)> {
        let mut inp = vec![SecurityBuffer::new(input.to_vec(), BufferType::Token)];
        let mut out = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut builder = self
            .ntlm
            .initialize_security_context()
            .with_credentials_handle(&mut self.cred)
            .with_context_requirements(self.flags)
            .with_target_data_representation(DataRepresentation::Native)
            .with_target_name("host/server.test")
            .with_input(&mut inp)
            .with_output(&mut out);
        let r = self
            .ntlm
            .initialize_security_context_impl(&mut builder)?
            .resolve_to_result()?;
        Ok((std::mem::take(&mut out[0].buffer), r.status))
    }
}

/// An sspi NTLM acceptor knowing the test user.
struct SspiServer {
    ntlm: Ntlm,
    cred: Option<sspi::AuthIdentityBuffers>,
}

impl SspiServer {
    fn new() -> sspi::Result<SspiServer> {
        let mut ntlm = Ntlm::new();
        let id = identity(PASSWORD);
        let res = ntlm
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Inbound)
            .with_auth_data(&id)
            .execute(&mut ntlm)?;
        Ok(SspiServer {
            ntlm,
            cred: res.credentials_handle,
        })
    }

    fn step(&mut self, input: &[u8]) -> sspi::Result<(Vec<u8>, SecurityStatus)> {
        let mut inp = vec![SecurityBuffer::new(input.to_vec(), BufferType::Token)];
        let mut out = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let r = self
            .ntlm
            .accept_security_context()
            .with_credentials_handle(&mut self.cred)
            .with_context_requirements(ServerRequestFlags::empty())
            .with_target_data_representation(DataRepresentation::Native)
            .with_input(&mut inp)
            .with_output(&mut out)
            .execute(&mut self.ntlm)?
            .resolve_to_result()?;
        let mut status = r.status;
        if status == SecurityStatus::CompleteNeeded || status == SecurityStatus::CompleteAndContinue
        {
            status = self.ntlm.complete_auth_token(&mut [])?;
        }
        Ok((std::mem::take(&mut out[0].buffer), status))
    }
}

/// sspi's wrap token: 16-byte signature then the sealed data (the GSS NTLM wrap layout).
fn sspi_wrap(ntlm: &mut Ntlm, data: &[u8]) -> sspi::Result<Vec<u8>> {
    let mut sig = [0u8; 16];
    let mut buf = data.to_vec();
    {
        let mut msg = [
            SecurityBufferRef::token_buf(&mut sig),
            SecurityBufferRef::data_buf(&mut buf),
        ];
        ntlm.encrypt_message(EncryptionFlags::empty(), &mut msg)?;
    }
    let mut out = sig.to_vec();
    out.extend_from_slice(&buf);
    Ok(out)
}

fn sspi_unwrap(ntlm: &mut Ntlm, token: &[u8]) -> sspi::Result<Vec<u8>> {
    if token.len() < 16 {
        return Err(sspi::Error::new(
            sspi::ErrorKind::MessageAltered,
            "short token",
        ));
    }
    let mut sig = token[..16].to_vec();
    let mut buf = token[16..].to_vec();
    let mut msg = [
        SecurityBufferRef::token_buf(&mut sig),
        SecurityBufferRef::data_buf(&mut buf),
    ];
    ntlm.decrypt_message(&mut msg)?;
    Ok(msg[1].data().to_vec())
}

fn our_wrap(ctx: &mut Established, data: &[u8]) -> Vec<u8> {
    let mut buf = data.to_vec();
    let sig = ctx.security.seal_in_place(&mut buf);
    let mut out = sig.to_vec();
    out.extend_from_slice(&buf);
    out
}

fn our_unwrap(ctx: &mut Established, token: &[u8]) -> Result<Vec<u8>, String> {
    let sig: [u8; 16] = token
        .get(..16)
        .and_then(|s| s.try_into().ok())
        .ok_or("short token")?;
    let mut buf = token[16..].to_vec();
    ctx.security
        .unseal_in_place(&mut buf, &sig)
        .map_err(|e| e.to_string())?;
    Ok(buf)
}

/// Messages after the handshake: sizes both ways, 10 interleaved rounds, then MIC both ways (sspi's MIC API takes
/// the sequence number from the caller and does not advance its wrap counter, so MICs come last), then tampering.
fn messages(dir: &str, ours: &mut Established, theirs: &mut Ntlm, ours_is_client: bool) {
    let (c2s, s2c) = ("c2s", "s2c");
    let (our_dir, their_dir) = if ours_is_client {
        (c2s, s2c)
    } else {
        (s2c, c2s)
    };
    let mut seq_ours_send = 0u32;
    let mut seq_theirs_send = 0u32;
    for size in SIZES {
        let m = pattern(size, 0);
        let t = our_wrap(ours, &m);
        seq_ours_send += 1;
        let r = sspi_unwrap(theirs, &t);
        emit(
            dir,
            &format!("wrap_{our_dir}_{size}"),
            r.as_ref().is_ok_and(|p| *p == m),
            &format!("{:?}", r.err()),
            false,
        );
        let t = sspi_wrap(theirs, &m);
        seq_theirs_send += 1;
        let r = t
            .map_err(|e| e.to_string())
            .and_then(|t| our_unwrap(ours, &t));
        emit(
            dir,
            &format!("wrap_{their_dir}_{size}"),
            r.as_ref().is_ok_and(|p| *p == m),
            &format!("{:?}", r.err()),
            false,
        );
    }
    let mut ok = true;
    let mut why = String::new();
    for i in 0..10u8 {
        let m = pattern(33 + i as usize, i);
        let r1 = sspi_unwrap(theirs, &our_wrap(ours, &m));
        let r2 = sspi_wrap(theirs, &m)
            .map_err(|e| e.to_string())
            .and_then(|t| our_unwrap(ours, &t));
        seq_ours_send += 1;
        seq_theirs_send += 1;
        if !(r1.as_ref().is_ok_and(|p| *p == m) && r2.as_ref().is_ok_and(|p| *p == m)) {
            ok = false;
            why = format!("round {i}: {:?} {:?}", r1.err(), r2.err());
            break;
        }
    }
    emit(dir, "interleaved_10", ok, &why, false);
    // MIC ours -> theirs.
    let m = pattern(100, 1);
    let mic = ours.security.sign(&m);
    let mut data = m.clone();
    let mut sig = mic.to_vec();
    let r = {
        let mut msg = [
            SecurityBufferRef::data_buf(&mut data),
            SecurityBufferRef::token_buf(&mut sig),
        ];
        theirs.verify_signature(&mut msg, seq_ours_send)
    };
    emit(
        dir,
        &format!("mic_{our_dir}"),
        r.is_ok(),
        &format!("{:?}", r.err()),
        false,
    );
    // MIC theirs -> ours.
    let mut data = m.clone();
    let mut sig = [0u8; 16];
    let r = {
        let mut msg = [
            SecurityBufferRef::data_buf(&mut data),
            SecurityBufferRef::token_buf(&mut sig),
        ];
        theirs.make_signature(0, &mut msg, seq_theirs_send)
    };
    let v = r
        .map_err(|e| e.to_string())
        .and_then(|()| ours.security.verify(&m, &sig).map_err(|e| e.to_string()));
    emit(
        dir,
        &format!("mic_{their_dir}"),
        v.is_ok(),
        &format!("{:?}", v.err()),
        false,
    );
    // Tampered MIC from sspi, then a tampered wrap from sspi: our end must refuse both.
    let mut data = m.clone();
    let mut sig = [0u8; 16];
    let r = {
        let mut msg = [
            SecurityBufferRef::data_buf(&mut data),
            SecurityBufferRef::token_buf(&mut sig),
        ];
        theirs.make_signature(0, &mut msg, seq_theirs_send + 1)
    };
    sig[6] ^= 1;
    let v = r
        .map_err(|e| e.to_string())
        .and_then(|()| ours.security.verify(&m, &sig).map_err(|e| e.to_string()));
    emit(
        dir,
        &format!("tamper_mic_{their_dir}"),
        v.is_err(),
        &format!("ours: {:?}", v.err()),
        false,
    );
    let mut t = match sspi_wrap(theirs, &pattern(40, 6)) {
        Ok(t) => t,
        Err(e) => {
            return emit(
                dir,
                &format!("tamper_wrap_{their_dir}"),
                false,
                &e.to_string(),
                false,
            )
        }
    };
    let last = t.len() - 1;
    t[last] ^= 1;
    let r = our_unwrap(ours, &t);
    emit(
        dir,
        &format!("tamper_wrap_{their_dir}"),
        r.is_err(),
        &format!("ours: {:?}", r.err()),
        false,
    );
}

fn sspi_client_to_ours() {
    let dir = "peer->ours";
    let result = (|| -> Result<(SspiClient, Established), String> {
        let mut client = SspiClient::new(PASSWORD).map_err(|e| format!("sspi setup: {e}"))?;
        let (neg, _) = client
            .step(&[])
            .map_err(|e| format!("sspi NEGOTIATE: {e}"))?;
        let (acc, chal) = our_acceptor()
            .challenge(&neg)
            .map_err(|e| format!("ours CHALLENGE: {e}"))?;
        let (auth, _) = client
            .step(&chal)
            .map_err(|e| format!("sspi AUTHENTICATE: {e}"))?;
        let server = acc
            .finish(&auth, None)
            .map_err(|e| format!("ours accept: {e}"))?;
        Ok((client, server))
    })();
    let (mut client, mut server) = match result {
        Ok(x) => x,
        Err(e) => return emit(dir, "handshake", false, &e, false),
    };
    emit(dir, "handshake", true, "", false);
    let name = format!("{}\\{}", server.domain, server.user);
    emit(
        dir,
        "acceptor_name",
        name == format!("{DOMAIN}\\{USER}"),
        &format!("acceptor sees {name:?}"),
        false,
    );
    let theirs = client
        .ntlm
        .query_context_session_key()
        .map(|k| k.session_key.as_ref().to_vec());
    let same = theirs.as_ref().is_ok_and(|k| server.session_key.ct_eq(k));
    emit(
        dir,
        "session_key",
        same,
        &format!("sspi: {:?}", theirs.as_ref().err()),
        false,
    );
    messages(dir, &mut server, &mut client.ntlm, false);
}

fn ours_to_sspi_server() {
    let dir = "ours->peer";
    let result = (|| -> Result<(Established, SspiServer), String> {
        let mut server = SspiServer::new().map_err(|e| format!("sspi setup: {e}"))?;
        let (wait, neg) = our_initiator(PASSWORD, true).negotiate();
        let (chal, _) = server
            .step(&neg)
            .map_err(|e| format!("sspi CHALLENGE: {e}"))?;
        let (client, auth) = wait
            .authenticate(&chal, None)
            .map_err(|e| format!("ours AUTHENTICATE: {e}"))?;
        server
            .step(&auth)
            .map_err(|e| format!("sspi accept: {e}"))?;
        Ok((client, server))
    })();
    let (mut client, mut server) = match result {
        Ok(x) => x,
        Err(e) => return emit(dir, "handshake", false, &e, false),
    };
    emit(dir, "handshake", true, "", false);
    let names = server
        .ntlm
        .query_context_names()
        .map(|n| n.username.inner().to_string());
    emit(
        dir,
        "acceptor_name",
        names
            .as_ref()
            .is_ok_and(|n| n.eq_ignore_ascii_case(&format!("{DOMAIN}\\{USER}"))),
        &format!("acceptor sees {names:?} (sspi reports the credential it was given)"),
        false,
    );
    let theirs = server
        .ntlm
        .query_context_session_key()
        .map(|k| k.session_key.as_ref().to_vec());
    let same = theirs.as_ref().is_ok_and(|k| client.session_key.ct_eq(k));
    emit(
        dir,
        "session_key",
        same,
        &format!("sspi: {:?}", theirs.as_ref().err()),
        false,
    );
    messages(dir, &mut client, &mut server.ntlm, true);
}

/// sspi-rs issue #172: an AUTHENTICATE whose NTProofStr does not match the password, without a MIC.
fn issue_172_attack() {
    // 1. Our initiator with a wrong password and no MIC, against sspi's acceptor (the defect) and ours.
    let (wait, neg) = our_initiator("not-the-password", false).negotiate();
    let sspi_result = (|| -> Result<SecurityStatus, String> {
        let mut server = SspiServer::new().map_err(|e| e.to_string())?;
        let (chal, _) = server.step(&neg).map_err(|e| e.to_string())?;
        let (_c, auth) = wait.authenticate(&chal, None).map_err(|e| e.to_string())?;
        server
            .step(&auth)
            .map(|(_, s)| s)
            .map_err(|e| e.to_string())
    })();
    // Recorded as the peer's defect when sspi accepts (the issue is open); not a failure of ours either way.
    emit(
        "ours->peer",
        "issue172_wrong_password_no_mic",
        sspi_result.is_err(),
        &format!("sspi acceptor: {sspi_result:?}"),
        sspi_result.is_ok(),
    );
    let (wait, neg) = our_initiator("not-the-password", false).negotiate();
    let r = our_acceptor()
        .challenge(&neg)
        .map_err(|e| e.to_string())
        .and_then(|(acc, chal)| {
            let (_c, auth) = wait.authenticate(&chal, None).map_err(|e| e.to_string())?;
            acc.finish(&auth, None)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
    emit(
        "attack->ours",
        "issue172_wrong_password_no_mic",
        r.is_err(),
        &format!("ours: {:?}", r.err()),
        false,
    );

    // 2. A genuine sspi AUTHENTICATE whose NTProofStr (first 16 bytes of the NT response) is overwritten.
    let r = (|| -> Result<String, String> {
        let mut client = SspiClient::new(PASSWORD).map_err(|e| e.to_string())?;
        let (neg, _) = client.step(&[]).map_err(|e| e.to_string())?;
        let (acc, chal) = our_acceptor().challenge(&neg).map_err(|e| e.to_string())?;
        let (mut auth, _) = client.step(&chal).map_err(|e| e.to_string())?;
        // NtChallengeResponseFields: Len u16 at 20, BufferOffset u32 at 24 (MS-NLMP §2.2.1.3).
        let off = u32::from_le_bytes(auth[24..28].try_into().map_err(|_| "short")?) as usize;
        for b in auth.get_mut(off..off + 16).ok_or("bad offset")? {
            *b ^= 0x5a;
        }
        match acc.finish(&auth, None) {
            Ok(_) => Ok("ACCEPTED".into()),
            Err(e) => Err(e.to_string()),
        }
    })();
    emit(
        "attack->ours",
        "garbage_ntproofstr",
        r.is_err(),
        &format!("ours: {r:?}"),
        false,
    );

    // 3. sspi client with a wrong password against ours.
    let r = (|| -> Result<(), String> {
        let mut client = SspiClient::new("not-the-password").map_err(|e| e.to_string())?;
        let (neg, _) = client.step(&[]).map_err(|e| e.to_string())?;
        let (acc, chal) = our_acceptor().challenge(&neg).map_err(|e| e.to_string())?;
        let (auth, _) = client.step(&chal).map_err(|e| e.to_string())?;
        acc.finish(&auth, None)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })();
    emit(
        "peer->ours",
        "wrong_password",
        r.is_err(),
        &format!("ours: {:?}", r.err()),
        false,
    );
}

/// Issue 10, the flags an application requests — the representative subset for sspi: its client asking for
/// integrity only (no confidentiality) against our acceptor, then MICs both ways with a tampered one in the middle of
/// each direction's stream followed by genuine ones (a refused token spends its slot, as at every GSSAPI peer).
fn flags_integ_subset() {
    let dir = "peer->ours";
    let result = (|| -> Result<(SspiClient, Established), String> {
        let mut client = SspiClient::with_flags(PASSWORD, ClientRequestFlags::INTEGRITY)
            .map_err(|e| format!("sspi setup: {e}"))?;
        let (neg, _) = client
            .step(&[])
            .map_err(|e| format!("sspi NEGOTIATE: {e}"))?;
        let (acc, chal) = our_acceptor()
            .challenge(&neg)
            .map_err(|e| format!("ours CHALLENGE: {e}"))?;
        let (auth, _) = client
            .step(&chal)
            .map_err(|e| format!("sspi AUTHENTICATE: {e}"))?;
        let server = acc
            .finish(&auth, None)
            .map_err(|e| format!("ours accept: {e}"))?;
        Ok((client, server))
    })();
    let (mut client, mut server) = match result {
        Ok(x) => x,
        Err(e) => return emit(dir, "flags_integ_handshake", false, &e, false),
    };
    emit(
        dir,
        "flags_integ_handshake",
        true,
        &format!("negotiated flags {:#010x}", server.flags.bits()),
        false,
    );
    let plan = [(0u32, false), (1, false), (2, true), (3, false), (4, false)];
    // sspi -> ours.
    let mut steps = Vec::new();
    for (seq, tamper) in plan {
        let m = pattern(60, seq as u8);
        let mut data = m.clone();
        let mut sig = [0u8; 16];
        let r = {
            let mut msg = [
                SecurityBufferRef::data_buf(&mut data),
                SecurityBufferRef::token_buf(&mut sig),
            ];
            client.ntlm.make_signature(0, &mut msg, seq)
        };
        if let Err(e) = r {
            steps.push(format!("sspi make_signature {seq}: {e}"));
            continue;
        }
        if tamper {
            sig[6] ^= 1;
        }
        let v = server.security.verify(&m, &sig);
        if v.is_ok() == tamper {
            steps.push(format!("MIC {seq} (tampered: {tamper}): ours {v:?}"));
        }
    }
    emit(
        dir,
        "flags_integ_midstream_c2s",
        steps.is_empty(),
        &steps.join("; "),
        false,
    );
    // ours -> sspi.
    let mut steps = Vec::new();
    for (seq, tamper) in plan {
        let m = pattern(60, 100 + seq as u8);
        let mut sig = server.security.sign(&m);
        if tamper {
            sig[6] ^= 1;
        }
        let mut data = m.clone();
        let mut sig = sig.to_vec();
        let r = {
            let mut msg = [
                SecurityBufferRef::data_buf(&mut data),
                SecurityBufferRef::token_buf(&mut sig),
            ];
            client.ntlm.verify_signature(&mut msg, seq)
        };
        if r.is_ok() == tamper {
            steps.push(format!(
                "MIC {seq} (tampered: {tamper}): sspi {:?}",
                r.err()
            ));
        }
    }
    emit(
        dir,
        "flags_integ_midstream_s2c",
        steps.is_empty(),
        &steps.join("; "),
        false,
    );
}

fn main() {
    flags_integ_subset();
    sspi_client_to_ours();
    ours_to_sspi_server();
    issue_172_attack();
}
