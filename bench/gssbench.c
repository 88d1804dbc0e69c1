/*
 * gssbench: gss-negotiate against Debian's gss-ntlmssp, both through MIT's libgssapi_krb5 (the mechglue).
 *
 * Each plugin is selected with GSS_MECH_CONFIG (a temporary config file naming only that plugin). The mechglue
 * loads a plugin once per process, so every measurement runs in a fresh child process (fork), alternating the two
 * plugins round by round (ABBA order); the parent prints the median of the rounds for each plugin and the ratio.
 *
 *   gssbench [--quick] [--rounds N] [--secs S] [--ours SO] [--theirs SO] [--no-userfile] [--only LIST]
 *            LIST: comma-separated test names (raw,spnego,wrap1k,wrap1m,mic1k,threads,ctxheap,user1,userbig,
 *                  ipose,ikrb5)
 *            [--interposer OID] [--krb5 DIR] [--policy FILE]
 *   gssbench --alloc ours|theirs|ipose N [--spnego] [--krb5 DIR] [--interposer OID]
 *                                               N raw (or SPNEGO) handshakes in this process, no timing
 *                                               (for valgrind memcheck / callgrind); "ipose" loads our SPNEGO
 *                                               interposer too; --krb5 makes the SPNEGO handshakes Kerberos
 *   gssbench --instr-interleaved raw|spnego N --interposer OID
 *                                               the interleaved run of the "ipose" figures with N handshakes of
 *                                               each kind (blocks of 16, no timing), valgrind callgrind's
 *                                               collection switched on only around the blocks of the kind named
 *                                               (run under valgrind --collect-atstart=no): the instructions the
 *                                               clock ratio is made of, in the heap state of that run
 *
 * --interposer OID adds a third configuration: our NTLM line plus the line "<name> OID <ours> <interposer>"
 * (issue 11: our SPNEGO replaces MIT's for every SPNEGO call), and the "ipose" figures, side by side in one run,
 * each configuration in fresh children, the order rotated round by round:
 *   raw NTLM (no interposer) | SPNEGO+NTLM, MIT's SPNEGO | SPNEGO+NTLM, our interposer | raw NTLM, interposer loaded
 * and with --krb5 DIR (a scripts/http-env.sh directory whose client ccache holds a TGT: KRB5_CONFIG=DIR/krb5.conf,
 * KRB5CCNAME=DIR/client/ccache, KRB5_KTNAME=DIR/http.keytab, target HTTP@<HOST from DIR/state>, replay cache off
 * on both sides) the "ikrb5" figures: SPNEGO+Kerberos through MIT's SPNEGO and through our interposer.
 * Each ratio is also given paired by round (the two figures of one round ran seconds apart), and every round adds
 * an interleaved run: raw NTLM and SPNEGO+NTLM through our interposer in one process (the interposer's
 * configuration), alternating in timed blocks of 16 handshakes, so that the host's changing speed (other guests)
 * falls on both alike; its ratio is the precise one on a shared machine.
 *
 * Measured (initiator and acceptor in one process, credentials acquired once, contexts deleted each time):
 *   raw      full raw NTLMSSP handshake (NEGOTIATE, CHALLENGE, AUTHENTICATE), handshakes/s
 *   spnego   the same inside MIT's SPNEGO (mechListMIC included), handshakes/s
 *   wrap1k   gss_wrap (sealed) + gss_unwrap of 1 KiB, MiB/s of payload
 *   wrap1m   the same at 1 MiB
 *   mic1k    gss_get_mic + gss_verify_mic of 1 KiB, pairs/s
 *   threads  raw handshakes/s with 1 thread and with 2 threads (shared credentials)
 *   ctxheap  heap held per established context (glibc mallinfo2), initiator and acceptor side
 *   userfile acceptor with a 1,000,000-entry NTLM_USER_FILE (the user on the last line) against a 1-entry file:
 *            first handshake (includes any load), steady handshakes/s, resident memory added by the first one
 *
 * Build: cc -O2 -o gssbench bench/gssbench.c -lgssapi_krb5 -lpthread   (scripts/bench.sh does it)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#endif
#endif
#ifndef CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_TOGGLE_COLLECT do { } while (0)
#define GSSBENCH_NO_CALLGRIND 1
#endif

#define USER "testuser"
#define DOMAIN "TESTDOM"
#define PASSWORD "Passw0rd!"

static gss_OID_desc ntlm_oid = {10, "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"};
static gss_OID_desc spnego_oid = {6, "\x2b\x06\x01\x05\x05\x02"};
static gss_OID_desc krb5_oid = {9, "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die_gss(const char *what, OM_uint32 maj, OM_uint32 min) {
    OM_uint32 m, ctx = 0;
    gss_buffer_desc s;
    fprintf(stderr, "gssbench[%d]: %s failed: major 0x%x minor %u", (int)getpid(), what, maj, min);
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

/* ---- per-process GSS state ---- */
static gss_cred_id_t icred, acred;  /* initiator / acceptor credentials for the selected mech */
static gss_name_t target;
static gss_OID mech;
static char krb5_target[300]; /* HTTP@<host> of the --krb5 environment */

