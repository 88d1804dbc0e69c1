#!/usr/bin/python3
"""Initiator single sign-on from winbind's cached credentials, through python-gssapi and MIT's mechglue.

Run by tests/ad_winbind/ inside the DC's namespaces after `wbinfo --ccache-save` saved alice's password with
winbind, with GSS_MECH_CONFIG naming the plugin, no user file, and NTLMUSER naming the user. The initiator
acquires its default credential (no name, no password); the acceptor (the same plugin) validates through
winbind. Prints one JSON object per case; the Rust test judges them:
  raw / spnego     the acceptor's initiator name, the context flags both sides report
  bindings         the same with channel bindings: the initiator's error
"""
import json
import sys

import gssapi
import gssapi.raw as raw

NTLMSSP = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
Flag = gssapi.RequirementFlag


def establish(mech, bindings=None):
    icreds = gssapi.Credentials(usage="initiate", mechs=[mech])
    if mech == SPNEGO:
        raw.set_neg_mechs(icreds, [NTLMSSP])
    target = gssapi.Name("host@dc1.ad.test", gssapi.NameType.hostbased_service)
    ictx = gssapi.SecurityContext(name=target, creds=icreds, mech=mech, usage="initiate",
                                  flags=[Flag.integrity, Flag.confidentiality], channel_bindings=bindings)
    actx = gssapi.SecurityContext(usage="accept", channel_bindings=bindings)
    token = ictx.step()
    for _ in range(6):
        if token:
            token = actx.step(token)
        if token:
            token = ictx.step(token)
        if ictx.complete and actx.complete and not token:
            break
    wrapped = ictx.wrap(b"sealed by the initiator", True)
    unwrapped = actx.unwrap(wrapped.message)
    return {
        "name": str(actx.initiator_name),
        "initiator_complete": ictx.complete,
        "acceptor_complete": actx.complete,
        "wrap": unwrapped.message.decode(),
        "encrypted": bool(wrapped.encrypted),
    }


def case(label, f):
    try:
        out = {"case": label, "ok": True}
        out.update(f())
    except (gssapi.exceptions.GSSError, raw.GSSError) as e:
        out = {"case": label, "ok": False, "error": str(e)}
    print(json.dumps(out), flush=True)


def main():
    case("raw", lambda: establish(NTLMSSP))
    case("spnego", lambda: establish(SPNEGO))
    cb = raw.ChannelBindings(application_data=b"tls-server-end-point:xyz")
    case("bindings", lambda: establish(NTLMSSP, cb))


if __name__ == "__main__":
    sys.exit(main())
