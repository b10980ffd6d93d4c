/* outfile.c - safe creation of output files (see outfile.h). */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

/* What kind of file st is, for messages ("a directory", "a FIFO"...). */
static const char *outfile_kind(const struct stat *st) {
    if (S_ISDIR(st->st_mode)) return "a directory";
    if (S_ISFIFO(st->st_mode)) return "a FIFO (named pipe)";
    if (S_ISCHR(st->st_mode)) return "a character device";
    if (S_ISBLK(st->st_mode)) return "a block device";
    if (S_ISSOCK(st->st_mode)) return "a socket";
    if (S_ISLNK(st->st_mode)) return "a symbolic link";
    return "not a regular file";
}

/* Splits path into its directory (".", "/" or the part before the last
 * slash) and its last component, into dir and base (each cap bytes).
 * Returns 0, or -1 when path is too long or ends in a slash. */
static int outfile_split(const char *path, char *dir, char *base, size_t cap) {
    const char *slash = strrchr(path, '/');
    const char *b = slash ? slash + 1 : path;
    size_t dn = slash ? (size_t)(slash - path) : 0;
    if (!*b || strlen(b) >= cap || dn + 2 > cap) return -1;
    if (!slash) strcpy(dir, ".");
    else if (dn == 0) strcpy(dir, "/");
    else {
        memcpy(dir, path, dn);
        dir[dn] = '\0';
    }
    strcpy(base, b);
    return 0;
}

/* 1 when path names the database protect or its -wal, -shm or -journal
 * file: the same resolved directory and name, or the same file. */
static int outfile_is_database(const char *path, const char *protect) {
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    char pd[OUTFILE_PATH_MAX], pb[OUTFILE_PATH_MAX];
    char dd[OUTFILE_PATH_MAX], db[OUTFILE_PATH_MAX];
    char rp[PATH_MAX], rd[PATH_MAX], cand[OUTFILE_PATH_MAX + 16];
    struct stat out, st;
    int have_out = stat(path, &out) == 0;
    int same_dir = outfile_split(path, pd, pb, sizeof pd) == 0 &&
                   outfile_split(protect, dd, db, sizeof dd) == 0 &&
                   realpath(pd, rp) && realpath(dd, rd) && !strcmp(rp, rd);
    for (size_t k = 0; k < sizeof suffix / sizeof *suffix; k++) {
        snprintf(cand, sizeof cand, "%s%s", db, suffix[k]);
        if (same_dir && !strcmp(pb, cand)) return 1;
        snprintf(cand, sizeof cand, "%s%s", protect, suffix[k]);
        if (have_out && stat(cand, &st) == 0 && st.st_dev == out.st_dev &&
            st.st_ino == out.st_ino)
            return 1;
    }
    return 0;
}

int outfile_check(const char *path, const char *protect, char *err) {
    struct stat st, target;
    char dir[OUTFILE_PATH_MAX], base[OUTFILE_PATH_MAX];
    if (!path || !*path) return err_set(err, "the output path is empty");
    if (outfile_split(path, dir, base, sizeof dir))
        return err_set(err, "cannot write %s: not a file name (too long, or "
                       "it ends in '/'): give a file path", path);
    if (lstat(path, &st) == 0) {
        if (S_ISLNK(st.st_mode) &&
            (stat(path, &target) != 0 || !S_ISREG(target.st_mode)))
            return err_set(err, "cannot write %s: it is a symbolic link to "
                           "%s: give the path of a regular file", path,
                           stat(path, &target) != 0 ? "nothing"
                                                    : outfile_kind(&target));
        if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
            return err_set(err, "cannot write %s: it is %s, not a regular "
                           "file: give the path of a file", path,
                           outfile_kind(&st));
    } else if (errno != ENOENT) {
        return err_set(err, "cannot write %s: %s", path, strerror(errno));
    }
    if (protect && *protect && outfile_is_database(path, protect))
        return err_set(err, "refusing to write %s: it is the results "
                       "database %s (or one of its -wal/-shm/-journal "
                       "files) and would destroy it: choose another output "
                       "path", path, protect);
    if (stat(dir, &st) != 0)
        return err_set(err, "cannot write %s: directory %s: %s", path, dir,
                       strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return err_set(err, "cannot write %s: %s is not a directory", path,
                       dir);
    return 0;
}

/* An unpredictable 48-bit value for temporary names (clock, pid, attempt,
 * mixed by splitmix64's finaliser). */
static uint64_t outfile_nonce(unsigned attempt) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t z = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^
                 (uint64_t)getpid() << 40 ^ (uint64_t)attempt * 0x9e3779b97f4a7c15ULL;
    z = (z ^ z >> 30) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ z >> 27) * 0x94d049bb133111ebULL;
    return (z ^ z >> 31) & 0xffffffffffffULL;
}

int outfile_open(OutFile *o, const char *path, int mode, const char *protect,
                 char *err) {
    char dir[OUTFILE_PATH_MAX], base[OUTFILE_PATH_MAX];
    int fd = -1;
    memset(o, 0, sizeof *o);
    if (outfile_check(path, protect, err)) return -1;
    if (outfile_split(path, dir, base, sizeof dir) ||
        strlen(path) >= sizeof o->path)
        return err_set(err, "cannot write %s: the path is too long", path);
    strcpy(o->path, path);
    for (unsigned attempt = 0; attempt < 100 && fd < 0; attempt++) {
        int n = snprintf(o->tmp, sizeof o->tmp, "%s/.%s.%012llx.tmp", dir,
                         base, (unsigned long long)outfile_nonce(attempt));
        if (n < 0 || (size_t)n >= sizeof o->tmp)
            return err_set(err, "cannot write %s: the path is too long", path);
        fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  (mode_t)mode);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        err_set(err, "cannot write %s: cannot create a temporary file in %s: "
                "%s: choose a writable directory", path, dir, strerror(errno));
        o->tmp[0] = '\0';
        return -1;
    }
    o->f = fdopen(fd, "wb");
    if (!o->f) {
        err_set(err, "cannot write %s: %s", o->tmp, strerror(errno));
        close(fd);
        outfile_abort(o);
        return -1;
    }
    return 0;
}

int outfile_commit(OutFile *o, char *err) {
    int bad = !o->f || ferror(o->f) || fflush(o->f) != 0 ||
              fsync(fileno(o->f)) != 0;
    int e = errno;
    if (o->f && fclose(o->f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    o->f = NULL;
    if (bad) {
        err_set(err, "cannot write %s: %s", o->path,
                e ? strerror(e) : "write error");
        outfile_abort(o);
        return -1;
    }
    if (rename(o->tmp, o->path) != 0) {
        err_set(err, "cannot rename %s to %s: %s", o->tmp, o->path,
                strerror(errno));
        outfile_abort(o);
        return -1;
    }
    o->tmp[0] = '\0';
    return 0;
}

void outfile_abort(OutFile *o) {
    if (o->f) fclose(o->f);
    o->f = NULL;
    if (o->tmp[0]) unlink(o->tmp);
    o->tmp[0] = '\0';
}
