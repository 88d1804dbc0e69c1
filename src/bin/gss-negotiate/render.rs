//! Shared output helpers: hex, FILETIME dates, and the indented text rendering of a decoded tree (the same
//! tree `--json` prints).

use serde_json::Value;
use std::fmt::Write as _;

/// Lower-case hex of `b`.
pub fn hex(b: &[u8]) -> String {
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}

/// A FILETIME (100 ns ticks since 1601-01-01 UTC, MS-DTYP §2.3.3) as ISO 8601 with microseconds.
pub fn filetime_to_iso(ft: u64) -> String {
    // Seconds between 1601-01-01 and 1970-01-01.
    const EPOCH_DIFF: i64 = 11_644_473_600;
    let secs = (ft / 10_000_000) as i64 - EPOCH_DIFF;
    let micros = (ft % 10_000_000) / 10;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("(none)".into()),
        Value::Bool(b) => Some(if *b { "yes" } else { "no" }.into()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(if s.is_empty() {
            "\"\"".into()
        } else {
            s.escape_debug().to_string()
        }),
        _ => None,
    }
}

/// A one-line form for small objects: an OID `{name, oid}`, an AV pair `{id, name, value, ...}`.
fn one_line(v: &Value) -> Option<String> {
    let o = v.as_object()?;
    if let (Some(name), Some(oid), 2) = (o.get("name"), o.get("oid"), o.len()) {
        return Some(format!("{} ({})", name.as_str()?, oid.as_str()?));
    }
    if let (Some(Value::Number(v)), Some(name), 2) = (o.get("value"), o.get("name"), o.len()) {
        return Some(format!("{v} ({})", name.as_str()?));
    }
    if let (Some(name), Some(value), Some(_)) = (o.get("name"), o.get("value"), o.get("id")) {
        let mut s = format!("{}: {}", name.as_str()?, scalar(value)?);
        if let Some(Value::Array(names)) = o.get("flag_names") {
            let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
            let _ = write!(s, " [{}]", names.join(", "));
        }
        if let Some(Value::String(raw)) = o.get("raw") {
            let _ = write!(s, " (raw {raw})");
        }
        return Some(s);
    }
    None
}

/// Renders `v` as an indented tree, `depth` levels deep.
pub fn text(v: &Value, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                if let Some(s) = scalar(v).or_else(|| one_line(v)) {
                    let _ = writeln!(out, "{pad}{k}: {s}");
                } else if let Value::Array(items) = v {
                    if items.is_empty() {
                        let _ = writeln!(out, "{pad}{k}: (empty)");
                        continue;
                    }
                    let _ = writeln!(out, "{pad}{k}:");
                    for item in items {
                        match scalar(item).or_else(|| one_line(item)) {
                            Some(s) => {
                                let _ = writeln!(out, "{pad}  - {s}");
                            }
                            None => {
                                let _ = writeln!(out, "{pad}  -");
                                text(item, depth + 2, out);
                            }
                        }
                    }
                } else {
                    let _ = writeln!(out, "{pad}{k}:");
                    text(v, depth + 1, out);
                }
            }
        }
        other => {
            let _ = writeln!(out, "{pad}{}", scalar(other).unwrap_or_default());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetime_dates_match_known_values() {
        // tokens.json: f8819288991ed601 is 2020-04-30T02:46:22.414079Z.
        let ft = u64::from_le_bytes([0xf8, 0x81, 0x92, 0x88, 0x99, 0x1e, 0xd6, 0x01]);
        assert_eq!(filetime_to_iso(ft), "2020-04-30T02:46:22.414079Z");
        assert_eq!(
            filetime_to_iso(116_444_736_000_000_000),
            "1970-01-01T00:00:00.000000Z"
        );
        assert_eq!(filetime_to_iso(0), "1601-01-01T00:00:00.000000Z");
    }
}
