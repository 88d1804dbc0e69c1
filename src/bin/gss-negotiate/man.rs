//! `gss-negotiate man DIR`: writes the manual pages in roff, each generated from one source —
//! gss-negotiate(1) and one page per subcommand from the clap definitions ([`crate::cli`], via clap_mangen),
//! and gss-negotiate(5) (the plugin and its configuration) from `docs/gss-negotiate.5.md`, compiled in and
//! turned into roff by [`markdown_to_roff`], which knows exactly the Markdown that document uses: headings,
//! paragraphs, definition lists (`term` then `: text`), fenced code blocks, tables and inline code.

use clap::CommandFactory as _;
use roff::{bold, roman, Inline, Roff};
use std::path::Path;
use std::process::ExitCode;

const PLUGIN_PAGE: &str = include_str!("../../../docs/gss-negotiate.5.md");

/// Splits text on `code` spans into roman and bold inlines; drops Markdown link brackets.
fn inlines(text: &str) -> Vec<Inline> {
    let text = text
        .replace("[MS-NLMP]", "MS-NLMP")
        .replace("[MS-SPNG]", "MS-SPNG");
    let mut out = Vec::new();
    for (i, part) in text.split('`').enumerate() {
        if part.is_empty() {
            continue;
        }
        out.push(if i % 2 == 1 { bold(part) } else { roman(part) });
    }
    out
}

/// Cells of a Markdown table row (`| a | b |`); backslash-escaped pipes are not used in the document.
fn cells(row: &str) -> Vec<String> {
    row.trim()
        .trim_matches('|')
        .split(" | ")
        .map(|c| c.trim().to_string())
        .collect()
}

/// Converts the subset of Markdown used by docs/gss-negotiate.5.md to a man page.
pub fn markdown_to_roff(md: &str, date: &str) -> String {
    let mut roff = Roff::new();
    let mut para: Vec<String> = Vec::new();
    let mut lines = md.lines().peekable();
    let mut section = String::new();
    let flush = |roff: &mut Roff, para: &mut Vec<String>, section: &str| {
        if !para.is_empty() {
            let mut text = para.join(" ");
            if section == "NAME" {
                // whatis(1) wants "name - description".
                text = text.replacen(" \u{2014} ", " - ", 1);
            }
            roff.control("PP", []);
            roff.text(inlines(&text));
            para.clear();
        }
    };
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if let Some(title) = line.strip_prefix("# ") {
            let (name, section) = title
                .trim_end_matches(')')
                .split_once('(')
                .unwrap_or((title, "5"));
            let version = format!("gss-negotiate {}", env!("CARGO_PKG_VERSION"));
            roff.control(
                "TH",
                [name, section, date, version.as_str(), "File Formats"],
            );
        } else if let Some(h) = line.strip_prefix("## ") {
            flush(&mut roff, &mut para, &section);
            section = h.to_string();
            roff.control("SH", [h]);
        } else if trimmed.starts_with("```") {
            flush(&mut roff, &mut para, &section);
            roff.control("RS", ["4"]).control("nf", []);
            for code in lines.by_ref() {
                if code.trim_start().starts_with("```") {
                    break;
                }
                roff.text([roman(code.trim_start())]);
            }
            roff.control("fi", []).control("RE", []);
        } else if trimmed.starts_with('|') {
            flush(&mut roff, &mut para, &section);
            let header = cells(trimmed);
            let _separator = lines.next();
            while let Some(row) = lines.peek().filter(|l| l.trim_start().starts_with('|')) {
                let c = cells(row);
                lines.next();
                roff.control("TP", []);
                roff.text(inlines(c.first().map_or("", String::as_str)));
                let rest: Vec<String> = header
                    .iter()
                    .zip(c.iter())
                    .skip(1)
                    .map(|(h, v)| {
                        if header.len() > 2 {
                            format!("{h}: {v}")
                        } else {
                            v.clone()
                        }
                    })
                    .collect();
                roff.text(inlines(&rest.join("; ")));
            }
        } else if let Some(def) = trimmed.strip_prefix(": ") {
            // A definition: the term is the paragraph gathered so far.
            let term = std::mem::take(&mut para).join(" ");
            roff.control("TP", []);
            roff.text(inlines(&term));
            let mut text = def.to_string();
            // Continuation lines are indented; a fenced block inside a definition is kept as code.
            while let Some(next) = lines.peek() {
                if next.starts_with("  ") && next.trim_start().starts_with("```") {
                    lines.next();
                    roff.text(inlines(&std::mem::take(&mut text)));
                    roff.control("RS", ["4"]).control("nf", []);
                    for code in lines.by_ref() {
                        if code.trim_start().starts_with("```") {
                            break;
                        }
                        roff.text([roman(code.trim_start())]);
                    }
                    roff.control("fi", []).control("RE", []);
                } else if next.starts_with("  ") {
                    if !text.is_empty() {
                        text.push(' ');
                    }
                    text.push_str(next.trim());
                    lines.next();
                } else if next.trim().is_empty()
                    && lines.clone().nth(1).is_some_and(|l| l.starts_with("  "))
                {
                    lines.next();
                    if !text.is_empty() {
                        roff.text(inlines(&std::mem::take(&mut text)));
                    }
                    roff.control("IP", []);
                } else {
                    break;
                }
            }
            if !text.is_empty() {
                roff.text(inlines(&text));
            }
        } else if trimmed.is_empty() {
            flush(&mut roff, &mut para, &section);
        } else {
            para.push(trimmed.to_string());
        }
    }
    flush(&mut roff, &mut para, &section);
    roff.render()
}

/// The date on the pages: SOURCE_DATE_EPOCH when set (reproducible builds), else today.
fn date() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    let iso = crate::render::filetime_to_iso((secs + 11_644_473_600) * 10_000_000);
    iso.get(..10).unwrap_or("1970-01-01").to_string()
}

pub fn run(dir: &Path) -> Result<ExitCode, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let date = date();
    let cmd = crate::cli::Cli::command()
        .after_long_help(
            "The plugin itself, its environment variables, files and credential store keys are described in \
             gss-negotiate(5).",
        );
    let version = format!("gss-negotiate {}", env!("CARGO_PKG_VERSION"));
    clap_mangen::generate_to(cmd, dir).map_err(|e| format!("cannot write the pages: {e}"))?;
    // generate_to has no date/source options: rewrite the .TH lines it wrote.
    for entry in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|x| x == "1") {
            let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
            let fixed: String = text
                .lines()
                .map(|l| match l.strip_prefix(".TH ") {
                    Some(rest) => {
                        let mut words = rest.split_whitespace();
                        let (name, sec) = (words.next().unwrap_or(""), words.next().unwrap_or("1"));
                        format!(".TH {name} {sec} \"{date}\" \"{version}\" \"User Commands\"\n")
                    }
                    None => format!("{l}\n"),
                })
                .collect();
            std::fs::write(&path, fixed).map_err(|e| e.to_string())?;
        }
    }
    let page5 = dir.join("gss-negotiate.5");
    std::fs::write(&page5, markdown_to_roff(PLUGIN_PAGE, &date))
        .map_err(|e| format!("cannot write {}: {e}", page5.display()))?;
    println!("wrote the manual pages to {}", dir.display());
    Ok(ExitCode::SUCCESS)
}
