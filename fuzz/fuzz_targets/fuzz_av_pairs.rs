//! Fuzzes the AV pair list decoder (MS-NLMP §2.2.2.1) and its typed getters: no panic, and anything accepted
//! round-trips.
#![no_main]

use gss_negotiate::ntlm::wire::AvPairs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(av) = AvPairs::decode(data) {
        let _ = (av.timestamp(), av.flags(), av.channel_bindings());
        for p in av.iter() {
            let _ = av.get_string(p.id);
        }
        assert_eq!(AvPairs::decode(&av.encode()), Ok(av));
    }
});
