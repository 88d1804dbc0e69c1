//! The token of `gss_export_cred` / `gss_import_cred` ([`Credential::export`], [`Credential::import`]): the
//! credential's halves in a small versioned, length-prefixed format with a bounded reader — anything truncated,
//! unknown or trailing is refused.
#![forbid(unsafe_code)]

use std::path::PathBuf;

use zeroize::Zeroizing;

use super::config::Backend;
use super::{Acceptor, Credential, Initiator};
use crate::names::Name;
use crate::ntlm::secret::Key16;
use crate::status::{GssError, Minor, GSS_S_DEFECTIVE_TOKEN};

impl Credential {
    /// Serializes for `gss_export_cred`. The token carries the NT/LM hashes, as gss-ntlmssp's does: it is as
    /// secret as the password and the caller must protect it. Layout (all lengths u32 big-endian):
    /// `"GSSNEGC" 1`, flags-present u8 [+ u32], initiator tag u8 (0 none, 1 user, 2 anonymous, 3 winbind's
    /// cached credentials) [+ user, domain?, nt 16, lm? | user, domain], acceptor tag u8 (0/1) [+ spn?, host, keyfile?]; strings as len + UTF-8, options as u8 0/1.
    pub fn export(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Zeroizing::new(Vec::with_capacity(96));
        w.extend_from_slice(b"GSSNEGC\x01");
        put_opt(&mut w, self.neg_flags.as_ref(), |w, f| {
            w.extend_from_slice(&f.to_be_bytes())
        });
        match &self.initiator {
            None => w.push(0),
            Some(Initiator::User {
                user,
                domain,
                nt_hash,
                lm_hash,
            }) => {
                w.push(1);
                put_str(&mut w, user);
                put_opt(&mut w, domain.as_ref(), |w, d| put_str(w, d));
                w.extend_from_slice(nt_hash.as_bytes());
                put_opt(&mut w, lm_hash.as_ref(), |w, k| {
                    w.extend_from_slice(k.as_bytes())
                });
            }
            Some(Initiator::Anonymous) => w.push(2),
            Some(Initiator::Winbind { user, domain }) => {
                w.push(3);
                put_str(&mut w, user);
                put_str(&mut w, domain);
            }
        }
        match &self.acceptor {
            None => w.push(0),
            Some(a) => {
                // Tag 2 = tag 1's fields followed by the back-end (u8: 0 auto, 1 file, 2 winbind).
                w.push(if a.backend.is_some() { 2 } else { 1 });
                let (spn, host) = match &a.name {
                    Name::Service { spn, host } => (spn.clone(), host.clone()),
                    other => (None, other.display()),
                };
                put_opt(&mut w, spn.as_ref(), |w, s| put_str(w, s));
                put_str(&mut w, &host);
                let keyfile = a.keyfile.as_ref().map(|p| p.to_string_lossy().into_owned());
                put_opt(&mut w, keyfile.as_ref(), |w, s| put_str(w, s));
                if let Some(b) = a.backend {
                    w.push(match b {
                        Backend::Auto => 0,
                        Backend::File => 1,
                        Backend::Winbind => 2,
                    });
                }
            }
        }
        w
    }

    /// Parses a token made by [`Credential::export`]; anything malformed or trailing is an error.
    pub fn import(token: &[u8]) -> Result<Credential, GssError> {
        let mut r = Reader(token);
        if r.take(8)? != b"GSSNEGC\x01" {
            return Err(bad_token(
                "not a gss-negotiate credential token (version 1)",
            ));
        }
        let neg_flags = r.opt(|r| r.u32())?;
        let initiator = match r.u8()? {
            0 => None,
            1 => {
                let user = r.string()?;
                let domain = r.opt(Reader::string)?;
                let nt_hash = r.key()?;
                let lm_hash = r.opt(Reader::key)?;
                Some(Initiator::User {
                    user,
                    domain,
                    nt_hash,
                    lm_hash,
                })
            }
            2 => Some(Initiator::Anonymous),
            3 => Some(Initiator::Winbind {
                user: r.string()?,
                domain: r.string()?,
            }),
            _ => return Err(bad_token("unknown initiator tag")),
        };
        let acceptor = match r.u8()? {
            0 => None,
            tag @ (1 | 2) => {
                let spn = r.opt(Reader::string)?;
                let host = r.string()?;
                let keyfile = r.opt(Reader::string)?.map(PathBuf::from);
                let backend = if tag == 2 {
                    Some(match r.u8()? {
                        0 => Backend::Auto,
                        1 => Backend::File,
                        2 => Backend::Winbind,
                        _ => return Err(bad_token("unknown back-end")),
                    })
                } else {
                    None
                };
                Some(Acceptor {
                    name: Name::Service { spn, host },
                    keyfile,
                    backend,
                })
            }
            _ => return Err(bad_token("unknown acceptor tag")),
        };
        if !r.0.is_empty() {
            return Err(bad_token("trailing bytes"));
        }
        Ok(Credential {
            initiator,
            acceptor,
            neg_flags,
        })
    }
}