static void setup(int spnego) {
    OM_uint32 min;
    char host[256], svc[300];
    gss_name_t uname;
    gss_buffer_desc b;
    gss_OID_set_desc set = {1, spnego ? &spnego_oid : &ntlm_oid};
    gss_OID_set_desc ntlm_only = {1, &ntlm_oid};
    mech = spnego ? &spnego_oid : &ntlm_oid;
    gethostname(host, sizeof host);
    host[sizeof host - 1] = 0;
    snprintf(svc, sizeof svc, "host@%s", host);
    b.value = svc;
    b.length = strlen(svc);
    CHECK("import target", gss_import_name(&min, &b, GSS_C_NT_HOSTBASED_SERVICE, &target));
    b.value = DOMAIN "\\" USER;
    b.length = strlen(b.value);
    CHECK("import user", gss_import_name(&min, &b, GSS_C_NT_USER_NAME, &uname));
    b.value = PASSWORD;
    b.length = strlen(PASSWORD);
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

/* SPNEGO with Kerberos only: the initiator's TGT from KRB5CCNAME, the acceptor's key from KRB5_KTNAME. */
static void setup_krb5(void) {
    OM_uint32 min;
    gss_buffer_desc b = {strlen(krb5_target), krb5_target};
    gss_OID_set_desc set = {1, &spnego_oid};
    gss_OID_set_desc krb5_only = {1, &krb5_oid};
    mech = &spnego_oid;
    CHECK("import krb5 target", gss_import_name(&min, &b, GSS_C_NT_HOSTBASED_SERVICE, &target));
    CHECK("acquire krb5 initiator cred",
          gss_acquire_cred(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &set, GSS_C_INITIATE, &icred, NULL, NULL));
    CHECK("acquire krb5 acceptor cred",
          gss_acquire_cred(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &set, GSS_C_ACCEPT, &acred, NULL, NULL));
    CHECK("set_neg_mechs krb5 initiator", gss_set_neg_mechs(&min, icred, &krb5_only));
    CHECK("set_neg_mechs krb5 acceptor", gss_set_neg_mechs(&min, acred, &krb5_only));
}

/* With GSSBENCH_LEGS set, the interleaved run times every call of a handshake on its own (leg_time[which][call]:
 * init, accept, init, ... then the two deletes) and prints the means per handshake to stderr. */
static int legs_on, legs_which;
static double leg_time[2][10], leg_t0;
static void leg_start(void) {
    if (legs_on) leg_t0 = now();
}
static void leg_done(int i) {
    if (legs_on) leg_time[legs_which][i < 10 ? i : 9] += now() - leg_t0;
}

/* One full handshake; returns the two established contexts (or deletes them when out pointers are NULL). */
static void handshake(gss_ctx_id_t *ic_out, gss_ctx_id_t *ac_out) {
    OM_uint32 min, imaj = GSS_S_CONTINUE_NEEDED, amaj = GSS_S_CONTINUE_NEEDED, flags;
    gss_ctx_id_t ic = GSS_C_NO_CONTEXT, ac = GSS_C_NO_CONTEXT;
    gss_buffer_desc in = GSS_C_EMPTY_BUFFER, out = GSS_C_EMPTY_BUFFER;
    int legs = 0, call = 0;
    while (1) {
        leg_start();
        imaj = gss_init_sec_context(&min, icred, &ic, target, mech,
                                    GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG, 0,
                                    GSS_C_NO_CHANNEL_BINDINGS, &in, NULL, &out, &flags, NULL);
        leg_done(call++);
        if (GSS_ERROR(imaj)) die_gss("init_sec_context", imaj, min);
        gss_release_buffer(&min, &in);
        if (out.length == 0) break;
        leg_start();
        amaj = gss_accept_sec_context(&min, &ac, acred, &out, GSS_C_NO_CHANNEL_BINDINGS, NULL, NULL, &in, &flags,
                                      NULL, NULL);
        leg_done(call++);
        if (GSS_ERROR(amaj)) die_gss("accept_sec_context", amaj, min);
        gss_release_buffer(&min, &out);
        if (++legs > 6) { fprintf(stderr, "gssbench: handshake does not end\n"); _exit(3); }
        if (in.length == 0) break;
    }
    gss_release_buffer(&min, &in);
    gss_release_buffer(&min, &out);
    if (imaj != GSS_S_COMPLETE || amaj != GSS_S_COMPLETE) {
        fprintf(stderr, "gssbench: handshake incomplete (init 0x%x accept 0x%x)\n", imaj, amaj);
        _exit(3);
    }
    if (ic_out) *ic_out = ic; else { leg_start(); gss_delete_sec_context(&min, &ic, GSS_C_NO_BUFFER); leg_done(8); }
    if (ac_out) *ac_out = ac; else { leg_start(); gss_delete_sec_context(&min, &ac, GSS_C_NO_BUFFER); leg_done(9); }
}

/* Runs f(arg) repeatedly for at least `secs` seconds; returns calls per second. */
static double rate(void (*f)(void *), void *arg, double secs, long min_calls) {
    long n = 0;
    double t0 = now(), t;
    do {
        for (int i = 0; i < 8; i++) f(arg);
        n += 8;
        t = now();
    } while (t - t0 < secs || n < min_calls);
    return n / (t - t0);
}

static void hs_once(void *unused) { (void)unused; handshake(NULL, NULL); }

struct msgs { gss_ctx_id_t ic, ac; size_t len; unsigned char *data; };

static void wrap_once(void *p) {
    struct msgs *m = p;
    OM_uint32 min;
    int conf = 0;
    gss_buffer_desc in = {m->len, m->data}, tok, out;
    CHECK("wrap", gss_wrap(&min, m->ic, 1, GSS_C_QOP_DEFAULT, &in, &conf, &tok));
    if (!conf) { fprintf(stderr, "gssbench: wrap did not seal\n"); _exit(3); }
    CHECK("unwrap", gss_unwrap(&min, m->ac, &tok, &out, &conf, NULL));
    if (out.length != m->len || !conf || memcmp(out.value, m->data, 16) != 0) {
        fprintf(stderr, "gssbench: unwrap gave other data\n");
        _exit(3);
    }
    gss_release_buffer(&min, &tok);
    gss_release_buffer(&min, &out);
}

static void mic_once(void *p) {
    struct msgs *m = p;
    OM_uint32 min;
    gss_buffer_desc in = {m->len, m->data}, tok;
    CHECK("get_mic", gss_get_mic(&min, m->ic, GSS_C_QOP_DEFAULT, &in, &tok));
    CHECK("verify_mic", gss_verify_mic(&min, m->ac, &in, &tok, NULL));
    gss_release_buffer(&min, &tok);
}

static volatile int stop_threads;
static void *hs_thread(void *p) {
    long *count = p;
    while (!stop_threads) { handshake(NULL, NULL); (*count)++; }
    return NULL;
}

static double threaded_rate(int nthreads, double secs) {
    pthread_t th[8];
    long counts[8] = {0};
    stop_threads = 0;
    double t0 = now();
    for (int i = 0; i < nthreads; i++) pthread_create(&th[i], NULL, hs_thread, &counts[i]);
    while (now() - t0 < secs) usleep(2000);
    stop_threads = 1;
    long total = 0;
    for (int i = 0; i < nthreads; i++) { pthread_join(th[i], NULL); total += counts[i]; }
    return total / (now() - t0);
}

static long rss_kib(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) { if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0; fclose(f); }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ---- tests: each runs in a fresh child and returns up to 4 figures ---- */
enum { T_RAW, T_SPNEGO, T_WRAP1K, T_WRAP1M, T_MIC1K, T_THREADS, T_CTXHEAP, T_USER1, T_USERBIG, T_KSPNEGO,
       T_INTERLEAVED, T_COUNT };
static const char *test_names[] = {"raw", "spnego", "wrap1k", "wrap1m", "mic1k", "threads", "ctxheap", "user1",
                                   "userbig", "krb5-spnego", "interleaved"};

static double secs = 0.4; /* measuring time per figure */
static int child_cfg;      /* the configuration this child runs (0 ours, 1 theirs, 2 ours + interposer) */
static char dir[256];

/* The warm-up handshake of a SPNEGO figure, with GSS_NEGOTIATE_AUDIT set for it alone: proves which SPNEGO ran.
 * Our interposer writes a record with "protocol":"spnego"; under MIT's SPNEGO only our NTLM mech writes one
 * ("protocol":"ntlm"). Exits when the record says otherwise than the configuration promises. */
static void warm_up_checked(void) {
    char path[400], line[2048];
    int spnego_records = 0;
    if (child_cfg == 1) { handshake(NULL, NULL); return; } /* gss-ntlmssp writes no records */
    snprintf(path, sizeof path, "%s/audit-%d", dir, (int)getpid());
    setenv("GSS_NEGOTIATE_AUDIT", path, 1);
    handshake(NULL, NULL);
    unsetenv("GSS_NEGOTIATE_AUDIT");
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "\"protocol\":\"spnego\"")) spnego_records++;
    if (f) fclose(f);
    unlink(path);
    if ((child_cfg == 2) != (spnego_records > 0)) {
        fprintf(stderr, "gssbench: %s: %d SPNEGO audit record(s) from our library in the warm-up handshake\n",
                child_cfg == 2 ? "the interposer did not negotiate" : "our SPNEGO ran without the interposer line",
                spnego_records);
        _exit(3);
    }
}
static int quick;
static long big_entries = 1000000;
static int big_handshakes_theirs = 2;

