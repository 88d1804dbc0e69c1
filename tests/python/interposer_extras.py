"""The GSS calls beyond init/accept/wrap/MIC on a SPNEGO context (issue 11: the interposer's missing entry points),
from python-gssapi in one process: the same script runs with our SPNEGO interposer and with MIT's SPNEGO, and the
test compares the two answers.

argv[1]: the target (host-based service, e.g. "host@h" for NTLM from NTLM_USER_FILE, "HTTP@h" for Kerberos);
argv[2]: the name the acceptor should see (for gss_compare_name), argv[3]: its name type ("user" or "krb5").
Prints one JSON object; each call's answer is a value, or {"error": <major status name>} when it failed.
"""
import json
import sys

import gssapi
import gssapi.raw as raw
from gssapi.raw import IOV, IOVBufferType

SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
SESSION_KEY = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2.5.5")  # GSS_C_INQ_SSPI_SESSION_KEY
SASL_SSF = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2.5.15")  # GSS_C_SEC_CONTEXT_SASL_SSF
RESET_CRYPTO = gssapi.OID.from_int_seq("1.3.6.1.4.1.7165.655.1.3")  # NTLM: reset the RC4 state
F = gssapi.RequirementFlag

target = gssapi.Name(sys.argv[1], gssapi.NameType.hostbased_service)
peer_type = gssapi.NameType.user if sys.argv[3] == "user" else gssapi.NameType.kerberos_principal
peer = gssapi.Name(sys.argv[2], peer_type)
other = gssapi.Name("somebody-else", peer_type)


def attempt(f):
    try:
        return f()
    except gssapi.exceptions.GSSError as e:
        return {"error": type(e).__name__, "maj": e.maj_code, "text": e.gen_message()}


ini = gssapi.SecurityContext(
    name=target, mech=SPNEGO, usage="initiate",
    flags=[F.mutual_authentication, F.integrity, F.confidentiality, F.replay_detection, F.out_of_sequence_detection],
)
acc = gssapi.SecurityContext(usage="accept")
tok = ini.step()
for _ in range(6):
    tok = acc.step(tok)
    if not ini.complete:
        tok = ini.step(tok)
    if ini.complete and acc.complete:
        break
else:
    raise SystemExit("no completion")

out = {"mech": acc.mech.dotted_form}

# gss_inquire_sec_context_by_oid: the session key, the same on both sides.
ki = attempt(lambda: raw.inquire_sec_context_by_oid(ini, SESSION_KEY))
ka = attempt(lambda: raw.inquire_sec_context_by_oid(acc, SESSION_KEY))
out["session_key_len"] = len(ki[0]) if isinstance(ki, list) and ki else ki
out["session_keys_equal"] = isinstance(ki, list) and ki == ka and len(ki[0]) > 0
out["session_key_items"] = len(ki) if isinstance(ki, list) else ki
ssf = attempt(lambda: raw.inquire_sec_context_by_oid(acc, SASL_SSF))
out["sasl_ssf"] = int.from_bytes(ssf[0], "big") if isinstance(ssf, list) and ssf else ssf
out["unknown_oid"] = attempt(lambda: raw.inquire_sec_context_by_oid(acc, gssapi.OID.from_int_seq("1.2.3.4")))

# gss_wrap_iov / gss_unwrap_iov / gss_wrap_iov_length.
msg = IOV(b"iov message", std_layout=True)
out["wrap_iov_conf"] = attempt(lambda: raw.wrap_iov(ini, msg, confidential=True))
if isinstance(out["wrap_iov_conf"], bool):
    # What went on the wire, as the peer receives it: header, sealed data, padding, trailer.
    recv = IOV(
        (IOVBufferType.header, False, msg[0].value),
        (IOVBufferType.data, False, msg[1].value),
        (IOVBufferType.padding, False, msg[2].value or b""),
        (IOVBufferType.trailer, False, msg[3].value or b""),
        std_layout=False,
    )
    out["wire_differs"] = msg[1].value != b"iov message"
    r = attempt(lambda: raw.unwrap_iov(acc, recv))
    out["unwrap_iov"] = r if isinstance(r, dict) else recv[1].value.decode()
lengths = IOV(b"x" * 100, std_layout=True, auto_alloc=False)
res = attempt(lambda: raw.wrap_iov_length(ini, lengths, confidential=True))
out["wrap_iov_length_header"] = lengths[0].value and len(lengths[0].value) if not isinstance(res, dict) else res

# gss_wrap_aead / gss_unwrap_aead (built by the mechglue from the IOV calls).
w = attempt(lambda: raw.wrap_aead(acc, b"aead message", None, True))
out["aead"] = (
    attempt(lambda: raw.unwrap_aead(ini, w.message, None).message.decode()) if not isinstance(w, dict) else w
)

# gss_get_mic_iov / gss_verify_mic_iov / gss_get_mic_iov_length.
mic_msg = IOV(b"signed data", (IOVBufferType.sign_only, b"signed too"), IOVBufferType.mic_token, std_layout=False)
got = attempt(lambda: raw.get_mic_iov(ini, mic_msg))
out["get_mic_iov"] = got if isinstance(got, dict) else "ok"
if not isinstance(got, dict):
    # As the peer receives it: the data, the sign-only data and the MIC.
    def received(sign_only):
        return IOV(
            (IOVBufferType.data, False, b"signed data"),
            (IOVBufferType.sign_only, False, sign_only),
            (IOVBufferType.mic_token, False, mic_msg[2].value),
            std_layout=False,
        )

    r = attempt(lambda: raw.verify_mic_iov(acc, received(b"signed too")))
    out["verify_mic_iov"] = r if isinstance(r, dict) else "ok"
    r = attempt(lambda: raw.verify_mic_iov(acc, received(b"altered")))
    out["verify_mic_iov_altered"] = r if isinstance(r, dict) else "ok"
mic_len = IOV(b"signed data", IOVBufferType.mic_token, std_layout=False, auto_alloc=False)
res = attempt(lambda: raw.get_mic_iov_length(ini, mic_len))
out["get_mic_iov_length"] = len(mic_len[1].value or b"") if not isinstance(res, dict) else res

# gss_set_sec_context_option: NTLM's RC4 reset on both ends of one direction; the stream goes on.
def option(ctx, value):
    r = attempt(lambda: raw.set_sec_context_option(RESET_CRYPTO, ctx, value.to_bytes(4, sys.byteorder)))
    return r if isinstance(r, dict) else "ok"


out["set_option"] = option(ini, 0)
out["set_option_peer"] = option(acc, 1)
out["after_option"] = attempt(lambda: acc.unwrap(ini.wrap(b"after the option", True).message).message.decode())

# gss_compare_name: the authenticated name against the expected one and another one.
out["compare_peer"] = attempt(lambda: acc.initiator_name == peer)
out["compare_other"] = attempt(lambda: acc.initiator_name == other)
out["compare_self"] = attempt(lambda: acc.initiator_name == acc.initiator_name)

# gss_inquire_names_for_mech for SPNEGO.
out["names_for_mech"] = sorted(o.dotted_form for o in raw.inquire_names_for_mech(SPNEGO))

# gss_process_context_token: a token that is not a context token.
out["process_context_token"] = attempt(lambda: raw.process_context_token(acc, b"\x01\x02\x03\x04"))

print(json.dumps(out, default=str))
