//! `decode` for Kerberos tokens (RFC 4121 §4.1 framing, RFC 4120 §5.5 AP-REQ/AP-REP, §5.9.1 KRB-ERROR):
//! only the cleartext header — realm, sname, enctype, kvno — read with the crate's strict DER reader
//! ([`gss_negotiate::spnego::der`]). Encrypted parts are shown by length only, never by content.

use gss_negotiate::spnego::der::{tag, DerError, DerReader};
use serde_json::{json, Map, Value};

/// `[APPLICATION 14]` AP-REQ, `[APPLICATION 15]` AP-REP, `[APPLICATION 30]` KRB-ERROR (RFC 4120 §5.5, §5.9).
const AP_REQ: u8 = tag::application(14) | tag::CONSTRUCTED;
const AP_REP: u8 = tag::application(15) | tag::CONSTRUCTED;
const KRB_ERROR: u8 = tag::application(30) | tag::CONSTRUCTED;
/// `Ticket ::= [APPLICATION 1]` (RFC 4120 §5.3).
const TICKET: u8 = tag::application(1) | tag::CONSTRUCTED;
const INTEGER: u8 = 0x02;

/// RFC 3961 / RFC 8009 / RFC 4757 encryption type names (IANA "Kerberos Encryption Type Numbers").
pub fn enctype_name(e: i64) -> &'static str {
    match e {
        1 => "des-cbc-crc",
        3 => "des-cbc-md5",
        16 => "des3-cbc-sha1",
        17 => "aes128-cts-hmac-sha1-96",
        18 => "aes256-cts-hmac-sha1-96",
        19 => "aes128-cts-hmac-sha256-128",
        20 => "aes256-cts-hmac-sha384-192",
        23 => "rc4-hmac",
        24 => "rc4-hmac-exp",
        25 => "camellia128-cts-cmac",
        26 => "camellia256-cts-cmac",
        _ => "unknown",
    }
}

/// A DER INTEGER that fits an i64 (X.690 §8.3: non-empty, minimal).
fn integer(r: &mut DerReader<'_>, what: &'static str) -> Result<i64, DerError> {
    let c = r.read_expected(INTEGER, what)?;
    if c.is_empty() || c.len() > 8 {
        return Err(DerError::BadInteger("empty or wider than 64 bits"));
    }
    if let [a, b, ..] = c {
        if (*a == 0 && b & 0x80 == 0) || (*a == 0xff && b & 0x80 != 0) {
            return Err(DerError::BadInteger("not minimally encoded"));
        }
    }
    let neg = c.first().is_some_and(|b| b & 0x80 != 0);
    Ok(c.iter().fold(if neg { -1i64 } else { 0 }, |acc, &b| {
        (acc << 8) | i64::from(b)
    }))
}

fn explicit_integer(r: &mut DerReader<'_>, n: u8, what: &'static str) -> Result<i64, DerError> {
    let mut c = r.read_context(n, what)?;
    let v = integer(&mut c, what)?;
    c.finish(what)?;
    Ok(v)
}

fn general_string(r: &mut DerReader<'_>, what: &'static str) -> Result<String, DerError> {
    let s = r.read_general_string(what)?;
    Ok(String::from_utf8_lossy(s).into_owned())
}

/// `EncryptedData ::= SEQUENCE { etype [0], kvno [1] OPTIONAL, cipher [2] }` (RFC 4120 §5.2.9): etype and
/// kvno, and only the cipher's length.
fn encrypted_data(r: &mut DerReader<'_>, what: &'static str) -> Result<Value, DerError> {
    let mut seq = r.read_sequence(what)?;
    let etype = explicit_integer(&mut seq, 0, "etype")?;
    let kvno = match seq.read_optional_constructed(tag::context(1), "kvno")? {
        Some(mut c) => Some(integer(&mut c, "kvno")?),
        None => None,
    };
    let mut c = seq.read_context(2, "cipher")?;
    let cipher = c.read_octet_string("cipher")?;
    seq.finish_sequence(what)?;
    Ok(json!({
        "enctype": etype,
        "enctype_name": enctype_name(etype),
        "kvno": kvno,
        "cipher_len": cipher.len(),
    }))
}

