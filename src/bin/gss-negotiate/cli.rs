//! The command-line syntax (clap derive). The man page gss-negotiate(1) is generated from these definitions
//! (`gss-negotiate man`), so the help text here is the documentation.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Decode, check and exercise the gss-negotiate GSSAPI NTLM mechanism.
#[derive(Parser, Debug)]
#[command(
    name = "gss-negotiate",
    version,
    about = "Decode, check and exercise the gss-negotiate GSSAPI NTLM mechanism",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Decode a token: GSS framing, SPNEGO, NTLM or a Kerberos AP-REQ/AP-REP header.
    ///
    /// TOKEN is a file, `-` (standard input, the default) or the text itself: raw bytes, base64, or a whole
    /// `Authorization:` / `WWW-Authenticate:` header line with the `Negotiate` or `NTLM` scheme. Encrypted
    /// parts are shown by length only. A malformed token gives an error with the byte offset where decoding
    /// stopped and exit status 1.
    Decode {
        /// Print the tree as JSON (field names from MS-NLMP and RFC 4178, in snake_case).
        #[arg(long)]
        json: bool,
        /// The token, a file holding it, or `-` for standard input.
        token: Option<String>,
    },
    /// Read a password without echo and print a user-file line (`[DOMAIN\]USER:0:XXX…:NTHASH:`) for
    /// NTLM_USER_FILE.
    Hash {
        /// The account, `USER` or `DOMAIN\USER` (asked for when absent).
        user: Option<String>,
        /// Read the password from the first line of standard input instead of the terminal.
        #[arg(long)]
        stdin: bool,
    },
    /// Keep the NT hash of an account (never the password) as the default NTLM credential — the `kinit` of
    /// NTLM.
    ///
    /// The file is $GSS_NEGOTIATE_LOGIN_FILE, else $XDG_RUNTIME_DIR/gss-negotiate-login, mode 0600. The plugin
    /// uses it when a program gives no credential and neither a credential store nor NTLM_USER_FILE names one.
    Login {
        /// The account, `USER` or `DOMAIN\USER` (asked for when absent).
        account: Option<String>,
        /// Read the password from the first line of standard input instead of the terminal.
        #[arg(long)]
        stdin: bool,
    },
    /// Overwrite and remove the login file (the `kdestroy` of NTLM). Exit status 1 when there was none.
    Logout,
    /// Show the login file's account, age and permissions, never the hash (the `klist` of NTLM). Exit status 1
    /// when not logged in or the file has a problem.
    Status,
    /// Check the setup: which library MIT's mechglue loads for each mechanism and from which file (read the
    /// way the mechglue reads it), the plugin's version, NTLM_USER_FILE and the login file (syntax with line
    /// numbers, permissions), and the host names and SPN the acceptor announces. Exit status 1 when a problem
    /// is found; each one is printed with its fix.
    Check {
        /// Read DIR/mech and DIR/mech.d/*.conf instead of /etc/gss (both ignored when GSS_MECH_CONFIG is set, as
        /// MIT ignores them then).
        #[arg(long, value_name = "DIR")]
        gss_dir: Option<PathBuf>,
        /// A staging root (a DESTDIR): read ROOT/etc/gss and look for the configured libraries under ROOT
        /// (GSS_MECH_CONFIG is then ignored).
        #[arg(long, value_name = "ROOT")]
        root: Option<PathBuf>,
        /// MIT's $libdir, under which relative library paths are taken as gss/PATH (default: where
        /// libgssapi_krb5.so.2 is).
        #[arg(long, value_name = "DIR")]
        libdir: Option<PathBuf>,
        /// The service whose SPN to show (the acceptor announces SERVICE/HOSTNAME).
        #[arg(long, default_value = "HTTP")]
        service: String,
    },
    /// Run a loopback handshake through MIT's real mechglue (libgssapi_krb5.so.2), initiator and acceptor in
    /// this process, printing each leg decoded, then seal and unseal one message.
    ///
    /// The account's NT hash goes to a temporary user file removed at the end; without ACCOUNT a random
    /// password is used. Without --plugin the system's mechanism configuration decides which library MIT loads.
    Selftest {
        /// Negotiate through MIT's SPNEGO (limited to NTLMSSP) instead of raw NTLMSSP.
        #[arg(long)]
        spnego: bool,
        /// Load this library for NTLMSSP (through a temporary GSS_MECH_CONFIG).
        #[arg(long, value_name = "PATH")]
        plugin: Option<PathBuf>,
        /// Read the password from the first line of standard input instead of the terminal.
        #[arg(long)]
        stdin: bool,
        /// Print the legs and the result as JSON.
        #[arg(long)]
        json: bool,
        /// The account, `USER` or `DOMAIN\USER` (its password is asked for).
        account: Option<String>,
    },
    /// Write the manual pages (roff) into DIR: gss-negotiate(1), one page per subcommand, gss-negotiate(5).
    #[command(hide = true)]
    Man {
        /// Output directory.
        dir: PathBuf,
    },
}
