/*
 * A long handshake loop through MIT's mechglue with the gss-negotiate plugin selected by GSS_MECH_CONFIG
 * (links libgssapi_krb5 only, never the plugin). Driven by tests/leaks.rs: under valgrind memcheck for
 * leaks, and natively for the resident set size over many handshakes.
 *
 * Usage: loop COUNT EVERY. Each handshake: raw NTLMSSP with a credential from
 * gss_acquire_cred_with_password (every 10th through SPNEGO with the default credential of NTLM_USER_FILE,
 * every 7th exporting and re-importing both contexts), then wrap/unwrap and get_mic/verify_mic both ways,
 * a tampered MIC refused, everything released. Every EVERY handshakes (and after the first and the last)
 * prints "rss <handshakes done> <VmRSS kB>".
 *
 * Environment: GSS_MECH_CONFIG, NTLM_USER_FILE (TESTDOM:testuser:Passw0rd!), KRB5_CONFIG, HANDSHAKE_HOST.
 * Prints "loop: <COUNT> handshakes passed" or "FAIL ..." (exit 1).
 */
#define _GNU_SOURCE
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gss_OID_desc ntlmssp_oid = {10, "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"};
static gss_OID_desc spnego_oid = {6, "\x2b\x06\x01\x05\x05\x02"};

static void fail(const char *what, long i, OM_uint32 major, OM_uint32 minor)
{
    fprintf(stderr, "FAIL handshake %ld: %s: major %#x minor %#x\n", i, what, major, minor);
    exit(1);
}

#define CHECK(what, call)                                                                          \
    do {                                                                                           \
        OM_uint32 maj_ = (call);                                                                   \
        if (GSS_ERROR(maj_))                                                                       \
            fail(what, i, maj_, minor);                                                            \
    } while (0)

static long vm_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static void reimport(gss_ctx_id_t *ctx, long i)
{
    OM_uint32 minor;
    gss_buffer_desc tok;
    CHECK("gss_export_sec_context", gss_export_sec_context(&minor, ctx, &tok));
    CHECK("gss_import_sec_context", gss_import_sec_context(&minor, &tok, ctx));
    gss_release_buffer(&minor, &tok);
}

