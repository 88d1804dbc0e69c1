//! `gss-negotiate`: the operator's command line for the gss-negotiate GSSAPI mechanism — decode tokens,
//! make user-file lines, keep an NTLM "login" (the NT hash, never the password), check which library MIT's
//! mechglue loads, and run a loopback handshake through the real mechglue.
//!
//! `unsafe` is allowed only in [`ffi`], the dlopen'ed mechglue calls of `selftest`.
#![deny(unsafe_code)]

mod check;
mod cli;
mod decode;
#[cfg(test)]
mod decode_tests;
mod ffi;
mod hash;
mod input;
mod krb5_view;
mod login;
mod man;
mod mechconf;
mod ntlm_view;
mod render;
mod selftest;

use clap::Parser as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    ffi::default_sigpipe();
    let args = cli::Cli::parse();
    let result = match args.command {
        cli::Command::Decode { json, token } => decode_cmd(json, token.as_deref()),
        cli::Command::Hash { user, stdin } => hash::run(user.as_deref(), stdin),
        cli::Command::Login { account, stdin } => login::login(account.as_deref(), stdin),
        cli::Command::Logout => login::logout(),
        cli::Command::Status => login::status(),
        cli::Command::Selftest {
            spnego,
            plugin,
            stdin,
            json,
            account,
        } => selftest::run(&selftest::SelftestArgs {
            spnego,
            account,
            stdin,
            plugin,
            json,
        }),
        cli::Command::Man { dir } => man::run(&dir),
        cli::Command::Check {
            gss_dir,
            root,
            libdir,
            service,
        } => check::run(&check::CheckArgs {
            gss_dir,
            root,
            libdir,
            service,
        }),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("gss-negotiate: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `decode`: prints the tree as text or JSON; an error names the byte offset where decoding stopped.
fn decode_cmd(json: bool, token: Option<&str>) -> Result<ExitCode, String> {
    let input = input::read(token)?;
    let tree =
        decode::token_value(&input.bytes, 0).map_err(|e| format!("cannot decode token {e}"))?;
    let out = serde_json::json!({
        "scheme": input.scheme,
        "encoding": input.encoding,
        "length": input.bytes.len(),
        "token": tree,
    });
    if json {
        let text = serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        let mut text = String::new();
        render::text(&out, 0, &mut text);
        print!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}
