//! The names a context carries, in the context export token (`gss_export_sec_context`): writers and a
//! bounded reader.

use super::*;

pub(super) const EXPORT_MAGIC: &[u8; 8] = b"GSSNEGX\x01";

pub(super) fn write_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let len = b.len().min(u16::MAX as usize);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(b.get(..len).unwrap_or_default());
}

pub(super) fn write_opt(out: &mut Vec<u8>, s: Option<&String>) {
    match s {
        Some(s) => {
            out.push(1);
            write_str(out, s);
        }
        None => out.push(0),
    }
}

/// Names inside an exported context: tag 0 none, 1 user (user, domain?), 2 service (spn?, host), 3 anonymous.
pub(super) fn write_name(out: &mut Vec<u8>, name: Option<&Name>) {
    match name {
        None => out.push(0),
        Some(Name::User { user, domain }) => {
            out.push(1);
            write_str(out, user);
            write_opt(out, domain.as_ref());
        }
        Some(Name::Service { spn, host }) => {
            out.push(2);
            write_opt(out, spn.as_ref());
            write_str(out, host);
        }
        Some(Name::Anonymous) => out.push(3),
    }
}

pub(super) struct NameReader<'a>(&'a [u8]);

impl<'a> NameReader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn string(&mut self) -> Option<String> {
        let len = u16::from_be_bytes([self.byte()?, self.byte()?]) as usize;
        let body = self.0.get(..len)?;
        self.0 = self.0.get(len..)?;
        String::from_utf8(body.to_vec()).ok()
    }
    fn opt(&mut self) -> Option<Option<String>> {
        match self.byte()? {
            0 => Some(None),
            1 => Some(Some(self.string()?)),
            _ => None,
        }
    }
}

pub(super) fn read_name(b: &[u8]) -> Result<(Option<Name>, &[u8]), ()> {
    let mut r = NameReader(b);
    let name = match r.byte().ok_or(())? {
        0 => None,
        1 => {
            let user = r.string().ok_or(())?;
            Some(Name::User {
                user,
                domain: r.opt().ok_or(())?,
            })
        }
        2 => {
            let spn = r.opt().ok_or(())?;
            Some(Name::Service {
                spn,
                host: r.string().ok_or(())?,
            })
        }
        3 => Some(Name::Anonymous),
        _ => return Err(()),
    };
    Ok((name, r.0))
}
