/* serve_http.c - the dashboard's HTTP side on libmicrohttpd: binding,
 * routing a request to its handler, headers, static files (see serve.h).
 * libmicrohttpd parses HTTP; one internal thread answers the requests one
 * at a time, so the single read-only SQLite connection is never shared
 * between threads. */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "mem.h"
#include "serve.h"

struct ServeServer {
    struct MHD_Daemon *d;
    sqlite3 *db;
    const char *db_path;
    int loopback;       /* bound to 127.0.0.1 / ::1: Host is checked */
};

/* Is the request's Host header a loopback name (localhost, 127.0.0.1,
 * [::1], any port)?  A page of another site that made its name resolve to
 * 127.0.0.1 (DNS rebinding) sends its own name: refused. */
static int serve_host_ok(struct MHD_Connection *c) {
    static const char *const names[] = {"localhost", "127.0.0.1", "[::1]"};
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    if (!h) return 1;                   /* HTTP/1.0 without Host */
    size_t n = strlen(h);
    const char *colon = strrchr(h, ':');
    if (colon && !strchr(colon, ']')) n = (size_t)(colon - h);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == n && !strncmp(h, names[i], n)) return 1;
    return 0;
}

/* The security headers of every reply: no script, style or frame from
 * elsewhere, no inline script (the pages have none: an injected <script>
 * would not run even if escaping failed), no sniffing.  Inline styles are
 * allowed: the chart library colours its legend with them. */
static const char serve_csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self' "
    "'unsafe-inline'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const char *serve_arg(const ServeReq *req, const char *key) {
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

typedef struct {
    const char *key;
    void (*fn)(void *ctx, const char *value);
    void *ctx;
    int n;
} ArgIter;

/* libmicrohttpd's iterator: calls the user's fn for each value of key. */
static enum MHD_Result serve_arg_iter(void *cls, enum MHD_ValueKind kind,
                                      const char *key, const char *value) {
    ArgIter *it = cls;
    (void)kind;
    if (key && !strcmp(key, it->key)) {
        it->fn(it->ctx, value ? value : "");
        it->n++;
    }
    return MHD_YES;
}

int serve_args(const ServeReq *req, const char *key,
               void (*fn)(void *ctx, const char *value), void *ctx) {
    ArgIter it = {key, fn, ctx, 0};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND,
                              serve_arg_iter, &it);
    return it.n;
}

int serve_parse_id(const char *s, sqlite3_int64 *id) {
    sqlite3_int64 v = 0;
    if (!*s || strlen(s) > 18) return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (*p - '0');
    }
    *id = v;
    return 0;
}

/* Serves web/NAME (compiled in) or the chart library's files (from the
 * Debian package).  Returns 0 (rep set), or 1 when name is not one. */
static int serve_static(const char *name, ServeReply *rep) {
    static const struct { const char *name, *file, *type; } pkg[] = {
        {"dygraph.min.js", SERVE_DYGRAPHS_DIR "/dygraph.min.js",
         "text/javascript; charset=utf-8"},
        {"dygraph.min.css", SERVE_DYGRAPHS_DIR "/dygraph.min.css",
         "text/css; charset=utf-8"},
    };
    for (const ServeAsset *a = serve_assets; a->name; a++) {
        if (strcmp(a->name, name)) continue;
        rep->type = a->type;
        rep->data = a->data;
        rep->data_len = a->len;
        rep->cache = 1;
        return 0;
    }
    for (size_t i = 0; i < sizeof pkg / sizeof pkg[0]; i++) {
        if (strcmp(pkg[i].name, name)) continue;
        rep->type = pkg[i].type;
        rep->file = pkg[i].file;
        rep->cache = 1;
        return 0;
    }
    return 1;
}

/* Dispatches req by its path.  Returns the handler's result (0, or -1 with
 * rep->err). */
static int serve_route(const ServeReq *rq, ServeReply *rep) {
    const char *p = rq->path;
    sqlite3_int64 id;
    char seg[32];

    if (!strcmp(p, "/")) return serve_page_experiments(rq, rep);
    if (!strcmp(p, "/runs")) return serve_page_runs(rq, rep);
    if (!strcmp(p, "/compare")) return serve_page_compare(rq, rep);
    if (!strcmp(p, "/grid")) return serve_page_grid(rq, rep);
    if (!strncmp(p, "/run/", 5)) {
        if (serve_parse_id(p + 5, &id))
            return serve_error(rep, 400, 0, "a run page is /run/ID, ID a "
                               "run number (see the runs page)");
        return serve_page_run(rq, rep, id);
    }
    if (!strcmp(p, "/api/experiments")) return serve_api_experiments(rq, rep);
    if (!strcmp(p, "/api/runs")) return serve_api_runs(rq, rep);
    if (!strncmp(p, "/api/runs/", 10)) {
        const char *s = p + 10, *slash = strchr(s, '/');
        size_t n = slash ? (size_t)(slash - s) : strlen(s);
        if (n >= sizeof seg) n = sizeof seg - 1;
        memcpy(seg, s, n);
        seg[n] = '\0';
        if (serve_parse_id(seg, &id))
            return serve_error(rep, 400, 1, "expected /api/runs/ID or "
                               "/api/runs/ID/epochs, ID a run number");
        if (!slash) return serve_api_run(rq, rep, id);
        if (!strcmp(slash, "/epochs")) return serve_api_epochs(rq, rep, id);
    }
    if (!strncmp(p, "/static/", 8) && serve_static(p + 8, rep) == 0)
        return 0;
    if (!strncmp(p, "/api/", 5))
        return serve_error(rep, 404, 1, "no such endpoint: the API is "
                           "/api/experiments, /api/runs, /api/runs/ID and "
                           "/api/runs/ID/epochs");
    return serve_error(rep, 404, 0, "no such page: start from the "
                       "experiments page (/)");
}

