#!/usr/bin/env python3
"""HTTP Negotiate/NTLM test client for tests/http_negotiate.rs.

Runs a multi-leg HTTP authentication over ONE http.client connection (connection-bound auth, as
mod_auth_gssapi's GssapiConnectionBound needs for NTLM), then optionally more requests on the same
connection without an Authorization header. Prints one JSON object on stdout.

Usage: negotiate_client.py ENGINE CONNECT_PORT HOST PATH [--scheme Negotiate|NTLM] [--requests N]
                           [--user DOM\\user --password PW] [--finish 1]
--finish 1: step the context with the token of the final (non-401) response too, as a client that checks
            mutual authentication does (the initiator context completes; curl never does this).
ENGINE: gssapi-spnego   python-gssapi, SPNEGO mech (MIT's SPNEGO: Kerberos first, then NTLM)
        gssapi-ntlmssp  python-gssapi, the NTLMSSP mech directly (raw NTLM tokens)
        pyspnego-negotiate  pyspnego's pure-Python SPNEGO around its pure-Python NTLM
        pyspnego-ntlm       pyspnego's pure-Python NTLM (raw NTLM tokens)
The connection goes to 127.0.0.1:CONNECT_PORT; HOST is the Host header and the service name HTTP@HOST.
"""
import base64
import http.client
import json
import sys


def make_context(engine, host, user, password):
    if engine.startswith("gssapi-"):
        import gssapi

        oids = {
            "gssapi-spnego": "1.3.6.1.5.5.2",
            "gssapi-ntlmssp": "1.3.6.1.4.1.311.2.2.10",
        }
        mech = gssapi.OID.from_int_seq(oids[engine])
        name = gssapi.Name("HTTP@" + host, gssapi.NameType.hostbased_service)
        ctx = gssapi.SecurityContext(name=name, mech=mech, usage="initiate")

        def step(token):
            return ctx.step(token)

        return step, lambda: ctx.complete
    if engine.startswith("pyspnego-"):
        import spnego

        protocol = {"pyspnego-negotiate": "negotiate", "pyspnego-ntlm": "ntlm"}[engine]
        options = {
            "pyspnego-negotiate": spnego.NegotiateOptions.use_negotiate,
            "pyspnego-ntlm": spnego.NegotiateOptions.use_ntlm,
        }[engine]
        ctx = spnego.client(
            username=user,
            password=password,
            hostname=host,
            service="HTTP",
            protocol=protocol,
            options=options,
        )

        def step(token):
            return ctx.step(token)

        return step, lambda: ctx.complete
    raise SystemExit("unknown engine " + engine)


def server_token(resp, scheme):
    for value in resp.msg.get_all("WWW-Authenticate") or []:
        parts = value.split(None, 1)
        if parts and parts[0].lower() == scheme.lower() and len(parts) == 2:
            return base64.b64decode(parts[1].strip())
    return None


def main():
    args = sys.argv[1:]
    engine, port, host, path = args[0], int(args[1]), args[2], args[3]
    opts = dict(zip(args[4::2], args[5::2]))
    scheme = opts.get("--scheme", "Negotiate")
    nreq = int(opts.get("--requests", "1"))
    user = opts.get("--user")
    password = opts.get("--password")
    out = {"engine": engine, "scheme": scheme, "legs": [], "bodies": [], "statuses": []}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        step, complete = make_context(engine, host, user, password)
        token = step(None)
        out["first_token_b64"] = base64.b64encode(token or b"").decode()
        status = None
        for _ in range(6):
            headers = {"Host": "%s:%d" % (host, port)}
            if token:
                headers["Authorization"] = "%s %s" % (scheme, base64.b64encode(token).decode())
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            body = resp.read().decode(errors="replace")
            status = resp.status
            reply = server_token(resp, scheme)
            out["legs"].append({"status": status, "sent": bool(token),
                                "reply_b64": base64.b64encode(reply).decode() if reply else None,
                                "www_authenticate": resp.msg.get_all("WWW-Authenticate") or []})
            if status != 401 or reply is None:
                if opts.get("--finish") == "1" and reply is not None and not complete():
                    step(reply)
                    out["finished"] = True
                break
            token = step(reply)
            if not token:
                break
        out["statuses"].append(status)
        out["bodies"].append(body)
        # More requests on the same (authenticated) connection, with no Authorization header.
        for _ in range(nreq - 1):
            conn.request("GET", path, headers={"Host": "%s:%d" % (host, port)})
            resp = conn.getresponse()
            out["bodies"].append(resp.read().decode(errors="replace"))
            out["statuses"].append(resp.status)
        out["complete"] = bool(complete())
        out["local_port"] = conn.sock.getsockname()[1] if conn.sock else None
    except Exception as e:  # reported to the test, which decides
        out["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        conn.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
