/*
 * Linked into MIT krb5's src/tests/gssapi programs by tests/mit_gssapi_suite.rs (scripts/mit-gssapi-tests.sh):
 * those programs name their mechanism through the `mech_krb5` object defined in their common.c (and `mechset_krb5`,
 * which points at it). This constructor points `mech_krb5` at the NTLMSSP OID (MS-NLMP 1.9, 1.3.6.1.4.1.311.2.2.10)
 * before main() runs, so every "krb5" step of a program uses the NTLM mechanism instead, without editing MIT's code.
 * SPNEGO steps (`mech_spnego`, their -s/--spnego options) are left as they are: MIT's SPNEGO then negotiates NTLM,
 * the only mechanism with credentials in the test environment.
 */
#include <gssapi/gssapi.h>

extern gss_OID_desc mech_krb5;

static char ntlmssp_oid[] = "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a";

__attribute__((constructor)) static void
mit_suite_use_ntlm(void)
{
    mech_krb5.length = sizeof(ntlmssp_oid) - 1;
    mech_krb5.elements = ntlmssp_oid;
}