/* The interleaved run: raw NTLM (k = 0) and SPNEGO+NTLM (k = 1) set up in this process, then blocks of 16
 * handshakes of each in turn, each block's time added to spent[k]; for 2 * secs (at least 64 of each) or, with
 * `fixed` > 0, exactly `fixed` of each. Callgrind's collection is switched on around the blocks of kind `collect`
 * (-1: none). Returns the handshakes of each kind. */
static long interleave(long fixed, int collect, double spent[2]) {
    gss_cred_id_t c[2][2];
    gss_name_t t[2];
    gss_OID m[2];
    for (int k = 0; k < 2; k++) {
        setup(k);
        c[k][0] = icred, c[k][1] = acred, t[k] = target, m[k] = mech;
        if (k == 1) warm_up_checked(); else handshake(NULL, NULL);
    }
    double t0 = now();
    long n = 0;
    do {
        for (int k = 0; k < 2; k++) {
            icred = c[k][0], acred = c[k][1], target = t[k], mech = m[k];
            legs_which = k;
            double b = now();
            if (k == collect) CALLGRIND_TOGGLE_COLLECT;
            for (int i = 0; i < 16; i++) handshake(NULL, NULL);
            if (k == collect) CALLGRIND_TOGGLE_COLLECT;
            spent[k] += now() - b;
        }
        n += 16;
    } while (fixed > 0 ? n < fixed : (now() - t0 < 2 * secs || n < 64));
    return n;
}

