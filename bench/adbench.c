/*
 * adbench: NTLM logons validated by a domain controller through winbind, through MIT's libgssapi_krb5 (the
 * mechglue) with whichever NTLMSSP plugin GSS_MECH_CONFIG names. Run inside the DC's namespaces
 * (scripts/ad-env.sh exec) by scripts/bench-ad.sh, once per (plugin, thread count): the mechglue loads a plugin
 * once per process, so each measurement is its own process.
 *
 *   adbench [--threads N] [--secs S] [--user DOMAIN\\user] [--pass P] [--spnego] [--count N]
 *
 * Each thread runs full handshakes (initiator and acceptor in this process, credentials acquired once and
 * shared; the acceptor has no user file, so every AUTHENTICATE goes to winbind) for S seconds, or exactly N
 * handshakes per thread with --count (for counting system calls), timing each. Prints one line:
 *   logons=<n> secs=<s> rate=<logons/s> median_us=<µs> p99_us=<µs> max_us=<µs> cpu_us_per_logon=<µs>
 * cpu_us_per_logon is this process's user+system CPU (getrusage: both GSS sides, the plugin and libwbclient)
 * divided by the logons; the domain controller's CPU is measured outside (scripts/bench-ad.sh, /proc).
 *
 * Build: cc -O2 -o adbench bench/adbench.c -lgssapi_krb5 -lpthread
 */
#define _GNU_SOURCE
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static gss_OID_desc ntlm_oid = {10, "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"};
static gss_OID_desc spnego_oid = {6, "\x2b\x06\x01\x05\x05\x02"};
static gss_cred_id_t icred, acred;
static gss_name_t target;
static gss_OID mech;
static double secs = 5;
static long count_per_thread;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die_gss(const char *what, OM_uint32 maj, OM_uint32 min) {
    OM_uint32 m, ctx = 0;
    gss_buffer_desc s;
    fprintf(stderr, "adbench: %s failed: major 0x%x minor %u", what, maj, min);
    gss_display_status(&m, maj, GSS_C_GSS_CODE, GSS_C_NO_OID, &ctx, &s);
    fprintf(stderr, " (%.*s", (int)s.length, (char *)s.value);
    gss_release_buffer(&m, &s);
    ctx = 0;
    gss_display_status(&m, min, GSS_C_MECH_CODE, GSS_C_NO_OID, &ctx, &s);
    fprintf(stderr, "; %.*s)\n", (int)s.length, (char *)s.value);
    gss_release_buffer(&m, &s);
    _exit(3);
}
#define CHECK(what, call)                                                                                        \
    do {                                                                                                         \
        OM_uint32 maj_ = (call);                                                                                 \
        if (GSS_ERROR(maj_)) die_gss(what, maj_, min);                                                           \
    } while (0)

static void setup(const char *user, const char *pass, int spnego) {
    OM_uint32 min;
    gss_name_t uname;
    gss_buffer_desc b;
    gss_OID_set_desc set = {1, spnego ? &spnego_oid : &ntlm_oid};
    gss_OID_set_desc ntlm_only = {1, &ntlm_oid};
    mech = spnego ? &spnego_oid : &ntlm_oid;
    b.value = "host@dc1.ad.test";
    b.length = strlen(b.value);
    CHECK("import target", gss_import_name(&min, &b, GSS_C_NT_HOSTBASED_SERVICE, &target));
    b.value = (void *)user;
    b.length = strlen(user);
    CHECK("import user", gss_import_name(&min, &b, GSS_C_NT_USER_NAME, &uname));
    b.value = (void *)pass;
    b.length = strlen(pass);
    CHECK("acquire initiator cred",
          gss_acquire_cred_with_password(&min, uname, &b, GSS_C_INDEFINITE, &set, GSS_C_INITIATE, &icred, NULL,
                                         NULL));
    gss_release_name(&min, &uname);
    CHECK("acquire acceptor cred",
          gss_acquire_cred(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &set, GSS_C_ACCEPT, &acred, NULL, NULL));
    if (spnego) {
        CHECK("set_neg_mechs initiator", gss_set_neg_mechs(&min, icred, &ntlm_only));
        CHECK("set_neg_mechs acceptor", gss_set_neg_mechs(&min, acred, &ntlm_only));
    }
}

