#!/usr/bin/python3
"""The handshake of tests/c/handshake.c, from python-gssapi (Debian python3-gssapi).

Run by tests/python_gssapi.rs with GSS_MECH_CONFIG naming the plugin, NTLM_USER_FILE holding
TESTDOM:testuser:Passw0rd!, an inert KRB5_CONFIG and HANDSHAKE_HOST (the target is host@HOST).
python-gssapi links MIT's libgssapi_krb5; the plugin is reached only through the mechglue.

For raw NTLMSSP (credential from acquire_cred_with_password) and SPNEGO (default credential from
the user file, negotiation limited to NTLMSSP): context flags / complete / locally_initiated, names
on both sides, the SSPI session key equal on both sides, export/import of both contexts in the
middle of the message stream, zero-length wrap and MIC, get_wrap_size_limit against real wraps,
wrap/unwrap both ways at 0/1/1024/65536 bytes, tampered tokens rejected; then a wrong password is
refused with a message that says so. Prints one "ok" line per check; any failure raises.
"""
import os
import sys

import gssapi
import gssapi.raw as raw
from gssapi.exceptions import GSSError
from gssapi.raw import GSSError as RawGSSError

NTLMSSP = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
SSPI_SESSION_KEY = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2.5.5")
USER = "TESTDOM\\testuser"
Flag = gssapi.RequirementFlag
REQ = [Flag.integrity, Flag.confidentiality, Flag.replay_detection, Flag.out_of_sequence_detection]

HOST = os.environ.get("HANDSHAKE_HOST") or "localhost"
TARGET = "host@" + HOST
SPN = "host/" + HOST
CHECKS = 0
PHASE = ""


def ok(what):
    global CHECKS
    CHECKS += 1
    print("ok [%s] %s" % (PHASE, what), flush=True)


def expect(cond, what):
    if not cond:
        raise AssertionError("[%s] %s" % (PHASE, what))


def establish(icreds, mech, password_ok=True):
    target = gssapi.Name(TARGET, gssapi.NameType.hostbased_service)
    ictx = gssapi.SecurityContext(name=target, creds=icreds, mech=mech, flags=REQ, usage="initiate")
    actx = gssapi.SecurityContext(usage="accept")
    token = ictx.step()
    for _ in range(6):
        if token:
            token = actx.step(token)
        if token:
            token = ictx.step(token)
        if ictx.complete and actx.complete and not token:
            return ictx, actx
    raise AssertionError("handshake did not complete")


def check_context(ctx, side, local, targ):
    expect(ctx.complete, "%s: not complete" % side)
    expect(ctx.locally_initiated == local, "%s: locally_initiated %r" % (side, ctx.locally_initiated))
    flags = ctx.actual_flags
    for f in REQ + [Flag.transferable]:
        expect(f in flags, "%s: flag %r missing from %r" % (side, f, flags))
    expect(ctx.mech == NTLMSSP, "%s: mech %s" % (side, ctx.mech))
    src = str(ctx.initiator_name)
    expect(src == USER, "%s: initiator name %r" % (side, src))
    expect("\0" not in bytes(ctx.initiator_name).decode("utf-8", "replace"), "%s: NUL in name" % side)
    got_targ = str(ctx.target_name)
    expect(got_targ == targ, "%s: target name %r, want %r" % (side, got_targ, targ))
    ok("%s context: complete, locally_initiated=%s, flags ok, initiator %r, target %r"
       % (side, local, src, got_targ))


def session_key(ctx):
    keys = raw.inquire_sec_context_by_oid(ctx, SSPI_SESSION_KEY)
    expect(len(keys) >= 1 and len(keys[0]) == 16, "session key %r" % (keys,))
    return keys[0]


def roundtrip(a, b, n, direction):
    msg = bytes((i * 31 + n) & 0xFF for i in range(n))
    wrapped = a.wrap(msg, True)
    expect(wrapped.encrypted, "wrap did not encrypt")
    expect(len(wrapped.message) == n + 16, "wrap token %d bytes for %d" % (len(wrapped.message), n))
    if n > 8:
        expect(msg not in wrapped.message, "plaintext visible in the sealed token")
    res = b.unwrap(wrapped.message)
    expect(res.message == msg and res.encrypted, "unwrap gave a different message")
    ok("wrap/unwrap %s %d bytes (token %d bytes)" % (direction, n, len(wrapped.message)))