static int run_test(int test, int theirs, double out[4]) {
    switch (test) {
    case T_RAW:
        setup(0);
        handshake(NULL, NULL); /* warm-up */
        out[0] = rate(hs_once, NULL, secs, 8);
        return 1;
    case T_SPNEGO:
        setup(1);
        warm_up_checked();
        out[0] = rate(hs_once, NULL, secs, 8);
        return 1;
    case T_INTERLEAVED: {
        /* Raw NTLM and SPNEGO+NTLM in one process (the interposer's configuration), alternating in blocks of 16
         * handshakes, each block timed: a change of the machine's speed (other guests on the host) lands on both
         * within milliseconds instead of between two processes seconds apart. out[0] raw, out[1] SPNEGO (hs/s). */
        double spent[2] = {0, 0};
        legs_on = getenv("GSSBENCH_LEGS") != NULL;
        long n = interleave(0, -1, spent);
        out[0] = n / spent[0];
        out[1] = n / spent[1];
        if (legs_on) {
            const char *call_names[10] = {"init 1", "accept 1", "init 2", "accept 2", "init 3", "accept 3", "", "",
                                          "delete initiator", "delete acceptor"};
            for (int i = 0; i < 10; i++)
                if (leg_time[0][i] > 0 || leg_time[1][i] > 0)
                    fprintf(stderr, "gssbench legs: %-17s raw %7.3f us  spnego %7.3f us\n", call_names[i],
                            leg_time[0][i] / n * 1e6, leg_time[1][i] / n * 1e6);
        }
        return 1;
    }
    case T_KSPNEGO:
        setup_krb5();
        warm_up_checked(); /* also fetches the service ticket into the ccache */
        out[0] = rate(hs_once, NULL, secs, 8);
        return 1;
    case T_WRAP1K: case T_WRAP1M: case T_MIC1K: {
        struct msgs m;
        setup(0);
        handshake(&m.ic, &m.ac);
        m.len = test == T_WRAP1M ? 1 << 20 : 1024;
        m.data = malloc(m.len);
        for (size_t i = 0; i < m.len; i++) m.data[i] = (unsigned char)(i * 131 + 7);
        if (test == T_MIC1K) { out[0] = rate(mic_once, &m, secs, 64); return 1; }
        double r = rate(wrap_once, &m, secs, test == T_WRAP1M ? 8 : 64);
        out[0] = r * m.len / (1024.0 * 1024.0);
        return 1;
    }
    case T_THREADS:
        setup(0);
        handshake(NULL, NULL);
        out[0] = threaded_rate(1, secs);
        out[1] = threaded_rate(2, secs);
        return 2;
    case T_CTXHEAP: {
        enum { N = 500 };
        static gss_ctx_id_t keep[N];
        OM_uint32 min;
        setup(0);
        for (int i = 0; i < 20; i++) handshake(NULL, NULL);
        for (int side = 0; side < 2; side++) {
            gss_ctx_id_t other;
            size_t before = mallinfo2().uordblks;
            for (int i = 0; i < N; i++) {
                if (side == 0) handshake(&keep[i], &other); else handshake(&other, &keep[i]);
                gss_delete_sec_context(&min, &other, GSS_C_NO_BUFFER);
            }
            size_t after = mallinfo2().uordblks;
            out[side] = ((double)after - (double)before) / N;
            for (int i = 0; i < N; i++) gss_delete_sec_context(&min, &keep[i], GSS_C_NO_BUFFER);
        }
        return 2;
    }
    case T_USER1: case T_USERBIG: {
        setup(0);
        long r0 = rss_kib();
        double t0 = now();
        handshake(NULL, NULL);
        out[0] = now() - t0;                 /* first handshake, seconds (includes loading the file) */
        out[2] = (double)(rss_kib() - r0);   /* KiB of resident memory added by it */
        int n = (test == T_USERBIG && theirs) ? big_handshakes_theirs : 0;
        if (n > 0) {
            double t1 = now();
            for (int i = 0; i < n; i++) handshake(NULL, NULL);
            out[1] = n / (now() - t1);
        } else {
            out[1] = rate(hs_once, NULL, secs, 8);
        }
        return 3;
    }
    }
    return 0;
}

/* ---- parent: temp files, children, medians ---- */
/* Configurations: 0 ours, 1 theirs (gss-ntlmssp), 2 ours + our SPNEGO interposer line. */
#define NCFG 3
static char conf_path[NCFG][300], users1[300], usersbig[300], krb5conf[300];

/* A user file modified in the last 2 s is read again on every lookup (the plugin's guard against same-size
 * rewrites within one timestamp tick, src/creds/userfile.rs RACY_WINDOW): the bench's freshly written files are
 * dated an hour back so that every handshake measures the steady state, not whether it ran in the first 2 s. */
static void backdate(const char *path) {
    struct timeval tv[2];
    gettimeofday(&tv[0], NULL);
    tv[0].tv_sec -= 3600;
    tv[1] = tv[0];
    if (utimes(path, tv) != 0) { perror(path); exit(2); }
}
static const char *so_path[NCFG];
static const char *cfg_names[NCFG] = {"ours", "theirs", "ours+interposer"};
static const char *krb5_dir; /* --krb5: a scripts/http-env.sh directory */
static const char *policy_path; /* --policy FILE: GSS_NEGOTIATE_POLICY of every child (default: none) */

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) { perror(path); exit(2); }
}

