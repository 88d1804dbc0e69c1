/* Compiled by tests/header.rs. Checks, with gcc and MIT's own headers:
 *  - the layouts our Rust mirrors assume (src/ffi/types.rs asserts the same numbers on the Rust side);
 *  - that every function we export has MIT's signature (gss_negotiate_exports.h redeclares them with MIT's types:
 *    a mismatch is a "conflicting types" error);
 *  - that the constants of include/gss_negotiate.h agree with MIT's OIDs. */
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "gss_negotiate.h"
#include "gss_negotiate_exports.h"

_Static_assert(sizeof(OM_uint32) == 4, "OM_uint32");
_Static_assert(sizeof(gss_buffer_desc) == 16 && offsetof(gss_buffer_desc, value) == 8, "gss_buffer_desc");
_Static_assert(sizeof(gss_OID_desc) == 16 && offsetof(gss_OID_desc, elements) == 8, "gss_OID_desc");
_Static_assert(sizeof(gss_OID_set_desc) == 16, "gss_OID_set_desc");
_Static_assert(sizeof(struct gss_channel_bindings_struct) == 64, "channel bindings");
_Static_assert(offsetof(struct gss_channel_bindings_struct, acceptor_addrtype) == 24, "cb acceptor_addrtype");
_Static_assert(offsetof(struct gss_channel_bindings_struct, application_data) == 48, "cb application_data");
_Static_assert(sizeof(gss_buffer_set_desc) == 16, "gss_buffer_set_desc");
_Static_assert(sizeof(gss_key_value_element_desc) == 16, "gss_key_value_element_desc");
_Static_assert(sizeof(gss_key_value_set_desc) == 16 && offsetof(gss_key_value_set_desc, elements) == 8, "kv set");
_Static_assert(sizeof(gss_iov_buffer_desc) == 24, "gss_iov_buffer_desc");
_Static_assert(sizeof(gss_cred_usage_t) == sizeof(int), "gss_cred_usage_t");

int main(void)
{
    /* Our documented constants against the OIDs MIT exports. */
    gss_OID_desc ntlmssp = { GSS_NEGOTIATE_NTLMSSP_OID_LENGTH, (void *)GSS_NEGOTIATE_NTLMSSP_OID_STRING };
    if (sizeof(GSS_NEGOTIATE_NTLMSSP_OID_STRING) - 1 != ntlmssp.length ||
        memcmp(ntlmssp.elements, "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a", 10) != 0) {
        puts("NTLMSSP OID constants wrong");
        return 1;
    }
    if (GSS_NEGOTIATE_OPT_NEG_FLAGS != 5 || GSS_NEGOTIATE_PRIVATE_OID_LENGTH != 11 ||
        sizeof(GSS_NEGOTIATE_NEG_FLAGS_OID_STRING) - 1 != GSS_NEGOTIATE_PRIVATE_OID_LENGTH) {
        puts("private OID constants wrong");
        return 1;
    }
    return 0;
}
