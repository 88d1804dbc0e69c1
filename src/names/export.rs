//! The exported name token of RFC 2743 §3.2 (`gss_export_name`, and the name of an exported context): its
//! layout, the body each kind of name exports as, and the strict parser that gives back an equal name.

use super::{bad_name, parse_user, utf8_name, Name, MAX_NAME_LEN};
use crate::oids;
use crate::status::{GssError, Minor, GSS_S_BAD_NAME, GSS_S_BAD_NAMETYPE, GSS_S_DEFECTIVE_TOKEN};

impl Name {
    /// The exported name token (RFC 2743 §3.2): `04 01`, OID length (2 bytes BE), DER OID, name length (4 bytes
    /// BE), name. The name is [`Name::export_body`]; no trailing NUL. A body over [`MAX_NAME_LEN`] bytes (which
    /// [`import_exported`] would refuse) is refused here, so what exports imports back.
    pub fn export(&self) -> Result<Vec<u8>, GssError> {
        let body = self.export_body().into_bytes();
        if body.len() > MAX_NAME_LEN {
            return Err(GssError::with_detail(
                GSS_S_BAD_NAME,
                Minor::NameTooLong,
                format!("the exported name would be {} bytes", body.len()),
            ));
        }
        let oid_len = oids::NTLMSSP.len();
        let mut out = Vec::with_capacity(2 + 2 + 2 + oid_len + 4 + body.len());
        out.extend_from_slice(&[0x04, 0x01]);
        out.extend_from_slice(&((oid_len + 2) as u16).to_be_bytes());
        out.extend_from_slice(&[0x06, oid_len as u8]);
        out.extend_from_slice(oids::NTLMSSP);
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// The name inside an exported name token. A service is its SPN `service/host` (the display form, as
    /// gss-ntlmssp's export through MIT's mechglue gives it, without its NUL), or `/host` when it names only a
    /// host; a user or the anonymous name is its display form, which always has a `\` where it has a `/`
    /// (a domainless user with a `/` is written `\user`, which parses back to the same user). So a body is a
    /// service exactly when it has a `/` and no `\`, and [`import_exported`] gives back an equal name.
    pub fn export_body(&self) -> String {
        match self {
            Name::Service { spn: Some(spn), .. } => spn.clone(),
            Name::Service { spn: None, host } => format!("/{host}"),
            _ => {
                let shown = self.display();
                if shown.contains('/') && !shown.contains('\\') {
                    format!("\\{shown}")
                } else {
                    shown
                }
            }
        }
    }

    /// The service an SPN names (`service/instance[...]`, as an initiator sends it in MsvAvTargetName): its
    /// host part is everything after the first `/`. `None` for what is no such SPN or would not export and
    /// import back to itself: empty parts, an `@` in the service, a `\`, control characters, over
    /// [`MAX_NAME_LEN`] bytes.
    pub fn from_spn(spn: &str) -> Option<Name> {
        if spn.len() > MAX_NAME_LEN || spn.chars().any(char::is_control) {
            return None;
        }
        match service_from_body(spn)? {
            n @ Name::Service { spn: Some(_), .. } => Some(n),
            _ => None,
        }
    }
}

/// A service from an exported name body (see [`Name::export_body`]); `None` when the body is none.
fn service_from_body(body: &str) -> Option<Name> {
    if body.contains('\\') {
        return None;
    }
    let (service, host) = body.split_once('/')?;
    if host.is_empty() || service.contains('@') {
        return None;
    }
    Some(Name::Service {
        spn: (!service.is_empty()).then(|| body.to_string()),
        host: host.to_string(),
    })
}

/// Parses an exported name token made by [`Name::export`] (RFC 2743 §3.2). Trailing bytes are an error.
pub fn import_exported(token: &[u8]) -> Result<Name, GssError> {
    let bad = |d: &str| {
        GssError::with_detail(GSS_S_DEFECTIVE_TOKEN, Minor::BadExportedName, d.to_string())
    };
    let (hdr, rest) = token
        .split_at_checked(4)
        .ok_or_else(|| bad("token too short"))?;
    if hdr.get(..2) != Some(&[0x04, 0x01][..]) {
        return Err(bad("not an exported name token (04 01)"));
    }
    let oid_field_len = usize::from(u16::from_be_bytes([
        hdr.get(2).copied().unwrap_or(0),
        hdr.get(3).copied().unwrap_or(0),
    ]));
    let (oid_field, rest) = rest
        .split_at_checked(oid_field_len)
        .ok_or_else(|| bad("OID runs past the end"))?;
    let expected_oid = [&[0x06, oids::NTLMSSP.len() as u8][..], oids::NTLMSSP].concat();
    if oid_field != expected_oid.as_slice() {
        return Err(GssError::with_detail(
            GSS_S_BAD_NAMETYPE,
            Minor::WrongMech,
            "exported name of another mechanism",
        ));
    }
    let (len_bytes, body) = rest
        .split_at_checked(4)
        .ok_or_else(|| bad("name length missing"))?;
    let mut len_arr = [0u8; 4];
    len_arr.copy_from_slice(len_bytes);
    let body_len =
        usize::try_from(u32::from_be_bytes(len_arr)).map_err(|_| bad("name length overflows"))?;
    if body.len() != body_len {
        return Err(bad("name length does not match the token length"));
    }
    let body = utf8_name(body)?;
    if body.contains('/') && !body.contains('\\') {
        return service_from_body(body)
            .ok_or_else(|| bad_name(format!("invalid exported service name '{body}'")));
    }
    // The anonymous name exports as its display form, which parses back to `Name::Anonymous`.
    parse_user(body)
}

#[cfg(test)]
mod tests {
    use super::super::tests::FakeSys;
    use super::super::*;
    use crate::status::GSS_S_BAD_NAMETYPE;