static void make_big_user_file(void) {
    FILE *f = fopen(usersbig, "w");
    if (!f) { perror(usersbig); exit(2); }
    for (long i = 1; i < big_entries; i++) fprintf(f, "%s:user%07ld:pw%07ldX\n", DOMAIN, i, i);
    fprintf(f, "%s:%s:%s\n", DOMAIN, USER, PASSWORD);
    if (fclose(f) != 0) { perror(usersbig); exit(2); }
    chmod(usersbig, 0600);
    backdate(usersbig);
}

static void child_env(int plugin, int test) {
    setenv("GSS_MECH_CONFIG", conf_path[plugin], 1);
    setenv("NTLM_USER_FILE", test == T_USERBIG ? usersbig : users1, 1);
    char b[400];
    if (test == T_KSPNEGO) {
        snprintf(b, sizeof b, "%s/krb5.conf", krb5_dir);
        setenv("KRB5_CONFIG", b, 1);
        snprintf(b, sizeof b, "FILE:%s/client/ccache", krb5_dir);
        setenv("KRB5CCNAME", b, 1);
        snprintf(b, sizeof b, "FILE:%s/http.keytab", krb5_dir);
        setenv("KRB5_KTNAME", b, 1);
        setenv("KRB5RCACHETYPE", "none", 1); /* both SPNEGOs alike: no replay-cache file I/O */
    } else {
        setenv("KRB5_CONFIG", krb5conf, 1);
        snprintf(b, sizeof b, "FILE:%s/ccache", dir);
        setenv("KRB5CCNAME", b, 1);
        snprintf(b, sizeof b, "FILE:%s/keytab", dir);
        setenv("KRB5_KTNAME", b, 1);
    }
    unsetenv("GSSNTLMSSP_DEBUG");
    unsetenv("GSS_NEGOTIATE_DEBUG");
    unsetenv("GSS_NEGOTIATE_AUDIT");   /* no audit file I/O in the measurement */
    if (policy_path) setenv("GSS_NEGOTIATE_POLICY", policy_path, 1);
    else unsetenv("GSS_NEGOTIATE_POLICY");
}

/* The target of the --krb5 environment: HTTP@<HOST= line of DIR/state>. */
static void read_krb5_target(void) {
    char path[400], line[280];
    snprintf(path, sizeof path, "%s/state", krb5_dir);
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); exit(2); }
    krb5_target[0] = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "HOST=", 5)) {
            line[strcspn(line, "\n")] = 0;
            snprintf(krb5_target, sizeof krb5_target, "HTTP@%s", line + 5);
        }
    }
    fclose(f);
    if (!krb5_target[0]) { fprintf(stderr, "gssbench: no HOST= in %s\n", path); exit(2); }
}

