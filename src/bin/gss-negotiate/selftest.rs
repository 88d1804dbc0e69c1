//! `gss-negotiate selftest`: a loopback handshake through MIT's real mechglue (`libgssapi_krb5.so.2`, opened
//! at run time), initiator and acceptor in this process, NTLM raw or inside MIT's SPNEGO; each leg is printed
//! decoded, then one message is sealed and unsealed. The account lives in a temporary user file (NT hash
//! only) that is removed at the end.

use gss_negotiate::ntlm::crypto::ntowfv1;
use gss_negotiate::ntlm::secret::Password;
use serde_json::{json, Value};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use zeroize::Zeroizing;

use crate::ffi::{self, Mechglue};
use crate::hash::{read_password, split_account, user_file_line};
use crate::render::hex;

pub struct SelftestArgs {
    pub spnego: bool,
    pub account: Option<String>,
    pub stdin: bool,
    pub plugin: Option<PathBuf>,
    pub json: bool,
}

/// A private temporary directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch, String> {
        let mut r = [0u8; 8];
        getrandom::getrandom(&mut r).map_err(|e| format!("no randomness: {e}"))?;
        let p = std::env::temp_dir().join(format!("gss-negotiate-selftest-{}", hex(&r)));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&p)
            .map_err(|e| format!("cannot create {}: {e}", p.display()))?;
        Ok(Scratch(p))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

struct Legs {
    json: bool,
    list: Vec<Value>,
}

impl Legs {
    fn show(&mut self, direction: &str, token: &[u8]) {
        let n = self.list.len() + 1;
        let tree = match crate::decode::token_value(token, 0) {
            Ok(v) => v,
            Err(e) => json!({"error": e.to_string(), "hex": hex(token)}),
        };
        if !self.json {
            println!("leg {n}: {direction}, {} bytes", token.len());
            let mut text = String::new();
            crate::render::text(&tree, 2, &mut text);
            print!("{text}");
        }
        self.list
            .push(json!({"leg": n, "direction": direction, "length": token.len(), "token": tree}));
    }
}

pub fn run(args: &SelftestArgs) -> Result<ExitCode, String> {
    let scratch = Scratch::new()?;
    // The mechanism configuration: a temporary file naming --plugin, or the system's (as MIT reads it).
    if let Some(plugin) = &args.plugin {
        let abs = plugin
            .canonicalize()
            .map_err(|e| format!("--plugin {}: {e}", plugin.display()))?;
        let conf = scratch.0.join("mech.conf");
        write_private(
            &conf,
            &format!(
                "ntlmssp_gss_negotiate 1.3.6.1.4.1.311.2.2.10 {}\n",
                abs.display()
            ),
        )?;
        std::env::set_var("GSS_MECH_CONFIG", &conf);
    }
    // The account: a random password unless one is given; only its NT hash is written.
    let account = args
        .account
        .clone()
        .unwrap_or_else(|| "SELFTEST\\selftest".into());
    let (domain, user) = split_account(&account);
    let password = if args.account.is_some() {
        read_password(&format!("Password for {account}: "), args.stdin)?
    } else {
        let mut r = Zeroizing::new([0u8; 16]);
        getrandom::getrandom(r.as_mut()).map_err(|e| format!("no randomness: {e}"))?;
        Password::new(Zeroizing::new(hex(r.as_ref())).as_str())
    };
    let line = user_file_line(domain.as_deref(), &user, &ntowfv1(&password));
    drop(password);
    let users = scratch.0.join("users");
    write_private(&users, &Zeroizing::new(format!("{}\n", line.as_str())))?;
    std::env::set_var("NTLM_USER_FILE", &users);
    // Keep Kerberos inert: no KDC, no keytab, no ccache of the user's.
    let krb5 = scratch.0.join("krb5.conf");
    write_private(
        &krb5,
        "[libdefaults]\n  default_realm = SELFTEST.INVALID\n  dns_lookup_kdc = false\n  dns_lookup_realm = false\n",
    )?;
    std::env::set_var("KRB5_CONFIG", &krb5);
    std::env::set_var(
        "KRB5CCNAME",
        format!("FILE:{}", scratch.0.join("ccache").display()),
    );
    std::env::set_var(
        "KRB5_KTNAME",
        format!("FILE:{}", scratch.0.join("keytab").display()),
    );

    let mech = if args.spnego {
        ffi::SPNEGO
    } else {
        ffi::NTLMSSP
    };
    let mech_text = if args.spnego {
        "SPNEGO (NTLMSSP only)"
    } else {
        "NTLMSSP"
    };
    let service = format!("host@{}", hostname());
    if !args.json {
        match std::env::var_os("GSS_MECH_CONFIG") {
            Some(c) => println!(
                "mechanism configuration: GSS_MECH_CONFIG={}",
                c.to_string_lossy()
            ),
            None => println!(
                "mechanism configuration: the system's (/etc/gss/mech, /etc/gss/mech.d/*.conf)"
            ),
        }
        println!("initiator {account} -> acceptor {service}, mechanism {mech_text}");
    }

    let g = Mechglue::open()?;
    let iname = g.import_name(&account, ffi::NT_USER_NAME)?;
    let target = g.import_name(&service, ffi::NT_HOSTBASED_SERVICE)?;
    let icred = g.acquire_cred(Some(&iname), mech, ffi::INITIATE)?;
    let acred = g.acquire_cred(Some(&target), mech, ffi::ACCEPT)?;
    let mut ictx = g.new_context();
    let mut actx = g.new_context();
    let mut legs = Legs {
        json: args.json,
        list: Vec::new(),
    };

    let (mut token, mut init_done) = g.init_step(&icred, &mut ictx, &target, mech, None)?;
    let peer = loop {
        if token.is_empty() {
            return Err("the initiator produced no token although the acceptor expects one".into());
        }
        legs.show("initiator -> acceptor", &token);
        let (back, accept_done, name) = g.accept_step(&mut actx, Some(&acred), &token)?;
        if !back.is_empty() {
            legs.show("acceptor -> initiator", &back);
        }
        if accept_done && (back.is_empty() || init_done) {
            break name;
        }
        let (next, done) = g.init_step(&icred, &mut ictx, &target, mech, Some(&back))?;
        init_done = done;
        if accept_done {
            if !next.is_empty() {
                return Err("the initiator sent a token after the acceptor completed".into());
            }
            break name;
        }
        token = next;
        if legs.list.len() > 8 {
            return Err("no agreement after 8 legs".into());
        }
    };
    if !init_done {
        return Err("the acceptor completed but the initiator did not".into());
    }
    let msg = b"gss-negotiate selftest";
    let back = g.wrap_unwrap(&ictx, &actx, msg)?;
    let sealed_ok = back == msg;
    let peer = peer.unwrap_or_default();
    if args.json {
        let out = json!({
            "mechanism": mech_text,
            "initiator": account,
            "acceptor": service,
            "legs": legs.list,
            "authenticated_as": peer,
            "wrap_unwrap": sealed_ok,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
    } else {
        println!("context established: the acceptor authenticated {peer}");
        println!(
            "gss_wrap -> gss_unwrap: {}",
            if sealed_ok {
                "message intact"
            } else {
                "MISMATCH"
            }
        );
    }
    Ok(if sealed_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