fn bad_token(d: &str) -> GssError {
    GssError::with_detail(GSS_S_DEFECTIVE_TOKEN, Minor::BadCredToken, d.to_string())
}

fn put_str(w: &mut Vec<u8>, s: &str) {
    // Names and paths come from bounded sources; a string over 4 GiB cannot reach here.
    w.extend_from_slice(&(s.len() as u32).to_be_bytes());
    w.extend_from_slice(s.as_bytes());
}

fn put_opt<T>(w: &mut Vec<u8>, v: Option<&T>, f: impl FnOnce(&mut Vec<u8>, &T)) {
    match v {
        None => w.push(0),
        Some(v) => {
            w.push(1);
            f(w, v);
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], GssError> {
        let (head, rest) = self
            .0
            .split_at_checked(n)
            .ok_or_else(|| bad_token("truncated"))?;
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, GssError> {
        self.take(1)?
            .first()
            .copied()
            .ok_or_else(|| bad_token("truncated"))
    }
    fn u32(&mut self) -> Result<u32, GssError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_be_bytes(b))
    }
    fn string(&mut self) -> Result<String, GssError> {
        let n = usize::try_from(self.u32()?).map_err(|_| bad_token("length overflows"))?;
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| bad_token("string is not UTF-8"))
    }
    fn key(&mut self) -> Result<Key16, GssError> {
        Key16::from_slice(self.take(16)?).ok_or_else(|| bad_token("truncated key"))
    }
    fn opt<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, GssError>,
    ) -> Result<Option<T>, GssError> {
        match self.u8()? {
            0 => Ok(None),
            1 => f(self).map(Some),
            _ => Err(bad_token("bad option marker")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use crate::names::parse_user;
    use crate::ntlm::secret::Password;

    #[test]
    fn export_import_round_trips_and_rejects_corruption() {
        let mut c = acquire_with_password(
            &parse_user("DOM\\u").unwrap(),
            &Password::new("x"),
            CredUsage::Initiate,
        )
        .unwrap();
        c.neg_flags = Some(0xE208_8297);
        c.acceptor = Some(Acceptor {
            name: Name::Service {
                spn: Some("HTTP/h".into()),
                host: "h".into(),
            },
            keyfile: Some("/k".into()),
            backend: None,
        });
        let tok = c.export();
        assert_eq!(Credential::import(&tok), Ok(c.clone()));
        if let Some(a) = c.acceptor.as_mut() {
            a.backend = Some(Backend::Winbind);
        }
        let with_backend = c.export();
        assert_eq!(Credential::import(&with_backend), Ok(c));
        let mut bad_backend = with_backend.to_vec();
        if let Some(last) = bad_backend.last_mut() {
            *last = 9;
        }
        assert!(Credential::import(&bad_backend).is_err());
        for cut in 0..tok.len() {
            assert!(Credential::import(&tok[..cut]).is_err(), "cut {cut}");
        }
        let mut trailing = tok.to_vec();
        trailing.push(0);
        assert!(Credential::import(&trailing).is_err());
        let anon = Credential {
            initiator: Some(Initiator::Anonymous),
            ..Default::default()
        };
        assert_eq!(Credential::import(&anon.export()), Ok(anon));
        let cached = Credential {
            initiator: Some(Initiator::Winbind {
                user: "alice".into(),
                domain: "ADTEST".into(),
            }),
            ..Default::default()
        };
        let tok = cached.export();
        assert_eq!(Credential::import(&tok), Ok(cached.clone()));
        assert_eq!(
            cached.name(),
            Some(Name::User {
                user: "alice".into(),
                domain: Some("ADTEST".into())
            })
        );
        for cut in 0..tok.len() {
            assert!(Credential::import(&tok[..cut]).is_err(), "cut {cut}");
        }
    }
}