/* Runs `test` for `plugin` in a child; returns the number of figures (0 on failure). */
static int in_child(int plugin, int test, double out[4]) {
    int fd[2];
    if (pipe(fd) != 0) { perror("pipe"); exit(2); }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); exit(2); }
    if (pid == 0) {
        close(fd[0]);
        child_env(plugin, test);
        double r[5] = {0};
        child_cfg = plugin;
        if (test == T_KSPNEGO) read_krb5_target();
        r[4] = run_test(test, plugin == 1, r);
        if (write(fd[1], r, sizeof r) != (ssize_t)sizeof r) _exit(4);
        _exit(0);
    }
    close(fd[1]);
    double r[5];
    ssize_t got = read(fd[0], r, sizeof r);
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    if (got != (ssize_t)sizeof r || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "gssbench: %s on %s failed (status 0x%x)\n", test_names[test], so_path[plugin], st);
        return 0;
    }
    memcpy(out, r, 4 * sizeof(double));
    return (int)r[4];
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static double median(double *v, int n) {
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define MAXR 64
static double res[T_COUNT][2][4][MAXR];
static int nres[T_COUNT][2];

static double med(int test, int plugin, int k) {
    double tmp[MAXR];
    int n = nres[test][plugin];
    memcpy(tmp, res[test][plugin][k], n * sizeof(double));
    return median(tmp, n);
}

static void row(const char *what, const char *unit, double ours, double theirs, int have_theirs, const char *target) {
    char o[32], t[32], r[32];
    snprintf(o, sizeof o, "%.1f", ours);
    if (have_theirs && theirs > 0) {
        snprintf(t, sizeof t, "%.1f", theirs);
        snprintf(r, sizeof r, "%.2fx", ours / theirs);
    } else {
        snprintf(t, sizeof t, "n/a");
        snprintf(r, sizeof r, "-");
    }
    printf("%-44s %-9s %14s %14s %9s  %s\n", what, unit, o, t, r, target);
}

/* The interposer figures (issue 11): each (configuration, test) pair in fresh children, the order rotated round
 * by round so that no figure always runs first; medians of the rounds. Returns the number of failed runs. */
static int interposer_section(int rounds, const char *only) {
    struct fig { const char *what; int cfg, test, krb5; } figs[] = {
        {"raw NTLMSSP, no interposer", 0, T_RAW, 0},
        {"SPNEGO+NTLM, MIT's SPNEGO", 0, T_SPNEGO, 0},
        {"SPNEGO+NTLM, our interposer", 2, T_SPNEGO, 0},
        {"raw NTLMSSP, interposer loaded", 2, T_RAW, 0},
        {"SPNEGO+Kerberos, MIT's SPNEGO", 0, T_KSPNEGO, 1},
        {"SPNEGO+Kerberos, our interposer", 2, T_KSPNEGO, 1},
    };
    enum { NF = sizeof figs / sizeof figs[0] };
    static double v[NF][MAXR], byround[NF][MAXR]; /* byround: 0 where a run failed */
    static double inter[MAXR], inter_hs[2][MAXR]; /* SPNEGO / raw of the interleaved run of each round */
    int ninter = 0;
    int nv[NF] = {0}, failures = 0;
    int want_ntlm = !only || strstr(only, "ipose"), want_krb5 = krb5_dir && (!only || strstr(only, "ikrb5"));
    if (!want_ntlm && !want_krb5) return 0;
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < NF; k++) {
            int f = (k + r) % NF;
            if (figs[f].krb5 ? !want_krb5 : !want_ntlm) continue;
            double out[4] = {0};
            if (in_child(figs[f].cfg, figs[f].test, out) == 0) { failures++; continue; }
            v[f][nv[f]++] = out[0];
            byround[f][r] = out[0];
        }
        if (want_ntlm) {
            double out[4] = {0};
            if (in_child(2, T_INTERLEAVED, out) == 0) failures++;
            else if (out[0] > 0) {
                inter_hs[0][ninter] = out[0], inter_hs[1][ninter] = out[1];
                inter[ninter++] = out[1] / out[0];
            }
        }
        fprintf(stderr, "gssbench: interposer round %d/%d done\n", r + 1, rounds);
    }
    /* The same ratios paired within each round (the two figures ran seconds apart): a drift of the machine's
     * speed over the run moves both, which the ratio of the two medians does not cancel. */
    double pair[2][MAXR];
    int npair[2] = {0, 0};
    for (int r = 0; r < rounds; r++) {
        if (byround[0][r] > 0 && byround[2][r] > 0) pair[0][npair[0]++] = byround[2][r] / byround[0][r];
        if (byround[4][r] > 0 && byround[5][r] > 0) pair[1][npair[1]++] = byround[5][r] / byround[4][r];
    }
    double m[NF];
    for (int f = 0; f < NF; f++) m[f] = median(v[f], nv[f]);
    printf("\n%-44s %-9s %14s %9s  %s\n", "interposer figures (median of rounds)", "unit", "value", "ratio", "target");
    for (int f = 0; f < NF; f++) {
        if (figs[f].krb5 ? !want_krb5 : !want_ntlm) continue;
        char ratio[48] = "", target[48] = "";
        if (f == 1 && m[0] > 0) { snprintf(ratio, sizeof ratio, "%.2fx raw", m[1] / m[0]); }
        if (f == 2 && m[0] > 0) {
            snprintf(ratio, sizeof ratio, "%.2fx raw", m[2] / m[0]);
            snprintf(target, sizeof target, ">= 0.9x raw%s", m[2] >= 0.9 * m[0] ? " (met)" : " (NOT met)");
        }
        if (f == 3 && m[0] > 0) snprintf(ratio, sizeof ratio, "%.2fx raw", m[3] / m[0]);
        if (f == 5 && m[4] > 0) {
            snprintf(ratio, sizeof ratio, "%.2fx MIT", m[5] / m[4]);
            snprintf(target, sizeof target, ">= 0.95x MIT%s", m[5] >= 0.95 * m[4] ? " (met)" : " (NOT met)");
        }
        printf("%-44s %-9s %14.1f %9s  %s   (%s, n=%d)\n", figs[f].what, "hs/s", m[f], ratio, target,
               cfg_names[figs[f].cfg], nv[f]);
    }
    if (want_ntlm && m[1] > 0)
        printf("%-44s %-9s %14s %9.2fx\n", "  our interposer / MIT's SPNEGO (NTLM)", "x", "", m[2] / m[1]);
    if (ninter > 0) {
        printf("%-44s %-9s %14.1f\n", "raw NTLMSSP, interleaved with the next", "hs/s", median(inter_hs[0], ninter));
        printf("%-44s %-9s %14.1f\n", "SPNEGO+NTLM, our interposer, interleaved", "hs/s", median(inter_hs[1], ninter));
        double mi = median(inter, ninter); /* sorts inter */
        printf("%-44s %-9s %14s %9.3fx  (middle half %.3f-%.3f, n=%d)\n", "  the same, interleaved in one process", "x",
               "", mi, inter[ninter / 4], inter[(3 * ninter) / 4 < ninter ? (3 * ninter) / 4 : ninter - 1], ninter);
    }
    const char *pname[2] = {"  our interposer / raw NTLM, paired by round", "  ours / MIT's SPNEGO+Kerberos, paired"};
    for (int k = 0; k < 2; k++) {
        int n = npair[k];
        if (n == 0) continue;
        double med_k = median(pair[k], n); /* sorts pair[k] */
        printf("%-44s %-9s %14s %9.3fx  (middle half %.3f-%.3f, n=%d)\n", pname[k], "x", "", med_k, pair[k][n / 4],
               pair[k][(3 * n) / 4 < n ? (3 * n) / 4 : n - 1], n);
    }
    return failures;
}