/* Makes the libmicrohttpd response of rep.  Returns it, or NULL (out of
 * memory, or the static file is missing: then *missing is set). */
static struct MHD_Response *serve_response(ServeReply *rep, int *missing) {
    struct MHD_Response *r;
    if (rep->file) {
        int fd = open(rep->file, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
            if (fd >= 0) close(fd);
            *missing = 1;
            return NULL;
        }
        r = MHD_create_response_from_fd((size_t)st.st_size, fd);
        if (!r) close(fd);
        return r;
    }
    if (rep->data)
        return MHD_create_response_from_buffer(rep->data_len,
                                               (void *)rep->data,
                                               MHD_RESPMEM_PERSISTENT);
    size_t len = rep->body.len;
    char *body = sb_take(&rep->body);
    if (!body) return NULL;
    r = MHD_create_response_from_buffer_with_free_callback(len, body,
                                                           mem_free);
    if (!r) mem_free(body);
    return r;
}

/* Sends a bare 500 (when even the error page cannot be built). */
static enum MHD_Result serve_oom(struct MHD_Connection *c) {
    static const char msg[] = "autorec serve: out of memory\n";
    struct MHD_Response *r = MHD_create_response_from_buffer(
        sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    enum MHD_Result ok = MHD_queue_response(c, 500, r);
    MHD_destroy_response(r);
    return ok;
}

/* libmicrohttpd's request callback: answers GET and HEAD. */
static enum MHD_Result serve_request(void *cls, struct MHD_Connection *c,
                                    const char *url, const char *method,
                                    const char *version,
                                    const char *upload, size_t *upload_size,
                                    void **con_cls) {
    struct ServeServer *s = cls;
    ServeReply rep;
    ServeReq rq = {url, c, s->db, s->db_path};
    int missing = 0, json = !strncmp(url, "/api/", 5);
    (void)version;
    (void)upload;
    (void)con_cls;

    memset(&rep, 0, sizeof rep);
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        if (*upload_size) {          /* ignore any body; answer once */
            *upload_size = 0;
            return MHD_YES;
        }
        serve_error(&rep, 405, json, "the dashboard is read-only: only GET "
                    "and HEAD requests are answered");
    } else if (s->loopback && !serve_host_ok(c)) {
        serve_error(&rep, 403, json, "refused: this dashboard listens on "
                    "the loopback address and answers only requests for "
                    "localhost or 127.0.0.1 (start it with --host ADDR to "
                    "serve other names)");
    } else if (serve_route(&rq, &rep)) {
        fprintf(stderr, "autorec serve: %s: %s\n", url, rep.err);
        sb_free(&rep.body);
        serve_error(&rep, 500, json, rep.err);
    }
    struct MHD_Response *r = serve_response(&rep, &missing);
    if (!r && missing) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s is missing: install Debian's "
                 "libjs-dygraphs (tools/install_deps.sh) for the charts",
                 rep.file);
        memset(&rep, 0, sizeof rep);
        serve_error(&rep, 404, 0, msg);
        r = serve_response(&rep, &missing);
    }
    if (!r) {
        sb_free(&rep.body);
        return serve_oom(c);
    }
    MHD_add_response_header(r, "Content-Type",
                            rep.type ? rep.type : "text/html; charset=utf-8");
    MHD_add_response_header(r, "Content-Security-Policy", serve_csp);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cache-Control",
                            rep.cache ? "max-age=3600" : "no-store");
    enum MHD_Result ok = MHD_queue_response(c, rep.status ? (unsigned)rep.status
                                                          : 200, r);
    MHD_destroy_response(r);
    return ok;
}

int serve_http_start(ServeServer **out, const char *host, int port,
                     sqlite3 *db, const char *db_path, int *bound_port,
                     char *err) {
    struct addrinfo hints, *ai = NULL;
    char portstr[16];
    int rc;

    *out = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    snprintf(portstr, sizeof portstr, "%d", port);
    rc = getaddrinfo(host, portstr, &hints, &ai);
    if (rc != 0)
        return err_set(err, "--host %s: %s: pass an address such as "
                       "127.0.0.1, ::1 or 0.0.0.0", host, gai_strerror(rc));
    ServeServer *s = mem_calloc(1, sizeof *s);
    if (!s) {
        freeaddrinfo(ai);
        return err_set(err, "out of memory starting the server");
    }
    s->db = db;
    s->db_path = db_path;
    if (ai->ai_family == AF_INET)
        s->loopback = ((const unsigned char *)&((const struct sockaddr_in *)
                          ai->ai_addr)->sin_addr)[0] == 127;
    else if (ai->ai_family == AF_INET6)
        s->loopback = IN6_IS_ADDR_LOOPBACK(
            &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    errno = 0;
    s->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL,
                            serve_request, s,
                            MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                            MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                            MHD_OPTION_CONNECTION_LIMIT, 64u,
                            MHD_OPTION_END);
    int e = errno;
    freeaddrinfo(ai);
    if (!s->d) {
        mem_free(s);
        return err_set(err, "cannot listen on %s port %d: %s: choose "
                       "another --port (or --port 0 for any free one)",
                       host, port, e ? strerror(e) : "libmicrohttpd failed");
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info && info->port ? info->port : port;
    *out = s;
    return 0;
}

void serve_http_stop(ServeServer *s) {
    if (!s) return;
    MHD_stop_daemon(s->d);
    mem_free(s);
}
