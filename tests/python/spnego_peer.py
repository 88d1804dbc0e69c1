#!/usr/bin/env python3
"""SPNEGO peer for tests/spnego_interop.rs: the other side of a negotiation with our Rust SPNEGO engine.

    spnego_peer.py mit|pyspnego initiator|acceptor [TARGET]

`mit` is MIT krb5's own SPNEGO (python-gssapi with mech 1.3.6.1.5.5.2; NTLM comes from the plugin named by
GSS_MECH_CONFIG, credentials from NTLM_USER_FILE). `pyspnego` is pyspnego's pure-Python Negotiate
(NegotiateOptions.use_negotiate), NTLM from the same user file. Tokens travel as lines `TOKEN <base64>` on
stdin/stdout. TARGET is the initiator's host-based service (default HTTP@server.test). Once the context is established the peer prints `DONE <negotiated mech>`, then `MIC <base64>` of
b"from the peer", reads `MIC <base64>` of b"from rust" and verifies it, and prints `OK` (or `ERROR <text>`).
"""
import base64
import sys


def send(tag, data=b""):
    print(tag, base64.b64encode(data).decode(), flush=True)


def recv(expect):
    line = sys.stdin.readline().split()
    if not line or line[0] != expect:
        raise SystemExit("expected %s, got %r" % (expect, line))
    return base64.b64decode(line[1]) if len(line) > 1 else b""


def main():
    impl, role = sys.argv[1], sys.argv[2]
    target_name = sys.argv[3] if len(sys.argv) > 3 else "HTTP@server.test"
    if impl == "mit":
        import gssapi

        spnego = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
        if role == "initiator":
            target = gssapi.Name(target_name, gssapi.NameType.hostbased_service)
            ctx = gssapi.SecurityContext(name=target, mech=spnego, usage="initiate")
        else:
            creds = gssapi.Credentials(usage="accept", mechs=[spnego])
            ctx = gssapi.SecurityContext(creds=creds, usage="accept")
        step = ctx.step
        sign = ctx.get_signature
        verify = ctx.verify_signature

        def mech():
            return str(ctx.mech)
    else:
        import spnego as sp

        opts = sp.NegotiateOptions.use_negotiate
        if role == "initiator":
            ctx = sp.client("testuser", "Passw0rd!", hostname="server.test", service="HTTP",
                            protocol="negotiate", options=opts)
        else:
            ctx = sp.server(protocol="negotiate", options=opts)
        step = ctx.step
        sign = ctx.sign
        verify = ctx.verify

        def mech():
            return ctx.negotiated_protocol

    token = None
    if role == "initiator":
        send("TOKEN", step())
    while True:
        if ctx.complete:
            break
        token = recv("TOKEN")
        out = step(token)
        if out:
            send("TOKEN", out)
    print("DONE", mech(), flush=True)
    send("MIC", sign(b"from the peer"))
    theirs = recv("MIC")
    verify(b"from rust", theirs)
    print("OK", flush=True)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # report, do not hang the test
        print("ERROR", type(e).__name__, str(e).replace("\n", " "), flush=True)
        sys.exit(1)
