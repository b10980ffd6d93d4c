/* test_outfile.c - the safe-write helper: temporaries, links, the
 * database's files, special files. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "outfile.h"
#include "test.h"

/* A new temporary directory (static buffer), or NULL. */
static const char *of_dir(void) {
    static char dir[256];
    snprintf(dir, sizeof dir, "/tmp/autorec-outfile-XXXXXX");
    return mkdtemp(dir);
}

/* The number of entries of dir other than . and .. */
static int of_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    return n;
}

static void of_write(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

static int of_equals(const char *path, const char *text) {
    char buf[256] = "";
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return !strcmp(buf, text);
}

/* Nothing reaches the target before the commit; abort leaves the old file
 * and no temporary; commit replaces it (also a link, not its target). */
static void test_outfile_commit_and_abort(void) {
    const char *dir = of_dir();
    CHECK(dir != NULL);
    if (!dir) return;
    char path[512], victim[512], link[512], err[ERR_MAX];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    snprintf(link, sizeof link, "%s/link.csv", dir);
    of_write(path, "old\n");
    OutFile o;
    CHECK_MSG(outfile_open(&o, path, 0666, NULL, err) == 0, "%s", err);
    fputs("new\n", o.f);
    fflush(o.f);
    CHECK(of_equals(path, "old\n"));
    CHECK(of_entries(dir) == 2);
    outfile_abort(&o);
    CHECK(of_equals(path, "old\n") && of_entries(dir) == 1);
    CHECK(outfile_open(&o, path, 0666, NULL, err) == 0);
    fputs("new\n", o.f);
    CHECK_MSG(outfile_commit(&o, err) == 0, "%s", err);
    CHECK(of_equals(path, "new\n") && of_entries(dir) == 1);
    outfile_abort(&o);  /* harmless after a commit */
    CHECK(of_equals(path, "new\n"));
    of_write(victim, "precious\n");
    CHECK(symlink(victim, link) == 0);
    CHECK(outfile_open(&o, link, 0666, NULL, err) == 0);
    fputs("through?\n", o.f);
    CHECK(outfile_commit(&o, err) == 0);
    struct stat st;
    CHECK(lstat(link, &st) == 0 && S_ISREG(st.st_mode));
    CHECK(of_equals(victim, "precious\n") && of_equals(link, "through?\n"));
    unlink(path);
    unlink(victim);
    unlink(link);
    rmdir(dir);
}

/* The database, its -wal/-shm/-journal (by name, also when missing, and by
 * identity through a hard link), directories, FIFOs and links to them are
 * refused before anything is created. */
static void test_outfile_refusals(void) {
    const char *dir = of_dir();
    CHECK(dir != NULL);
    if (!dir) return;
    char db[512], p[600], err[ERR_MAX];
    snprintf(db, sizeof db, "%s/r.db", dir);
    of_write(db, "database\n");
    const char *bad[] = {"r.db", "r.db-wal", "r.db-shm", "r.db-journal",
                         "./r.db", "hard.db"};
    snprintf(p, sizeof p, "%s/hard.db", dir);
    CHECK(link(db, p) == 0);
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        OutFile o;
        snprintf(p, sizeof p, "%s/%s", dir, bad[k]);
        CHECK_MSG(outfile_open(&o, p, 0666, db, err) == -1, "%s accepted", bad[k]);
        CHECK_MSG(strstr(err, "refusing") && strstr(err, db), "%s: %s", bad[k], err);
        CHECK(o.f == NULL);
    }
    CHECK(of_entries(dir) == 2);   /* r.db and hard.db, nothing created */
    CHECK(of_equals(db, "database\n"));
    snprintf(p, sizeof p, "%s/fifo", dir);
    CHECK(mkfifo(p, 0600) == 0);
    CHECK(outfile_check(p, NULL, err) == -1 && strstr(err, "FIFO"));
    CHECK(outfile_check(dir, NULL, err) == -1 && strstr(err, "directory"));
    char l[600];
    snprintf(l, sizeof l, "%s/to-fifo", dir);
    CHECK(symlink(p, l) == 0);
    CHECK(outfile_check(l, NULL, err) == -1 && strstr(err, "symbolic link to a FIFO"));
    CHECK(outfile_check("", NULL, err) == -1);
    CHECK(outfile_check("/nonexistent-autorec-dir/x.csv", NULL, err) == -1 &&
          strstr(err, "No such file"));
    OutFile o;
    snprintf(p, sizeof p, "%s/other.db", dir);
    CHECK_MSG(outfile_open(&o, p, 0600, db, err) == 0, "%s", err);
    CHECK(outfile_commit(&o, err) == 0);
    struct stat st;
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
    unlink(p);
    unlink(l);
    snprintf(p, sizeof p, "%s/fifo", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/hard.db", dir);
    unlink(p);
    unlink(db);
    rmdir(dir);
}

void suite_outfile(void) {
    RUN(test_outfile_commit_and_abort);
    RUN(test_outfile_refusals);
}
