#!/usr/bin/python3
"""Name attributes of a logon validated by a domain controller, seen through python-gssapi and MIT's mechglue.

Run by tests/ad_winbind/ inside the DC's namespaces (scripts/ad-env.sh), with GSS_MECH_CONFIG naming the
plugin and no user file: usage `ad_attrs.py USER PASSWORD`. Logs USER on with NTLMSSP (raw) and through SPNEGO
(limited to NTLMSSP), and prints one JSON object per mode: the acceptor's initiator name, the attribute names of
gss_inquire_name, each attribute's values/display values/authenticated/complete from gss_get_name_attribute,
gss_localname (through ctypes: python-gssapi has no binding), and the same after the acceptor's context was
exported and imported. The Rust test judges the output.
"""
import ctypes
import json
import sys

import gssapi
import gssapi.raw as raw

NTLMSSP = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")


class Buffer(ctypes.Structure):
    _fields_ = [("length", ctypes.c_size_t), ("value", ctypes.c_void_p)]


LIB = ctypes.CDLL("libgssapi_krb5.so.2")


def c_handle(name):
    """The gss_name_t inside a python-gssapi raw.Name (a Cython object: PyObject header, then the handle;
    python-gssapi exposes no accessor). Checked by displaying it through the C API."""
    p = ctypes.c_void_p.from_address(id(name) + 16).value
    minor = ctypes.c_uint32()
    out = Buffer()
    if not p or LIB.gss_display_name(ctypes.byref(minor), ctypes.c_void_p(p), ctypes.byref(out), None) != 0:
        raise AssertionError("cannot find the gss_name_t of %r" % name)
    shown = ctypes.string_at(out.value, out.length).decode()
    LIB.gss_release_buffer(ctypes.byref(minor), ctypes.byref(out))
    if shown != str(name):
        raise AssertionError("gss_name_t displays as %r, not %r" % (shown, str(name)))
    return ctypes.c_void_p(p)


def localname(name):
    """gss_localname(name, NTLMSSP) on the acceptor's own name handle; the text, or 'error: <major>/<minor>'."""
    minor = ctypes.c_uint32()
    out = Buffer()
    maj = LIB.gss_localname(ctypes.byref(minor), c_handle(name), None, ctypes.byref(out))
    if maj != 0:
        return "error: %d/%d" % (maj, minor.value)
    text = ctypes.string_at(out.value, out.length).decode()
    LIB.gss_release_buffer(ctypes.byref(minor), ctypes.byref(out))
    return text


def attrs_of(name):
    info = raw.inquire_name(name, mech_name=True, attrs=True)
    out = {"attrs": [a.decode("utf-8", "replace") for a in (info.attrs or [])], "values": {}}
    for a in info.attrs or []:
        r = raw.get_name_attribute(name, a)
        out["values"][a.decode("utf-8", "replace")] = {
            "values": [bytes(v).decode("utf-8", "replace") for v in r.values],
            "display": [bytes(v).decode("utf-8", "replace") for v in r.display_values],
            "authenticated": bool(r.authenticated),
            "complete": bool(r.complete),
        }
    try:
        raw.get_name_attribute(name, b"urn:gss-negotiate:no-such-attribute")
        out["unknown_attribute"] = "returned a value"
    except raw.GSSError as e:
        out["unknown_attribute"] = "error %d" % e.maj_code
    return out


def logon(user, password, mech):
    name = gssapi.Name(user, gssapi.NameType.user)
    icreds = gssapi.Credentials(
        raw.acquire_cred_with_password(name, password.encode(), usage="initiate", mechs=[NTLMSSP]).creds)
    if mech == SPNEGO:
        icreds = gssapi.Credentials(
            raw.acquire_cred_with_password(name, password.encode(), usage="initiate", mechs=[SPNEGO]).creds)
        raw.set_neg_mechs(icreds, [NTLMSSP])
    target = gssapi.Name("host@dc1.ad.test", gssapi.NameType.hostbased_service)
    ictx = gssapi.SecurityContext(name=target, creds=icreds, mech=mech, usage="initiate")
    actx = gssapi.SecurityContext(usage="accept")
    token = ictx.step()
    for _ in range(6):
        if token:
            token = actx.step(token)
        if token:
            token = ictx.step(token)
        if actx.complete and not token:
            break
    src = actx.initiator_name
    result = {"mode": "spnego" if mech == SPNEGO else "raw", "name": str(src)}
    result.update(attrs_of(src))
    result["localname"] = localname(src)
    # The acceptor's context exported and imported: the initiator name keeps its attributes.
    blob = actx.export()
    back = gssapi.SecurityContext(token=blob)
    result["after_import"] = attrs_of(back.initiator_name)
    return result


def main():
    user, password = sys.argv[1], sys.argv[2]
    for mech in (NTLMSSP, SPNEGO):
        print(json.dumps(logon(user, password, mech)), flush=True)


if __name__ == "__main__":
    main()