/// `Ticket` (RFC 4120 §5.3): tkt-vno, realm, sname and the enc-part header.
fn ticket(r: &mut DerReader<'_>) -> Result<Value, DerError> {
    // A fresh reader for the Ticket: the DER reader's depth bound (8, sized for SPNEGO) would otherwise stop
    // at the PrincipalName; the nesting here is fixed by this code, not by the input.
    let mut app = DerReader::new(r.read_expected(TICKET, "Ticket")?);
    let mut seq = app.read_sequence("Ticket")?;
    let tkt_vno = explicit_integer(&mut seq, 0, "tkt-vno")?;
    let realm = {
        let mut c = seq.read_context(1, "realm")?;
        general_string(&mut c, "realm")?
    };
    let mut sname_c = seq.read_context(2, "sname")?;
    let mut sname = sname_c.read_sequence("PrincipalName")?;
    let name_type = explicit_integer(&mut sname, 0, "name-type")?;
    let mut parts_c = sname.read_context(1, "name-string")?;
    let mut parts = parts_c.read_sequence("name-string")?;
    let mut components = Vec::new();
    while !parts.is_empty() {
        components.push(general_string(&mut parts, "KerberosString")?);
    }
    let mut enc_c = seq.read_context(3, "enc-part")?;
    let enc = encrypted_data(&mut enc_c, "EncryptedData")?;
    seq.finish_sequence("Ticket")?;
    Ok(json!({
        "tkt_vno": tkt_vno,
        "realm": realm,
        "sname": components.join("/"),
        "sname_type": name_type,
        "enc_part": enc,
    }))
}

/// Decodes the Kerberos message that follows the 2-byte TOK_ID in a krb5 InitialContextToken.
pub fn krb5_value(tok_id: [u8; 2], inner: &[u8]) -> Result<Value, DerError> {
    let mut m = Map::new();
    m.insert(
        "tok_id".into(),
        json!(format!("{:02x}{:02x}", tok_id[0], tok_id[1])),
    );
    let mut r = DerReader::new(inner);
    match r.peek_tag() {
        Some(AP_REQ) => {
            m.insert("message".into(), json!("AP-REQ"));
            let mut app = r.read_constructed(AP_REQ, "AP-REQ")?;
            let mut seq = app.read_sequence("AP-REQ")?;
            m.insert("pvno".into(), json!(explicit_integer(&mut seq, 0, "pvno")?));
            m.insert(
                "msg_type".into(),
                json!(explicit_integer(&mut seq, 1, "msg-type")?),
            );
            let mut opts = seq.read_context(2, "ap-options")?;
            let bits = opts.read_bit_string("ap-options")?;
            let first = bits.bytes().first().copied().unwrap_or(0);
            m.insert(
                "mutual_required".into(),
                json!(first & 0x20 != 0), // bit 2, mutual-required (RFC 4120 §5.5.1)
            );
            let mut t = seq.read_context(3, "ticket")?;
            m.insert("ticket".into(), ticket(&mut t)?);
            let mut a = seq.read_context(4, "authenticator")?;
            m.insert(
                "authenticator".into(),
                encrypted_data(&mut a, "authenticator")?,
            );
            seq.finish_sequence("AP-REQ")?;
        }
        Some(AP_REP) => {
            m.insert("message".into(), json!("AP-REP"));
            let mut app = r.read_constructed(AP_REP, "AP-REP")?;
            let mut seq = app.read_sequence("AP-REP")?;
            m.insert("pvno".into(), json!(explicit_integer(&mut seq, 0, "pvno")?));
            m.insert(
                "msg_type".into(),
                json!(explicit_integer(&mut seq, 1, "msg-type")?),
            );
            let mut e = seq.read_context(2, "enc-part")?;
            m.insert("enc_part".into(), encrypted_data(&mut e, "enc-part")?);
            seq.finish_sequence("AP-REP")?;
        }
        Some(KRB_ERROR) => {
            m.insert("message".into(), json!("KRB-ERROR"));
            let mut app = r.read_constructed(KRB_ERROR, "KRB-ERROR")?;
            let mut seq = app.read_sequence("KRB-ERROR")?;
            m.insert("pvno".into(), json!(explicit_integer(&mut seq, 0, "pvno")?));
            m.insert(
                "msg_type".into(),
                json!(explicit_integer(&mut seq, 1, "msg-type")?),
            );
            // ctime [2], cusec [3] are optional; stime [4], susec [5], error-code [6] follow.
            for n in 2..6u8 {
                let _ = seq.read_optional_constructed(tag::context(n), "KRB-ERROR field")?;
            }
            m.insert(
                "error_code".into(),
                json!(explicit_integer(&mut seq, 6, "error-code")?),
            );
            return Ok(Value::Object(m));
        }
        Some(got) => {
            return Err(DerError::UnexpectedTag {
                what: "Kerberos message",
                expected: AP_REQ,
                got,
            })
        }
        None => {
            return Err(DerError::Missing {
                what: "Kerberos message",
            })
        }
    }
    r.finish("Kerberos message")?;
    Ok(Value::Object(m))
}
