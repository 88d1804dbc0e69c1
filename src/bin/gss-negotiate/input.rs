//! Reading a token for `decode`: a file, standard input or the argument itself, holding raw bytes, base64, or a
//! whole HTTP `Authorization:` / `WWW-Authenticate:` header line (schemes `Negotiate`, `NTLM`, `Kerberos`).

use base64::Engine as _;
use std::io::Read as _;

/// The most the tool reads: far above any real token (the NTLM decoder's own bound is 64 KiB).
const MAX_INPUT: u64 = 1 << 20;

/// The HTTP headers that carry authentication tokens (RFC 9110 §11.6, §11.7).
const AUTH_HEADERS: [&str; 4] = [
    "authorization",
    "www-authenticate",
    "proxy-authorization",
    "proxy-authenticate",
];

/// Where the token came from and how it was encoded.
pub struct Input {
    pub bytes: Vec<u8>,
    /// `base64` or `binary`.
    pub encoding: &'static str,
    /// The HTTP authentication scheme named before the token, if any.
    pub scheme: Option<String>,
}

/// Reads `arg`: `-` or nothing for standard input, an existing file, or the text itself.
pub fn read(arg: Option<&str>) -> Result<Input, String> {
    let raw = match arg {
        None | Some("-") => {
            let mut v = Vec::new();
            std::io::stdin()
                .take(MAX_INPUT)
                .read_to_end(&mut v)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            v
        }
        Some(a) if std::path::Path::new(a).is_file() => {
            let f = std::fs::File::open(a).map_err(|e| format!("cannot open {a}: {e}"))?;
            let mut v = Vec::new();
            f.take(MAX_INPUT)
                .read_to_end(&mut v)
                .map_err(|e| format!("cannot read {a}: {e}"))?;
            v
        }
        Some(a) => a.as_bytes().to_vec(),
    };
    parse(raw)
}

/// Tells binary from text and unwraps a header line and base64.
pub fn parse(raw: Vec<u8>) -> Result<Input, String> {
    // Base64 and header lines are printable ASCII; anything else is taken as the token's own bytes.
    let printable = |b: &u8| matches!(b, b'\t' | b'\n' | b'\r' | 0x20..=0x7e);
    let binary = raw.starts_with(b"NTLMSSP\0")
        || matches!(raw.first(), Some(0x60 | 0xa0 | 0xa1))
        || !raw.iter().all(printable);
    if binary {
        return Ok(Input {
            bytes: raw,
            encoding: "binary",
            scheme: None,
        });
    }
    let text = std::str::from_utf8(&raw)
        .map_err(|e| format!("input is not text (byte {})", e.valid_up_to()))?
        .trim();
    // From a pasted request or response, take the first authentication header line.
    let is_auth_header = |line: &str| {
        line.split_once(':').is_some_and(|(name, _)| {
            AUTH_HEADERS.contains(&name.trim().to_ascii_lowercase().as_str())
        })
    };
    let mut rest = if text.contains('\n') {
        text.lines()
            .map(str::trim)
            .find(|l| is_auth_header(l))
            .unwrap_or(text)
    } else {
        text
    };
    if let Some((name, value)) = rest.split_once(':') {
        let name = name.trim().to_ascii_lowercase();
        if AUTH_HEADERS.contains(&name.as_str()) {
            rest = value.trim();
        }
    }
    let mut scheme = None;
    if let Some((first, tail)) = rest.split_once(char::is_whitespace) {
        if ["negotiate", "ntlm", "kerberos"].contains(&first.to_ascii_lowercase().as_str()) {
            scheme = Some(first.to_string());
            rest = tail.trim();
        }
    } else if ["negotiate", "ntlm", "kerberos"].contains(&rest.to_ascii_lowercase().as_str()) {
        return Err(format!("the {rest} header carries no token"));
    }
    let compact: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err("no token in the input".into());
    }
    let engine = base64::engine::general_purpose::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let bytes = engine.decode(compact.as_bytes()).map_err(|e| match e {
        base64::DecodeError::InvalidByte(at, b) => format!(
            "not base64: character {:?} at offset {at} of the token text",
            char::from(b)
        ),
        other => format!("not base64: {other}"),
    })?;
    Ok(Input {
        bytes,
        encoding: "base64",
        scheme,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_and_schemes_are_unwrapped() {
        let i = parse(b"WWW-Authenticate: Negotiate oQcwBaADCgEA".to_vec()).unwrap();
        assert_eq!(i.scheme.as_deref(), Some("Negotiate"));
        assert_eq!(
            i.bytes,
            [0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x00]
        );
        let i = parse(b"NTLM TlRMTVNTUAABAAAA".to_vec()).unwrap();
        assert!(i.bytes.starts_with(b"NTLMSSP\0"));
        assert!(parse(b"Negotiate".to_vec()).is_err());
        let e = parse(b"Negotiate abc*".to_vec()).err().unwrap();
        assert!(e.contains("offset 3"), "{e}");
        // A pasted response: the first authentication header is used.
        let pasted = b"HTTP/1.1 401 Unauthorized\r\nServer: x\r\nWWW-Authenticate: Negotiate oQcwBaADCgEA\r\n\r\n";
        let i = parse(pasted.to_vec()).unwrap();
        assert_eq!(i.scheme.as_deref(), Some("Negotiate"));
        assert_eq!(i.bytes.len(), 9);
    }
}