    #[test]
    fn export_token_has_rfc2743_layout_and_round_trips() {
        let n = parse_user("DOM\\alice").unwrap();
        let tok = n.export().unwrap();
        let mut want = vec![0x04, 0x01, 0x00, 0x0c, 0x06, 0x0a];
        want.extend_from_slice(oids::NTLMSSP);
        want.extend_from_slice(&[0, 0, 0, 9]);
        want.extend_from_slice(b"DOM\\alice");
        assert_eq!(tok, want);
        assert_eq!(import(&tok, NameType::Export, &FakeSys), Ok(n));
        let anon = Name::Anonymous.export().unwrap();
        assert_eq!(import_exported(&anon), Ok(Name::Anonymous));
    }

    #[test]
    fn service_names_export_as_their_spn_and_import_back_equal() {
        // MIT's t_export_name -k h:host@<host>: a host-based service MN exports (RFC 2743 §3.2) and the token
        // imports back to an equal name, which exports to the same token.
        let s = import(b"host@vm.example.com", NameType::Hostbased, &FakeSys).unwrap();
        let tok = s.export().unwrap();
        let mut want = vec![0x04, 0x01, 0x00, 0x0c, 0x06, 0x0a];
        want.extend_from_slice(oids::NTLMSSP);
        want.extend_from_slice(&[0, 0, 0, 19]);
        want.extend_from_slice(b"host/vm.example.com");
        assert_eq!(tok, want);
        assert_eq!(import(&tok, NameType::Export, &FakeSys), Ok(s.clone()));
        // gss-ntlmssp's export (MIT's mechglue around its display name) has the same body plus a NUL.
        let mut ntlmssp = want.clone();
        ntlmssp[19] = 20;
        ntlmssp.push(0);
        assert_eq!(import_exported(&ntlmssp), Ok(s));
        for name in [
            import(b"HTTP@web", NameType::Hostbased, &FakeSys).unwrap(),
            import(b"@web", NameType::Hostbased, &FakeSys).unwrap(),
            import(b"", NameType::Hostbased, &FakeSys).unwrap(),
            Name::from_spn("HTTP/web.example.com:8080").unwrap(),
            Name::from_spn("ldap/dc.example.com/example.com").unwrap(),
            Name::from_spn("MSSQLSvc/db@x").unwrap(),
            // Users whose display has a `/` (and no `\`) must not come back as services.
            parse_user("a/b").unwrap(),
            parse_user("D\\a/b").unwrap(),
            parse_user("\\a/b@x").unwrap(),
        ] {
            let tok = name.export().unwrap();
            let back = import_exported(&tok).unwrap();
            assert_eq!(back, name, "{}", name.display());
            assert_eq!(back.export().unwrap(), tok, "{}", name.display());
        }
        assert_eq!(
            parse_user("a/b").unwrap().export_body(),
            "\\a/b",
            "a domainless user with a `/` is escaped"
        );
        assert_eq!(
            import(b"@web", NameType::Hostbased, &FakeSys)
                .unwrap()
                .export_body(),
            "/web"
        );
        // A name whose exported body would exceed MAX_NAME_LEN (found by fuzz_names: a long service name gets
        // `/host` appended) is refused rather than exported to a token that does not import.
        let long = import(&[b'z'; MAX_NAME_LEN - 4], NameType::Hostbased, &FakeSys).unwrap();
        assert_eq!(long.export().unwrap_err().minor, Minor::NameTooLong);
        // Bodies with a `/` that are no service are refused, not taken as users.
        for body in ["/", "svc/", "a@b/c"] {
            let mut t = want[..16].to_vec();
            t.extend_from_slice(&(body.len() as u32).to_be_bytes());
            t.extend_from_slice(body.as_bytes());
            assert_eq!(
                import_exported(&t).unwrap_err().major,
                GSS_S_BAD_NAME,
                "{body}"
            );
        }
    }

    #[test]
    fn from_spn_takes_only_spns_that_round_trip() {
        assert_eq!(
            Name::from_spn("host/vm.example.com"),
            import(b"host@vm.example.com", NameType::Hostbased, &FakeSys).ok()
        );
        let long = format!("HTTP/{}", "h".repeat(MAX_NAME_LEN));
        for bad in [
            "",
            "host",
            "/h",
            "h/",
            "a\\b/c",
            "s/h\\x",
            "s@x/h",
            "s/h\nforged",
            &long,
        ] {
            assert_eq!(Name::from_spn(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn import_exported_rejects_malformed_tokens() {
        let good = parse_user("alice").unwrap().export().unwrap();
        for cut in 0..good.len() {
            assert!(import_exported(&good[..cut]).is_err(), "truncated at {cut}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(import_exported(&trailing).is_err());
        let mut other_mech = good.clone();
        other_mech[15] ^= 1;
        assert_eq!(
            import_exported(&other_mech).unwrap_err().major,
            GSS_S_BAD_NAMETYPE
        );
        let mut bad_len = good;
        bad_len[3] = 0xff;
        assert!(import_exported(&bad_len).is_err());
    }
}