static void one(long i, gss_name_t target)
{
    OM_uint32 major, amajor = GSS_S_CONTINUE_NEEDED, minor;
    gss_ctx_id_t init = GSS_C_NO_CONTEXT, acc = GSS_C_NO_CONTEXT;
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    gss_name_t src = GSS_C_NO_NAME;
    gss_buffer_desc in = GSS_C_EMPTY_BUFFER, out = GSS_C_EMPTY_BUFFER;
    int spnego = i % 10 == 9;
    gss_OID mech = spnego ? &spnego_oid : &ntlmssp_oid;

    if (spnego) {
        gss_OID_set_desc mechs = {1, &spnego_oid}, neg = {1, &ntlmssp_oid};
        CHECK("gss_acquire_cred", gss_acquire_cred(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs,
                                                   GSS_C_INITIATE, &cred, NULL, NULL));
        CHECK("gss_set_neg_mechs", gss_set_neg_mechs(&minor, cred, &neg));
    } else {
        static const char user[] = "TESTDOM\\testuser", pass[] = "Passw0rd!";
        gss_buffer_desc ub = {sizeof user - 1, (void *)user}, pb = {sizeof pass - 1, (void *)pass};
        gss_name_t uname = GSS_C_NO_NAME;
        gss_OID_set_desc mechs = {1, &ntlmssp_oid};
        CHECK("gss_import_name", gss_import_name(&minor, &ub, GSS_C_NT_USER_NAME, &uname));
        CHECK("gss_acquire_cred_with_password",
              gss_acquire_cred_with_password(&minor, uname, &pb, GSS_C_INDEFINITE, &mechs, GSS_C_INITIATE,
                                             &cred, NULL, NULL));
        gss_release_name(&minor, &uname);
    }
    for (int round = 0;; round++) {
        if (round > 5)
            fail("handshake does not finish", i, 0, 0);
        major = gss_init_sec_context(&minor, cred, &init, target, mech,
                                     GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG | GSS_C_REPLAY_FLAG |
                                         GSS_C_SEQUENCE_FLAG,
                                     0, GSS_C_NO_CHANNEL_BINDINGS, &in, NULL, &out, NULL, NULL);
        gss_release_buffer(&minor, &in);
        CHECK("gss_init_sec_context", major);
        if (out.length == 0)
            break;
        if (src != GSS_C_NO_NAME)
            gss_release_name(&minor, &src);
        amajor = gss_accept_sec_context(&minor, &acc, GSS_C_NO_CREDENTIAL, &out, GSS_C_NO_CHANNEL_BINDINGS,
                                        &src, NULL, &in, NULL, NULL, NULL);
        gss_release_buffer(&minor, &out);
        CHECK("gss_accept_sec_context", amajor);
        if (major == GSS_S_COMPLETE && amajor == GSS_S_COMPLETE && in.length == 0)
            break;
    }
    if (major != GSS_S_COMPLETE || amajor != GSS_S_COMPLETE)
        fail("not complete", i, major, amajor);

    gss_buffer_desc name;
    CHECK("gss_display_name", gss_display_name(&minor, src, &name, NULL));
    if (name.length != 16 || memcmp(name.value, "TESTDOM\\testuser", 16) != 0)
        fail("acceptor src_name is not TESTDOM\\testuser", i, 0, 0);
    gss_release_buffer(&minor, &name);

    if (i % 7 == 3) {
        reimport(&init, i);
        reimport(&acc, i);
    }

    char msg[64];
    int len = snprintf(msg, sizeof msg, "handshake %ld message", i);
    gss_buffer_desc m = {(size_t)len, msg}, tok, back;
    gss_ctx_id_t from[2] = {init, acc}, to[2] = {acc, init};
    for (int d = 0; d < 2; d++) {
        CHECK("gss_wrap", gss_wrap(&minor, from[d], 1, GSS_C_QOP_DEFAULT, &m, NULL, &tok));
        CHECK("gss_unwrap", gss_unwrap(&minor, to[d], &tok, &back, NULL, NULL));
        if (back.length != m.length || memcmp(back.value, msg, m.length) != 0)
            fail("unwrap gave other bytes", i, 0, 0);
        gss_release_buffer(&minor, &tok);
        gss_release_buffer(&minor, &back);
        CHECK("gss_get_mic", gss_get_mic(&minor, from[d], GSS_C_QOP_DEFAULT, &m, &tok));
        CHECK("gss_verify_mic", gss_verify_mic(&minor, to[d], &m, &tok, NULL));
        msg[0] ^= 1;
        if (!GSS_ERROR(gss_verify_mic(&minor, to[d], &m, &tok, NULL)))
            fail("MIC over a changed message accepted", i, 0, 0);
        msg[0] ^= 1;
        gss_release_buffer(&minor, &tok);
    }

    gss_delete_sec_context(&minor, &init, GSS_C_NO_BUFFER);
    gss_delete_sec_context(&minor, &acc, GSS_C_NO_BUFFER);
    gss_release_cred(&minor, &cred);
    gss_release_name(&minor, &src);
}

int main(int argc, char **argv)
{
    long count = argc > 1 ? atol(argv[1]) : 1000, every = argc > 2 ? atol(argv[2]) : 1000, i = 0;
    OM_uint32 minor;
    const char *host = getenv("HANDSHAKE_HOST");
    char text[300];
    snprintf(text, sizeof text, "host@%s", host && *host ? host : "localhost");
    gss_buffer_desc tb = {strlen(text), text};
    gss_name_t target = GSS_C_NO_NAME;
    CHECK("gss_import_name", gss_import_name(&minor, &tb, GSS_C_NT_HOSTBASED_SERVICE, &target));
    if (every < 1)
        every = count;
    for (i = 0; i < count; i++) {
        one(i, target);
        if (i == 0 || (i + 1) % every == 0 || i + 1 == count) {
            printf("rss %ld %ld\n", i + 1, vm_rss_kb());
            fflush(stdout);
        }
    }
    gss_release_name(&minor, &target);
    printf("loop: %ld handshakes passed\n", count);
    return 0;
}
