/* db_query.c - the read-only connections of the query commands to a
 * results database (db_open_query, see db.h), also on read-only media.
 *
 * No global mutable state. */
#include "db_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "err.h"

/* 1 when path lies on a file system mounted read-only. */
static int db_on_read_only_media(const char *path) {
    struct statvfs vs;
    return statvfs(path, &vs) == 0 && (vs.f_flag & ST_RDONLY);
}

/* Writes into uri (cap bytes) "file:PATH?immutable=1" with PATH
 * percent-encoded where URIs need it.  Returns 0 or -1 (too long). */
static int db_immutable_uri(const char *path, char *uri, size_t cap) {
    size_t o = (size_t)snprintf(uri, cap, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (o + 4 >= cap) return -1;
        if (*p == '%' || *p == '?' || *p == '#' || *p < 0x21 || *p >= 0x7f)
            o += (size_t)snprintf(uri + o, cap - o, "%%%02X", *p);
        else
            uri[o++] = (char)*p;
    }
    if (o + 13 >= cap) return -1;
    snprintf(uri + o, cap - o, "?immutable=1");
    return 0;
}

/* On read-only media SQLite cannot create the -shm file a WAL database
 * needs even for reading: such a database is opened immutable (nothing can
 * change it there), saying so on stderr, unless an un-checkpointed -wal
 * file holds results that immutable would ignore.  Returns 1 when
 * *flags/uri were set for that, 0 for a normal open, -1 with err. */
static int db_read_only_media(const char *path, char *uri, size_t cap,
                              int *flags, char *err) {
    char wal[4096], shm[4096];
    struct stat st;
    if (!db_on_read_only_media(path)) return 0;
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    if (stat(wal, &st) == 0 && st.st_size > 0) {
        if (access(shm, F_OK) == 0) return 0;  /* SQLite reads it read-only */
        return err_set(err, "cannot read %s: it is on a read-only file system "
                       "and %s holds results not yet in the database file "
                       "(the writer did not close it): copy %s and its "
                       "-wal file to writable storage and query the copy",
                       path, wal, path);
    }
    if (db_immutable_uri(path, uri, cap))
        return err_set(err, "cannot open %s: the path is too long", path);
    *flags |= SQLITE_OPEN_URI;
    fprintf(stderr, "autorec: note: %s is on a read-only file system: "
            "opened read-only (immutable)\n", path);
    return 1;
}

int db_open_query(sqlite3 **out, const char *path, char *err) {
    Db probe;
    struct stat st;
    sqlite3_int64 version = 0;
    int rc, ret = -1;

    assert(out && path);
    *out = NULL;
    memset(&probe, 0, sizeof probe);
    probe.path = (char *)path;
    if (path[0] == '\0')
        return err_set(err, "the database path is empty: pass --db PATH");
    if (stat(path, &st) != 0)
        return err_set(err, "cannot open %s: %s: pass --db PATH of a results "
                            "database (autorec run and autorec grid create "
                            "one)", path, strerror(errno));
    if (db_check_regular(path, err)) return -1;
    char uri[3 * 4096 + 32];
    int flags = SQLITE_OPEN_READONLY;
    int immutable = db_read_only_media(path, uri, sizeof uri, &flags, err);
    if (immutable < 0) return -1;
    for (int pass = 0; pass < 2; pass++) {
        rc = sqlite3_open_v2(immutable ? uri : path, &probe.db, flags, NULL);
        if (rc != SQLITE_OK) {
            if (!probe.db) err_set(err, "cannot open %s: out of memory", path);
            else db_fail(&probe, rc, "open the database", err);
            goto done;
        }
        sqlite3_extended_result_codes(probe.db, 1);
        sqlite3_busy_timeout(probe.db, DB_BUSY_TIMEOUT_MS);
        if (db_inspect(&probe, &version, err)) goto done;
        if (version == 0) {
            err_set(err, "%s holds no autorec results (an empty database): "
                         "pass --db PATH of a results database", path);
            goto done;
        }
        if (version == DB_SCHEMA_VERSION) break;
        /* an older schema: migrate it once, read-write, then reopen */
        sqlite3_close(probe.db);
        probe.db = NULL;
        Db *w = NULL;
        char why[ERR_MAX];
        if (pass == 1 || db_open(&w, path, why)) {
            err_set(err, "%s uses schema %lld; upgrading it to schema %d "
                         "needs write access once: %s", path,
                    (long long)version, DB_SCHEMA_VERSION,
                    pass == 1 ? "the upgrade did not take" : why);
            goto done;
        }
        db_close(w);
    }
    rc = sqlite3_exec(probe.db, "PRAGMA query_only = 1", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        db_fail(&probe, rc, "open the database", err);
        goto done;
    }
    *out = probe.db;
    probe.db = NULL;
    ret = 0;
done:
    sqlite3_close(probe.db);
    return ret;
}
