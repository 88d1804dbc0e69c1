"""Channel bindings with NTLM through SPNEGO (issue 11): initiator and acceptor in this process, mechanism SPNEGO,
target host@<argv[1]>, default credentials (NTLM_USER_FILE on the initiator, none on the acceptor). For each case
(bindings on neither side, the same on both, different, initiator only, acceptor only) prints the outcome: the
mechanism established, or the routine error (major status without supplementary bits) and the side that failed.
One JSON object: {case: outcome}. The driver runs it under MIT's SPNEGO and under ours and compares.
"""
import json
import sys

import gssapi
import gssapi.raw as raw

SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
ROUTINE = 0xFF << 16

host = sys.argv[1]
target = gssapi.Name("host@" + host, gssapi.NameType.hostbased_service)


def cb(data):
    return None if data is None else raw.ChannelBindings(application_data=data)


CASES = {
    "none": (None, None),
    "same": (b"tls-server-end-point:A", b"tls-server-end-point:A"),
    "different": (b"tls-server-end-point:A", b"tls-server-end-point:B"),
    "initiator-only": (b"tls-server-end-point:A", None),
    "acceptor-only": (None, b"tls-server-end-point:A"),
}

out = {}
for case, (ini_cb, acc_cb) in CASES.items():
    ini = gssapi.SecurityContext(name=target, mech=SPNEGO, usage="initiate", channel_bindings=cb(ini_cb))
    acc = gssapi.SecurityContext(usage="accept", channel_bindings=cb(acc_cb))
    side = "initiator"
    try:
        tok = ini.step()
        for _ in range(6):
            if ini.complete and acc.complete:
                break
            side = "acceptor"
            tok = acc.step(tok)
            if not ini.complete:
                side = "initiator"
                tok = ini.step(tok)
        if not (ini.complete and acc.complete):
            raise SystemExit(case + ": no completion after 6 rounds")
        out[case] = "established " + acc.mech.dotted_form
    except gssapi.exceptions.GSSError as e:
        out[case] = "%s 0x%x" % (side, e.maj_code & ROUTINE)
        print(case, side, repr(e), file=sys.stderr)  # the text, for the log
print(json.dumps(out))