def mic(a, b, msg, direction):
    sig = a.get_signature(msg)
    b.verify_signature(msg, sig)
    ok("MIC %s %d bytes (MIC %d bytes)" % (direction, len(msg), len(sig)))


def size_limit(ctx, out):
    limit = ctx.get_wrap_size_limit(out, encrypted=True)
    expect(0 < limit <= out, "limit %d for %d" % (limit, out))
    expect(len(ctx.wrap(b"x" * limit, True).message) <= out, "wrap of limit too large")
    expect(len(ctx.wrap(b"x" * (limit + 1), True).message) > out, "limit not tight")
    ok("get_wrap_size_limit(%d) = %d, consistent with real wraps" % (out, limit))


def run(label, mech, with_password):
    global PHASE
    PHASE = label
    if with_password:
        name = gssapi.Name(USER, gssapi.NameType.user)
        icreds = gssapi.Credentials(
            raw.acquire_cred_with_password(name, b"Passw0rd!", usage="initiate", mechs=[mech]).creds)
    else:
        icreds = gssapi.Credentials(usage="initiate", mechs=[mech])
        raw.set_neg_mechs(icreds, [NTLMSSP])
    ictx, actx = establish(icreds, mech)
    ok("context established")
    check_context(ictx, "initiator", True, SPN)
    # An acceptor without a credential name reports the SPN the initiator targeted (its MsvAvTargetName).
    check_context(actx, "acceptor", False, SPN)
    ik, ak = session_key(ictx), session_key(actx)
    expect(ik == ak, "session keys differ")
    ok("SSPI session key: 16 bytes, equal on both sides")

    for n in (0, 1, 1024, 65536):
        roundtrip(ictx, actx, n, "init->acc")
        roundtrip(actx, ictx, n, "acc->init")
    mic(ictx, actx, b"", "init->acc")
    mic(actx, ictx, b"", "acc->init")

    # middle of the stream: both sides exported and imported
    itok, atok = ictx.export(), actx.export()
    ictx, actx = gssapi.SecurityContext(token=itok), gssapi.SecurityContext(token=atok)
    ok("both contexts exported (%d, %d bytes) and imported" % (len(itok), len(atok)))
    roundtrip(ictx, actx, 1024, "init->acc after import")
    roundtrip(actx, ictx, 1024, "acc->init after import")
    roundtrip(ictx, actx, 0, "init->acc after import")
    mic(ictx, actx, b"after import", "init->acc after import")
    mic(actx, ictx, b"", "acc->init after import")
    check_context(ictx, "initiator after import", True, SPN)
    check_context(actx, "acceptor after import", False, SPN)

    size_limit(ictx, 1000)
    size_limit(actx, 70000)

    token = bytearray(ictx.wrap(b"tamper me", True).message)
    token[-1] ^= 1
    try:
        actx.unwrap(bytes(token))
        raise AssertionError("tampered wrap token accepted")
    except (GSSError, RawGSSError) as e:
        ok("tampered wrap token rejected: %s" % e.gen_message().splitlines()[0])
    sig = actx.get_signature(b"tamper me")
    try:
        ictx.verify_signature(b"tamper mE", sig)
        raise AssertionError("MIC over a changed message accepted")
    except (GSSError, RawGSSError) as e:
        ok("MIC over a changed message rejected: %s" % e.gen_message().splitlines()[0])


def wrong_password():
    global PHASE
    PHASE = "wrong password"
    name = gssapi.Name(USER, gssapi.NameType.user)
    icreds = gssapi.Credentials(
        raw.acquire_cred_with_password(name, b"not-the-password", usage="initiate", mechs=[NTLMSSP]).creds)
    try:
        establish(icreds, NTLMSSP)
        raise AssertionError("a wrong password was accepted")
    except (GSSError, RawGSSError) as e:
        text = e.gen_message()
        expect("password" in text, "message does not mention the password: %r" % text)
        ok("refused: %s" % " / ".join(text.splitlines()))


def main():
    run("ntlmssp", NTLMSSP, True)
    run("spnego", SPNEGO, False)
    wrong_password()
    print("python-gssapi: %d checks passed" % CHECKS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
