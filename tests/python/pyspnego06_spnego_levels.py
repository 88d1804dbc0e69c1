"""SPNEGO between pyspnego 0.6's own SPNEGO and MIT's SPNEGO over the NTLM plugin, run to completion whatever the
number of tokens, then wrap/unwrap and sign/verify both ways. tests/pyspnego_suite.rs runs it at LM_COMPAT_LEVEL
0-3 with the pyspnego 0.6.3 venv of scripts/pyspnego-suite.sh: pyspnego's own test_negotiate_through_python_ntlm
hard-codes the five-token exchange of NTLMv2, and this shows what the exchange is with NTLMv1 instead.

Usage: python pyspnego06_spnego_levels.py USER PASSWORD  (the user must be in NTLM_USER_FILE; GSS_MECH_CONFIG names
the plugin). Prints one line per direction: "<client>-><server> tokens=N ok"; exits 1 on any failure.
"""
import socket
import sys

import spnego

O = spnego.NegotiateOptions


def exchange(user, password, client_opt, server_opt):
    c = spnego.client(user, password, hostname=socket.gethostname(), protocol="negotiate", options=client_opt)
    s = spnego.server(protocol="negotiate", options=server_opt)
    tokens = 0
    tok = c.step()
    sides = [(s, "server"), (c, "client")]
    turn = 0
    while tok is not None:
        tokens += 1
        if tokens > 10:
            raise RuntimeError("more than 10 tokens")
        ctx, _ = sides[turn % 2]
        tok = ctx.step(tok)
        turn += 1
    if not (c.complete and s.complete):
        raise RuntimeError("exchange ended incomplete: client %s, server %s" % (c.complete, s.complete))
    if c.negotiated_protocol != "ntlm" or s.negotiated_protocol != "ntlm":
        raise RuntimeError("negotiated %s/%s" % (c.negotiated_protocol, s.negotiated_protocol))
    for a, b in ((c, s), (s, c)):
        wrapped = a.wrap(b"payload")
        if b.unwrap(wrapped.data).data != b"payload":
            raise RuntimeError("unwrap gave other data")
        b.verify(b"signed", a.sign(b"signed"))
    return tokens


def main():
    user, password = sys.argv[1], sys.argv[2]
    failed = False
    for name, copt, sopt in (
        ("mit-spnego->pyspnego", O.use_gssapi, O.use_negotiate),
        ("pyspnego->mit-spnego", O.use_negotiate, O.use_gssapi),
    ):
        try:
            print("%s tokens=%d ok" % (name, exchange(user, password, copt, sopt)))
        except Exception as e:  # report every direction, then fail
            print("%s FAILED: %r" % (name, e))
            failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