static void handshake(void) {
    OM_uint32 min, imaj, amaj = GSS_S_CONTINUE_NEEDED, flags;
    gss_ctx_id_t ic = GSS_C_NO_CONTEXT, ac = GSS_C_NO_CONTEXT;
    gss_buffer_desc in = GSS_C_EMPTY_BUFFER, out = GSS_C_EMPTY_BUFFER;
    gss_name_t src = GSS_C_NO_NAME;
    int legs = 0;
    while (1) {
        imaj = gss_init_sec_context(&min, icred, &ic, target, mech, GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG, 0,
                                    GSS_C_NO_CHANNEL_BINDINGS, &in, NULL, &out, &flags, NULL);
        if (GSS_ERROR(imaj)) die_gss("init_sec_context", imaj, min);
        gss_release_buffer(&min, &in);
        if (out.length == 0) break;
        if (src != GSS_C_NO_NAME) gss_release_name(&min, &src);
        amaj = gss_accept_sec_context(&min, &ac, acred, &out, GSS_C_NO_CHANNEL_BINDINGS, &src, NULL, &in, &flags,
                                      NULL, NULL);
        if (GSS_ERROR(amaj)) die_gss("accept_sec_context", amaj, min);
        gss_release_buffer(&min, &out);
        if (++legs > 6) { fprintf(stderr, "adbench: handshake does not end\n"); _exit(3); }
        if (in.length == 0) break;
    }
    gss_release_buffer(&min, &in);
    gss_release_buffer(&min, &out);
    if (imaj != GSS_S_COMPLETE || amaj != GSS_S_COMPLETE || src == GSS_C_NO_NAME) {
        fprintf(stderr, "adbench: handshake incomplete (init 0x%x accept 0x%x)\n", imaj, amaj);
        _exit(3);
    }
    /* An application asks who logged on: the initiator name is part of a logon. */
    gss_release_name(&min, &src);
    gss_delete_sec_context(&min, &ic, GSS_C_NO_BUFFER);
    gss_delete_sec_context(&min, &ac, GSS_C_NO_BUFFER);
}

struct worker {
    pthread_t th;
    double *lat; /* seconds per handshake */
    long n, cap;
    double t_end;
};

static void *run(void *p) {
    struct worker *w = p;
    while (count_per_thread ? w->n < count_per_thread : now() < w->t_end) {
        double t0 = now();
        handshake();
        if (w->n == w->cap) {
            w->cap = w->cap ? 2 * w->cap : 4096;
            w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
            if (!w->lat) { perror("realloc"); _exit(3); }
        }
        w->lat[w->n++] = now() - t0;
    }
    return NULL;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double cpu_secs(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
    int threads = 1, spnego = 0;
    const char *user = "ADTEST\\alice", *pass = "Passw0rd!alice";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--secs") && i + 1 < argc) secs = atof(argv[++i]);
        else if (!strcmp(argv[i], "--count") && i + 1 < argc) count_per_thread = atol(argv[++i]);
        else if (!strcmp(argv[i], "--user") && i + 1 < argc) user = argv[++i];
        else if (!strcmp(argv[i], "--pass") && i + 1 < argc) pass = argv[++i];
        else if (!strcmp(argv[i], "--spnego")) spnego = 1;
        else {
            fprintf(stderr, "usage: %s [--threads N] [--secs S | --count N] [--user U] [--pass P] [--spnego]\n",
                    argv[0]);
            return 2;
        }
    }
    if (threads < 1 || threads > 64) { fprintf(stderr, "adbench: 1..64 threads\n"); return 2; }
    setup(user, pass, spnego);
    handshake(); /* warm-up: plugin loaded, winbind connected, names cached */
    struct worker *w = calloc(threads, sizeof *w);
    double cpu0 = cpu_secs(), t0 = now();
    for (int i = 0; i < threads; i++) {
        w[i].t_end = t0 + secs;
        pthread_create(&w[i].th, NULL, run, &w[i]);
    }
    long total = 0;
    for (int i = 0; i < threads; i++) { pthread_join(w[i].th, NULL); total += w[i].n; }
    double elapsed = now() - t0, cpu = cpu_secs() - cpu0;
    double *all = malloc((total ? total : 1) * sizeof *all);
    long k = 0;
    for (int i = 0; i < threads; i++) {
        memcpy(all + k, w[i].lat, w[i].n * sizeof *all);
        k += w[i].n;
        free(w[i].lat);
    }
    qsort(all, total, sizeof *all, cmp);
    double med = total ? all[(total - 1) / 2] : 0, p99 = total ? all[(long)((total - 1) * 0.99)] : 0;
    double max = total ? all[total - 1] : 0;
    printf("logons=%ld secs=%.3f rate=%.1f median_us=%.0f p99_us=%.0f max_us=%.0f cpu_us_per_logon=%.0f\n", total,
           elapsed, total / elapsed, med * 1e6, p99 * 1e6, max * 1e6, total ? cpu / total * 1e6 : 0);
    free(all);
    free(w);
    return 0;
}
