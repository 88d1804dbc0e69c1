//! Fuzzes GSS name parsing (`gss_import_name` for every name type, RFC 2743 §4; the exported name token of
//! RFC 2743 §3.2; SPNs as an initiator sends them in MsvAvTargetName): no panic; every name (host-based services
//! included) exports unless its exported body would be over `MAX_NAME_LEN`, its token imports back to an equal name that exports to the same token (MIT's
//! `t_export_name` check); display forms of user names parse back to a matching name.
#![no_main]

use gss_negotiate::names::{self, Name, NameSystem, NameType};
use libfuzzer_sys::fuzz_target;

struct FakeSys;

impl NameSystem for FakeSys {
    fn hostname(&self) -> Option<String> {
        Some("host.example".into())
    }
    fn user_of_uid(&self, uid: u32) -> Option<String> {
        (uid < 1000).then(|| format!("user{uid}"))
    }
}

fuzz_target!(|data: &[u8]| {
    let sys = FakeSys;
    for ty in [
        NameType::User,
        NameType::Hostbased,
        NameType::Anonymous,
        NameType::Export,
        NameType::MachineUid,
        NameType::StringUid,
    ] {
        let Ok(name) = names::import(data, ty, &sys) else {
            continue;
        };
        let shown = name.display();
        // A foreign domain never falls back to the bare user; a listed (local) one may.
        if let (
            Ok(c),
            Name::User {
                domain: Some(_), ..
            },
        ) = (name.localname_candidates(&["LOCALDOM"]), &name)
        {
            let local = matches!(&name, Name::User { domain: Some(d), .. } if d.eq_ignore_ascii_case("LOCALDOM"));
            assert_eq!(c.len(), if local { 2 } else { 1 }, "{c:?}");
        }
        let _ = name.name_type_oid();
        assert!(name.matches(&name));
        round_trip(&name);
        if let Name::User { .. } = name {
            let back = names::parse_user(&shown).expect("display form re-parses");
            assert!(
                back.matches(&name),
                "{name:?} displayed as {shown:?} parsed as {back:?}"
            );
        }
    }
    let _ = NameType::from_oid(Some(data));
    if let Some(name) = std::str::from_utf8(data).ok().and_then(Name::from_spn) {
        round_trip(&name);
    }
});

fn round_trip(name: &Name) {
    let token = match name.export() {
        Ok(token) => token,
        // Only a name whose exported body would be over the import limit is refused.
        Err(e) => {
            assert!(name.export_body().len() > names::MAX_NAME_LEN, "{name:?}: {e:?}");
            return;
        }
    };
    let back = names::import_exported(&token).expect("exported name re-imports");
    assert_eq!(&back, name, "{name:?} exported as {:?}", name.export_body());
    assert_eq!(back.export().expect("re-export"), token, "{name:?}");
}
