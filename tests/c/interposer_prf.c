/*
 * gss_pseudo_random (RFC 4401) on a SPNEGO context, one process through MIT's mechglue (python-gssapi 1.8 has no
 * binding for it). Driven by tests/interposer_kerberos.rs and tests/interposer_python.rs with a GSS_MECH_CONFIG
 * with or without our interposer line.
 *
 * argv[1]: the target host-based service ("HTTP@host" for Kerberos from the default ccache and keytab, "host@host"
 * for NTLM from NTLM_USER_FILE). Negotiates SPNEGO with default credentials on both sides, then asks both contexts
 * for 64 bytes of GSS_C_PRF_KEY_FULL and GSS_C_PRF_KEY_PARTIAL output over the same input.
 *
 * Prints one line: "prf <major of the initiator's call> <equal|differ> <length>" per key, e.g.
 * "prf full 0 equal 64"; the major is printed in decimal. Before them, "peer <major> <name>": the acceptor
 * was called with a NULL src_name, and gss_inquire_context + gss_display_name still name the initiator.
 * Exits 1 when the handshake fails.
 */
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <stdio.h>
#include <string.h>

static gss_OID_desc spnego_oid = {6, "\x2b\x06\x01\x05\x05\x02"};

int main(int argc, char **argv)
{
    OM_uint32 major, minor, amaj = GSS_S_CONTINUE_NEEDED, imaj = GSS_S_CONTINUE_NEEDED;
    gss_buffer_desc name_buf, itok = GSS_C_EMPTY_BUFFER, atok = GSS_C_EMPTY_BUFFER;
    gss_name_t target = GSS_C_NO_NAME;
    gss_ctx_id_t ini = GSS_C_NO_CONTEXT, acc = GSS_C_NO_CONTEXT;
    int rounds = 0;

    if (argc < 2)
        return 2;
    name_buf.value = argv[1];
    name_buf.length = strlen(argv[1]);
    major = gss_import_name(&minor, &name_buf, GSS_C_NT_HOSTBASED_SERVICE, &target);
    if (GSS_ERROR(major)) {
        fprintf(stderr, "import_name: %#x %#x\n", major, minor);
        return 1;
    }
    while (imaj == GSS_S_CONTINUE_NEEDED || amaj == GSS_S_CONTINUE_NEEDED) {
        if (++rounds > 8) {
            fprintf(stderr, "no completion\n");
            return 1;
        }
        if (imaj == GSS_S_CONTINUE_NEEDED) {
            gss_release_buffer(&minor, &itok);
            imaj = gss_init_sec_context(&minor, GSS_C_NO_CREDENTIAL, &ini, target, &spnego_oid,
                                        GSS_C_MUTUAL_FLAG | GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG, 0,
                                        GSS_C_NO_CHANNEL_BINDINGS, &atok, NULL, &itok, NULL, NULL);
            if (GSS_ERROR(imaj)) {
                fprintf(stderr, "init_sec_context: %#x %#x\n", imaj, minor);
                return 1;
            }
        }
        if (itok.length == 0)
            break;
        gss_release_buffer(&minor, &atok);
        amaj = gss_accept_sec_context(&minor, &acc, GSS_C_NO_CREDENTIAL, &itok, GSS_C_NO_CHANNEL_BINDINGS, NULL,
                                      NULL, &atok, NULL, NULL, NULL);
        if (GSS_ERROR(amaj)) {
            fprintf(stderr, "accept_sec_context: %#x %#x\n", amaj, minor);
            return 1;
        }
        if (atok.length == 0 && imaj == GSS_S_COMPLETE)
            break;
    }
    {
        gss_name_t peer = GSS_C_NO_NAME;
        gss_buffer_desc shown = GSS_C_EMPTY_BUFFER;
        major = gss_inquire_context(&minor, acc, &peer, NULL, NULL, NULL, NULL, NULL, NULL);
        if (!GSS_ERROR(major))
            major = gss_display_name(&minor, peer, &shown, NULL);
        printf("peer %u %.*s\n", major, (int)shown.length, shown.value ? (char *)shown.value : "");
        gss_release_buffer(&minor, &shown);
        gss_release_name(&minor, &peer);
    }
    for (int key = GSS_C_PRF_KEY_FULL; key <= GSS_C_PRF_KEY_PARTIAL; key++) {
        gss_buffer_desc in = {11, "prf input 1"}, iout = GSS_C_EMPTY_BUFFER, aout = GSS_C_EMPTY_BUFFER;
        OM_uint32 im = gss_pseudo_random(&minor, ini, key, &in, 64, &iout);
        OM_uint32 am = gss_pseudo_random(&minor, acc, key, &in, 64, &aout);
        int equal = im == GSS_S_COMPLETE && am == GSS_S_COMPLETE && iout.length == aout.length &&
                    iout.length > 0 && memcmp(iout.value, aout.value, iout.length) == 0;
        printf("prf %s %u %s %zu\n", key == GSS_C_PRF_KEY_FULL ? "full" : "partial", im,
               equal ? "equal" : "differ", iout.length);
        gss_release_buffer(&minor, &iout);
        gss_release_buffer(&minor, &aout);
    }
    gss_release_buffer(&minor, &itok);
    gss_release_buffer(&minor, &atok);
    gss_delete_sec_context(&minor, &ini, GSS_C_NO_BUFFER);
    gss_delete_sec_context(&minor, &acc, GSS_C_NO_BUFFER);
    gss_release_name(&minor, &target);
    return 0;
}
