/* Compiled by tests/header.rs. Checks, with gcc and MIT's own headers:
 *  - the layouts our Rust mirrors assume (src/ffi/types.rs asserts the same numbers on the Rust side);
 *  - that every function we export has MIT's signature (gss_negotiate_exports.h redeclares them with MIT's types:
 *    a mismatch is a "conflicting types" error) — and, for the SPI entry points MIT's public headers do not
 *    declare, the type of the mechglue's dispatch-table slot they fill (CHECK_SPI below);
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

/* The SPI entry points that only the mechglue's internal dispatch table (struct gss_config in krb5's
 * src/lib/gssapi/mechglue/mglueP.h, 1.20) types: each must have that slot's type. The check is at compile time
 * (gcc's __builtin_types_compatible_p, C's compatibility rules: top-level `const` on a parameter — MIT writes
 * `const gss_buffer_t` — does not change a function's type) and links nothing. tests/header.rs requires a
 * CHECK_SPI(<name>, ...) here for every export MIT's public headers do not declare. */
#define CHECK_SPI(name, slot_type)                                                                           \
    _Static_assert(__builtin_types_compatible_p(__typeof__(&name), slot_type),                              \
                   #name " does not have the type of the mechglue's slot")

typedef OM_uint32 (*spi_release_oid_t)(OM_uint32 *, gss_OID *);
typedef OM_uint32 (*spi_acquire_cred_with_password_t)(OM_uint32 *, gss_name_t, gss_buffer_t, OM_uint32,
                                                      gss_OID_set, int, gss_cred_id_t *, gss_OID_set *,
                                                      OM_uint32 *);
typedef OM_uint32 (*spi_import_sec_context_by_mech_t)(OM_uint32 *, gss_OID, gss_buffer_t, gss_ctx_id_t *);
typedef OM_uint32 (*spi_import_name_by_mech_t)(OM_uint32 *, gss_OID, gss_buffer_t, gss_OID, gss_name_t *);
typedef OM_uint32 (*spi_import_cred_by_mech_t)(OM_uint32 *, gss_OID, gss_buffer_t, gss_cred_id_t *);
typedef OM_uint32 (*spi_set_cred_option_t)(OM_uint32 *, gss_cred_id_t *, gss_OID, gss_buffer_t);

CHECK_SPI(gss_internal_release_oid, spi_release_oid_t);
CHECK_SPI(gssspi_acquire_cred_with_password, spi_acquire_cred_with_password_t);
CHECK_SPI(gssspi_import_sec_context_by_mech, spi_import_sec_context_by_mech_t);
CHECK_SPI(gssspi_import_name_by_mech, spi_import_name_by_mech_t);
CHECK_SPI(gssspi_import_cred_by_mech, spi_import_cred_by_mech_t);
CHECK_SPI(gssspi_set_cred_option, spi_set_cred_option_t);

/* The SPNEGO interposer (src/ffi/interposer/): MIT's build_interMech fills the same dispatch-table slots from
 * gssi_<name> as a mechanism's gss_<name>, so each gssi_ function must have the type of the public gss_ function
 * (or of the SPI slot above); gss_mech_interposer is `gss_OID_set (*)(gss_OID)` (g_initialize.c). */
typedef gss_OID_set (*spi_mech_interposer_t)(gss_OID);
CHECK_SPI(gss_mech_interposer, spi_mech_interposer_t);
CHECK_SPI(gssi_accept_sec_context, __typeof__(&gss_accept_sec_context));
CHECK_SPI(gssi_acquire_cred, __typeof__(&gss_acquire_cred));
CHECK_SPI(gssi_acquire_cred_from, __typeof__(&gss_acquire_cred_from));
CHECK_SPI(gssi_acquire_cred_with_password, spi_acquire_cred_with_password_t);
CHECK_SPI(gssi_context_time, __typeof__(&gss_context_time));
CHECK_SPI(gssi_delete_sec_context, __typeof__(&gss_delete_sec_context));
CHECK_SPI(gssi_display_name, __typeof__(&gss_display_name));
CHECK_SPI(gssi_display_status, __typeof__(&gss_display_status));
CHECK_SPI(gssi_duplicate_name, __typeof__(&gss_duplicate_name));
CHECK_SPI(gssi_export_name, __typeof__(&gss_export_name));
CHECK_SPI(gssi_export_sec_context, __typeof__(&gss_export_sec_context));
CHECK_SPI(gssi_get_mic, __typeof__(&gss_get_mic));
CHECK_SPI(gssi_get_name_attribute, __typeof__(&gss_get_name_attribute));
CHECK_SPI(gssi_import_name, __typeof__(&gss_import_name));
CHECK_SPI(gssi_import_name_by_mech, spi_import_name_by_mech_t);
CHECK_SPI(gssi_import_sec_context, __typeof__(&gss_import_sec_context));
CHECK_SPI(gssi_import_sec_context_by_mech, spi_import_sec_context_by_mech_t);
CHECK_SPI(gssi_init_sec_context, __typeof__(&gss_init_sec_context));
CHECK_SPI(gssi_inquire_attrs_for_mech, __typeof__(&gss_inquire_attrs_for_mech));
CHECK_SPI(gssi_inquire_context, __typeof__(&gss_inquire_context));
CHECK_SPI(gssi_inquire_name, __typeof__(&gss_inquire_name));
CHECK_SPI(gssi_internal_release_oid, spi_release_oid_t);
CHECK_SPI(gssi_localname, __typeof__(&gss_localname));
CHECK_SPI(gssi_release_cred, __typeof__(&gss_release_cred));
CHECK_SPI(gssi_release_name, __typeof__(&gss_release_name));
CHECK_SPI(gssi_inquire_cred, __typeof__(&gss_inquire_cred));
CHECK_SPI(gssi_set_neg_mechs, __typeof__(&gss_set_neg_mechs));
CHECK_SPI(gssi_unwrap, __typeof__(&gss_unwrap));
CHECK_SPI(gssi_verify_mic, __typeof__(&gss_verify_mic));
CHECK_SPI(gssi_wrap, __typeof__(&gss_wrap));
CHECK_SPI(gssi_wrap_size_limit, __typeof__(&gss_wrap_size_limit));
/* Issue 11: the extensions MIT's SPNEGO forwards to the negotiated mechanism. */
CHECK_SPI(gssi_compare_name, __typeof__(&gss_compare_name));
CHECK_SPI(gssi_get_mic_iov, __typeof__(&gss_get_mic_iov));
CHECK_SPI(gssi_get_mic_iov_length, __typeof__(&gss_get_mic_iov_length));
CHECK_SPI(gssi_inquire_names_for_mech, __typeof__(&gss_inquire_names_for_mech));
CHECK_SPI(gssi_inquire_sec_context_by_oid, __typeof__(&gss_inquire_sec_context_by_oid));
CHECK_SPI(gssi_process_context_token, __typeof__(&gss_process_context_token));
CHECK_SPI(gssi_pseudo_random, __typeof__(&gss_pseudo_random));
CHECK_SPI(gssi_set_sec_context_option, __typeof__(&gss_set_sec_context_option));
CHECK_SPI(gssi_unwrap_iov, __typeof__(&gss_unwrap_iov));
CHECK_SPI(gssi_verify_mic_iov, __typeof__(&gss_verify_mic_iov));
CHECK_SPI(gssi_wrap_iov, __typeof__(&gss_wrap_iov));
CHECK_SPI(gssi_wrap_iov_length, __typeof__(&gss_wrap_iov_length));
CHECK_SPI(gssi_inquire_cred_by_oid, __typeof__(&gss_inquire_cred_by_oid));
CHECK_SPI(gssi_store_cred, __typeof__(&gss_store_cred));
CHECK_SPI(gssi_store_cred_into, __typeof__(&gss_store_cred_into));
CHECK_SPI(gssi_acquire_cred_impersonate_name, __typeof__(&gss_acquire_cred_impersonate_name));
CHECK_SPI(gssi_export_cred, __typeof__(&gss_export_cred));
CHECK_SPI(gssi_import_cred, __typeof__(&gss_import_cred));
CHECK_SPI(gssi_import_cred_by_mech, spi_import_cred_by_mech_t);

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