int main(int argc, char **argv) {
    const char *only = NULL;
    int rounds = 5, userfile = 1, alloc_n = 0, alloc_plugin = -1, alloc_spnego = 0, instr_kind = -1;
    long instr_n = 0;
    const char *interposer_oid = NULL;
    so_path[0] = NULL;
    so_path[1] = "/usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ours") && i + 1 < argc) so_path[0] = argv[++i];
        else if (!strcmp(argv[i], "--theirs") && i + 1 < argc) so_path[1] = argv[++i];
        else if (!strcmp(argv[i], "--no-userfile")) userfile = 0;
        else if (!strcmp(argv[i], "--spnego")) alloc_spnego = 1;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--secs") && i + 1 < argc) secs = atof(argv[++i]);
        else if (!strcmp(argv[i], "--interposer") && i + 1 < argc) interposer_oid = argv[++i];
        else if (!strcmp(argv[i], "--krb5") && i + 1 < argc) krb5_dir = argv[++i];
        else if (!strcmp(argv[i], "--policy") && i + 1 < argc) policy_path = argv[++i];
        else if (!strcmp(argv[i], "--instr-interleaved") && i + 2 < argc) {
            i++;
            instr_kind = !strcmp(argv[i], "raw") ? 0 : !strcmp(argv[i], "spnego") ? 1 : -1;
            instr_n = atol(argv[++i]);
            if (instr_kind < 0 || instr_n < 16) { fprintf(stderr, "gssbench: --instr-interleaved raw|spnego N (N >= 16)\n"); return 2; }
        }
        else if (!strcmp(argv[i], "--alloc") && i + 2 < argc) {
            i++;
            alloc_plugin = !strcmp(argv[i], "theirs") ? 1 : !strcmp(argv[i], "ipose") ? 2 : 0;
            alloc_n = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--quick] [--rounds N] [--secs S] [--ours SO] [--theirs SO] [--no-userfile] [--only t1,t2]\n"
                            "          [--interposer OID] [--krb5 DIR]\n"
                            "       %s --ours SO --alloc ours|theirs|ipose N [--spnego] [--krb5 DIR] [--interposer OID]\n"
                            "       %s --ours SO --instr-interleaved raw|spnego N --interposer OID\n",
                    argv[0], argv[0], argv[0]);
            return 2;
        }
    }
    if (!so_path[0]) { fprintf(stderr, "gssbench: --ours PATH is required\n"); return 2; }
    if (quick) { secs = 0.02; rounds = 1; big_entries = 10000; big_handshakes_theirs = 1; }
    if (rounds < 1 || rounds > MAXR) rounds = 5;
    int have_theirs = access(so_path[1], R_OK) == 0;

    snprintf(dir, sizeof dir, "%s/gssbench.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 2; }
    so_path[2] = so_path[0];
    for (int p = 0; p < NCFG; p++) {
        char line[2400];
        snprintf(conf_path[p], sizeof conf_path[p], "%s/mech-%d.conf", dir, p);
        snprintf(line, sizeof line, "ntlmssp_bench 1.3.6.1.4.1.311.2.2.10 %s\n", so_path[p]);
        if (p == 2 && interposer_oid)
            snprintf(line + strlen(line), sizeof line - strlen(line), "spnego_bench %s %s <interposer>\n",
                     interposer_oid, so_path[p]);
        write_file(conf_path[p], line);
    }
    if (alloc_plugin == 2 && !interposer_oid) { fprintf(stderr, "gssbench: --alloc ipose needs --interposer OID\n"); return 2; }
    snprintf(users1, sizeof users1, "%s/users1", dir);
    snprintf(usersbig, sizeof usersbig, "%s/usersbig", dir);
    snprintf(krb5conf, sizeof krb5conf, "%s/krb5.conf", dir);
    write_file(users1, DOMAIN ":" USER ":" PASSWORD "\n");
    chmod(users1, 0600);
    backdate(users1);
    write_file(krb5conf, "[libdefaults]\n default_realm = GSSBENCH.INVALID\n dns_lookup_kdc = false\n"
                         " dns_lookup_realm = false\n rdns = false\n[realms]\n GSSBENCH.INVALID = {\n }\n");

    if (instr_n > 0) { /* callgrind mode: the interleaved run, N handshakes of each kind, no fork */
#ifdef GSSBENCH_NO_CALLGRIND
        fprintf(stderr, "gssbench: built without <valgrind/callgrind.h>: --instr-interleaved unavailable\n");
        return 2;
#endif
        if (!interposer_oid) { fprintf(stderr, "gssbench: --instr-interleaved needs --interposer OID\n"); return 2; }
        child_env(2, T_INTERLEAVED);
        child_cfg = 2;
        double spent[2] = {0, 0};
        interleave(instr_n, instr_kind, spent);
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        return system(cmd) != 0;
    }
    if (alloc_n > 0) { /* memcheck mode: no fork, N handshakes in this process */
        child_env(alloc_plugin, krb5_dir && alloc_spnego ? T_KSPNEGO : T_RAW);
        child_cfg = alloc_plugin;
        if (krb5_dir && alloc_spnego) {
            read_krb5_target();
            setup_krb5();
        } else {
            setup(alloc_spnego);
        }
        if (alloc_spnego) warm_up_checked(); /* one more handshake in both runs: cancels out in the difference */
        for (int i = 0; i < alloc_n; i++) handshake(NULL, NULL);
        OM_uint32 min;
        gss_release_cred(&min, &icred);
        gss_release_cred(&min, &acred);
        gss_release_name(&min, &target);
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        return system(cmd) != 0;
    }

    double t_gen = 0;
    if (userfile) {
        double t0 = now();
        make_big_user_file();
        t_gen = now() - t0;
    }
    printf("gssbench: ours=%s theirs=%s%s rounds=%d secs/figure=%.2f%s\n", so_path[0], so_path[1],
           have_theirs ? "" : " (missing)", rounds, secs, quick ? " (quick)" : "");
    if (userfile) printf("gssbench: %ld-entry user file written in %.2f s\n", big_entries, t_gen);
    fflush(stdout);
    int failures = 0, main_ran = 0;
    for (int r = 0; r < rounds; r++) {
        for (int t = 0; t < T_COUNT; t++) {
            if (!userfile && (t == T_USERBIG)) continue;
            if (t == T_KSPNEGO || t == T_INTERLEAVED) continue; /* the interposer section below */
            if (only && !strstr(only, test_names[t])) continue;
            for (int k = 0; k < 2; k++) {
                int p = ((r + t) % 2) ? 1 - k : k; /* alternate which plugin goes first */
                if (p == 1 && !have_theirs) continue;
                double out[4] = {0};
                if (in_child(p, t, out) == 0) { failures++; continue; }
                int n = nres[t][p]++;
                for (int j = 0; j < 4; j++) res[t][p][j][n] = out[j];
                main_ran = 1;
            }
        }
        if (main_ran) fprintf(stderr, "gssbench: round %d/%d done\n", r + 1, rounds);
    }
    if (interposer_oid) failures += interposer_section(rounds, only);
    if (!main_ran) goto done;
    char big[64];
    snprintf(big, sizeof big, "%ld", big_entries);
    printf("\n%-44s %-9s %14s %14s %9s  %s\n", "figure (median of rounds)", "unit", "gss-negotiate", "gss-ntlmssp",
           "ratio", "target");
    row("raw NTLMSSP handshake", "hs/s", med(T_RAW, 0, 0), med(T_RAW, 1, 0), have_theirs, ">= 10x");
    row("handshake inside MIT SPNEGO", "hs/s", med(T_SPNEGO, 0, 0), med(T_SPNEGO, 1, 0), have_theirs, ">= 5x");
    row("sealed wrap+unwrap 1 KiB", "MiB/s", med(T_WRAP1K, 0, 0), med(T_WRAP1K, 1, 0), have_theirs, ">= 2x");
    row("sealed wrap+unwrap 1 MiB", "MiB/s", med(T_WRAP1M, 0, 0), med(T_WRAP1M, 1, 0), have_theirs, ">= 1.0x");
    row("get_mic+verify_mic 1 KiB", "pairs/s", med(T_MIC1K, 0, 0), med(T_MIC1K, 1, 0), have_theirs, ">= 3x");
    row("raw handshakes, 1 thread", "hs/s", med(T_THREADS, 0, 0), med(T_THREADS, 1, 0), have_theirs, "");
    row("raw handshakes, 2 threads", "hs/s", med(T_THREADS, 0, 1), med(T_THREADS, 1, 1), have_theirs, "");
    printf("%-44s %-9s %14.2f %14.2f %9s  %s\n", "2 threads / 1 thread", "x",
           med(T_THREADS, 0, 1) / med(T_THREADS, 0, 0),
           have_theirs ? med(T_THREADS, 1, 1) / med(T_THREADS, 1, 0) : 0.0, "", ">= 1.8x (ours)");
    row("heap per established context, initiator", "bytes", med(T_CTXHEAP, 0, 0), med(T_CTXHEAP, 1, 0),
        have_theirs, "<= 4096 (ratio: ours/theirs)");
    row("heap per established context, acceptor", "bytes", med(T_CTXHEAP, 0, 1), med(T_CTXHEAP, 1, 1), have_theirs,
        "<= 4096 (ratio: ours/theirs)");
    row("handshake, 1-entry user file", "hs/s", med(T_USER1, 0, 1), med(T_USER1, 1, 1), have_theirs, "");
    if (userfile) {
        char what[96];
        snprintf(what, sizeof what, "handshake, %s-entry user file", big);
        row(what, "hs/s", med(T_USERBIG, 0, 1), med(T_USERBIG, 1, 1), have_theirs, "");
        printf("%-44s %-9s %14.2f %14.2f %9s  %s\n", "  cost big / 1-entry (per handshake)", "x",
               med(T_USER1, 0, 1) / med(T_USERBIG, 0, 1),
               have_theirs ? med(T_USER1, 1, 1) / med(T_USERBIG, 1, 1) : 0.0, "", "<= 1.2x (ours)");
        printf("%-44s %-9s %14.3f %14.3f\n", "  first handshake, big file (incl. load)", "s", med(T_USERBIG, 0, 0),
               med(T_USERBIG, 1, 0));
        printf("%-44s %-9s %14.3f %14.3f\n", "  first handshake, 1-entry file", "s", med(T_USER1, 0, 0),
               med(T_USER1, 1, 0));
        printf("%-44s %-9s %14.0f %14.0f\n", "  resident memory added by first handshake", "KiB",
               med(T_USERBIG, 0, 2), med(T_USERBIG, 1, 2));
    }
done:;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "gssbench: could not remove %s\n", dir);
    if (failures) { fprintf(stderr, "gssbench: %d measurement(s) failed\n", failures); return 1; }
    return 0;
}
