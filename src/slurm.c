/* slurm.c - `autorec slurm`: writes (and submits) the Slurm batch script of
 * a grid search, one array task per grid point (see slurm.h).
 *
 * Everything user input can make fail (config, grid, options, paths) is
 * checked before anything is written.  Without --print the experiment and
 * its points are registered in the results database, so points whose task
 * never ran show as "not run" there; the script goes to
 * SHARDS/EXPERIMENT/job.sbatch and the tasks' output to
 * SHARDS/EXPERIMENT/logs/POINT.JOBID.out (Slurm does not create
 * directories: they are created here, also with --print).
 *
 * No global mutable state. */
#include "slurm.h"
#include "slurm_internal.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "db.h"
#include "err.h"
#include "grid_plan.h"
#include "mem.h"
#include "outfile.h"
#include "query.h"
#include "version.h"


void slurm_usage(FILE *f) {
    fprintf(f,
"usage: autorec slurm CONFIG [--partition P] [--max-parallel M] [--threads T]\n"
"                     [--time HH:MM:SS] [--submit | --print] [--resume]\n"
"                     [--db PATH] [--shards DIR] [--set KEY=VALUE]...\n"
"                     [KEY=VALUE]... [--]\n"
"\n"
"Writes a Slurm batch script running the grid of CONFIG as a job array, one\n"
"task per grid point (array index = grid point, 0-based).  Task i runs\n"
"  autorec grid CONFIG --point i --threads $SLURM_CPUS_PER_TASK \\\n"
"      --db SHARDS/EXPERIMENT/i/results.db\n"
"with OMP_NUM_THREADS set to the CPUs Slurm granted: each task writes its\n"
"own shard database (SQLite must not be shared over NFS or Lustre).\n"
"Afterwards merge the shards into the results database:\n"
"  autorec merge SHARDS/EXPERIMENT --into PATH\n"
"\n"
"options:\n"
"  --partition P        #SBATCH --partition (default: the cluster's)\n"
"  --max-parallel M     at most M tasks at once (--array=...%%M; default:\n"
"                       as many as the cluster runs)\n"
"  --threads T          CPUs per task (--cpus-per-task, OpenMP threads;\n"
"                       default 1)\n"
"  --time T             time limit per task, HH:MM:SS, D-HH:MM:SS or MM\n"
"  --submit             submit the script with sbatch and print the job id\n"
"  --print              print the script on stdout (nothing is registered)\n"
"  --resume             only the points without a finished or diverged run\n"
"                       in the results database or in their shard (points\n"
"                       still running, heartbeat under %gs old, are left)\n"
"  --db PATH            results database (default " CLI_DEFAULT_DB ")\n"
"  --shards DIR         where the tasks write (default: shards/ beside the\n"
"                       results database)\n"
"  --set KEY=VALUE      override a config key (repeatable; also as a bare\n"
"                       KEY=VALUE; grid.KEY=[V1,...] sets an axis, as in\n"
"                       autorec grid; passed on to every task)\n"
"  --stage K            search.pruner: asha only: the promotion step after\n"
"                       stage K (what the chain's promotion jobs run)\n"
"\n"
"With search.pruner: asha the search runs as a chain of job arrays, one per\n"
"rung (successive halving): stage 0 trains every trial to the first rung\n"
"(--stop-at-epoch) into SHARDS/EXPERIMENT/stage-0; a promotion job, run\n"
"after the array (--dependency=afterany), merges those shards, keeps the\n"
"best 1/eta of the trials by validation RMSE at that rung (the others are\n"
"recorded as pruned there) and submits stage 1 for them, and so on; the\n"
"last stage trains the survivors to the end.  A promoted trial restarts\n"
"from epoch 1 (shards cannot hand over optimizer state).\n"
"\n"
"Without --submit or --print the script is written to\n"
"SHARDS/EXPERIMENT/job.sbatch; submit it with sbatch.  Watch the array with\n"
"squeue -r -u $USER.\n"
"exit status: 0 written (or submitted, or nothing left to resume), 1 sbatch\n"
"or the database failed, 2 bad usage, config or grid (nothing written).\n",
            (double)DB_STALE_SECONDS);
}


/* ------------------------------------------------------------ helpers -- */

int slurm_array_spec(const size_t *points, size_t n, int max_parallel,
                     char *out, size_t cap) {
    size_t len = 0;
    int w;
    if (cap) out[0] = '\0';
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && points[j + 1] == points[j] + 1) j++;
        if (j > i)
            w = snprintf(out + len, cap - len, "%s%zu-%zu", i ? "," : "",
                         points[i], points[j]);
        else
            w = snprintf(out + len, cap - len, "%s%zu", i ? "," : "",
                         points[i]);
        if (w < 0 || (size_t)w >= cap - len) return -1;
        len += (size_t)w;
        i = j + 1;
    }
    if (max_parallel > 0) {
        w = snprintf(out + len, cap - len, "%%%d", max_parallel);
        if (w < 0 || (size_t)w >= cap - len) return -1;
    }
    return 0;
}

/* Writes s single-quoted for the shell. */
void slurm_quote(FILE *f, const char *s) {
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputs("'\\''", f);
        else fputc(*s, f);
    }
    fputc('\'', f);
}

/* Is s a Slurm time limit: [D-]H[:MM[:SS]] or M, digits only? */
static int slurm_time_ok(const char *s) {
    const char *p = s, *dash = strchr(s, '-');
    int fields = 0;
    if (dash) {
        if (dash == s) return 0;
        for (; p < dash; p++)
            if (*p < '0' || *p > '9') return 0;
        p = dash + 1;
    }
    for (;;) {
        const char *start = p;
        while (*p >= '0' && *p <= '9') p++;
        if (p == start || p - start > 6) return 0;
        fields++;
        if (*p == '\0') break;
        if (*p != ':' || fields == 3) return 0;
        p++;
    }
    return 1;
}

/* Is s made only of [A-Za-z0-9._-] (a partition name)? */
static int slurm_name_ok(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
              *s == '-'))
            return 0;
    return 1;
}

/* Makes path absolute (prefixing the working directory) into out (size
 * cap).  Returns 0 or -1 (printed). */
int slurm_absolute(const char *path, char *out, size_t cap) {
    char cwd[SLURM_PATH_MAX];
    int n;
    if (path[0] == '/') {
        n = snprintf(out, cap, "%s", path);
    } else {
        if (!getcwd(cwd, sizeof cwd)) {
            fprintf(stderr, "autorec slurm: cannot read the working "
                            "directory: %s\n", strerror(errno));
            return -1;
        }
        while (path[0] == '.' && path[1] == '/') path += 2;
        n = snprintf(out, cap, "%s/%s", cwd, path);
    }
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "autorec slurm: path too long: %s\n", path);
        return -1;
    }
    return 0;
}

/* Refuses a path that #SBATCH lines cannot carry: whitespace, quotes, '%'
 * (a Slurm file-name pattern), control characters.  Returns 0 or -1
 * (printed, naming what). */
static int slurm_path_ok(const char *what, const char *path) {
    for (const char *p = path; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '%' || *p == '"' ||
            *p == '\'' || *p == '\\') {
            fprintf(stderr, "autorec slurm: %s '%s' holds '%c', which an "
                            "#SBATCH line cannot carry: choose another "
                            "directory (--shards) or work from one without "
                            "it\n", what, path, *p > ' ' ? *p : '?');
            return -1;
        }
    return 0;
}

int slurm_mkdirs(const char *path) {
    char buf[SLURM_PATH_MAX + 64];
    struct stat sb;
    if ((size_t)snprintf(buf, sizeof buf, "%s", path) >= sizeof buf) {
        fprintf(stderr, "autorec slurm: path too long: %s\n", path);
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) goto fail;
        if (stat(buf, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            errno = ENOTDIR;
            goto fail;
        }
        *p = c;
        if (c == '\0') return 0;
    }
fail:
    fprintf(stderr, "autorec slurm: cannot create directory %s: %s\n", buf,
            strerror(errno));
    return -1;
}

/* Parses the command line; -1 (printed) on bad usage, 1 for --help. */
static int slurm_parse(int argc, char **argv, SlurmArgs *a) {
    int r;
    memset(a, 0, sizeof *a);
    a->db_path = CLI_DEFAULT_DB;
    a->threads = 1;
    a->stage = -1;
    const CliOpt opts[] = {
        {.name = "--db", .kind = CLI_TEXT, .dest = &a->db_path},
        {.name = "--shards", .kind = CLI_TEXT, .dest = &a->shards},
        {.name = "--time", .kind = CLI_TEXT, .dest = &a->time},
        {.name = "--partition", .kind = CLI_TEXT, .dest = &a->partition},
        {.name = "--set", .kind = CLI_SET, .dest = &a->in},
        {.name = "--submit", .kind = CLI_FLAG, .dest = &a->submit},
        {.name = "--print", .kind = CLI_FLAG, .dest = &a->print},
        {.name = "--resume", .kind = CLI_FLAG, .dest = &a->resume},
        {.name = "--max-parallel", .kind = CLI_INT, .dest = &a->max_parallel,
         .min = 1, .max = 1000000},
        {.name = "--stage", .kind = CLI_INT, .dest = &a->stage, .min = 0,
         .max = 64},
        {.name = "--threads", .kind = CLI_INT, .dest = &a->threads, .min = 1,
         .max = 4096},
        {.name = NULL},
    };
    CliSpec spec = {.cmd = "slurm", .usage = slurm_usage, .opts = opts,
                    .config = &a->in,
                    .missing = "CONFIG (e.g. autorec slurm "
                               "configs/grid-ml100k.yaml --submit)"};
    if ((r = cli_parse(&spec, argc, argv))) return r;
    if (a->submit && a->print) {
        fprintf(stderr, "autorec slurm: --submit and --print exclude each "
                        "other\n");
        return -1;
    }
    if (a->time && !slurm_time_ok(a->time)) {
        fprintf(stderr, "autorec slurm: --time: '%s' is not a Slurm time "
                        "limit (HH:MM:SS, D-HH:MM:SS or minutes)\n", a->time);
        return -1;
    }
    if (a->partition && !slurm_name_ok(a->partition)) {
        fprintf(stderr, "autorec slurm: --partition: '%s' is not a "
                        "partition name ([A-Za-z0-9._-])\n", a->partition);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- resume -- */

enum { PT_TODO = 0, PT_DONE_DB, PT_DONE_SHARD, PT_RUNNING };

/* Reads the runs of plan's experiment in the database at path (if it
 * exists) and marks state[i]: final runs with the current config hash as
 * `done`, runs still running with a fresh heartbeat as PT_RUNNING (when
 * `running` is set).  only >= 0 reads only that point.  Returns 0 or -1
 * (printed). */
static int slurm_read_states(const GridPlan *p, const char *path, int done,
                             int running, long long only, int *state) {
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    char err[ERR_MAX];
    struct stat sb;
    int rc;
    if (stat(path, &sb) != 0 || sb.st_size == 0) return 0;
    if (db_open_query(&h, path, err)) {
        fprintf(stderr, "autorec slurm: %s\n", err);
        return -1;
    }
    rc = sqlite3_prepare_v2(h,
        "SELECT grid_point, status IN " DB_FINAL_STATUSES ", config_hash,"
        " status = 'running' AND coalesce(heartbeat_at, 0) > "
        "(julianday('now') - 2440587.5) * 86400.0 - ?3 FROM runs WHERE "
        "experiment = ?1 AND (?2 < 0 OR grid_point = ?2)", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, p->experiment, -1,
                                                SQLITE_STATIC);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, only);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 3, DB_STALE_SECONDS);
    while ((rc = query_step(st, rc)) == SQLITE_ROW) {
        sqlite3_int64 i = sqlite3_column_int64(st, 0);
        const char *hash = (const char *)sqlite3_column_text(st, 2);
        if (i < 0 || (size_t)i >= p->n || state[i] != PT_TODO) continue;
        if (sqlite3_column_int(st, 1) && hash && !strcmp(hash, p->hashes[i]))
            state[i] = done;
        else if (running && sqlite3_column_int(st, 3))
            state[i] = PT_RUNNING;
    }
    if (rc != SQLITE_DONE)
        fprintf(stderr, "autorec slurm: cannot read %s: %s\n", path,
                sqlite3_errmsg(h));
    sqlite3_finalize(st);
    sqlite3_close(h);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ------------------------------------------------------------- script -- */

void slurm_script(FILE *f, const SlurmArgs *a, const GridPlan *p,
                  const SlurmPaths *s, const char *array, size_t ntasks,
                  int cpus) {
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(f, "#!/bin/bash\n"
               "# autorec slurm: grid %s, %zu point%s (%s), %zu task%s;\n"
               "# written %s by autorec %s (commit %s).\n"
               "# Array index = grid point (0-based); each task writes its "
               "shard\n# %s/INDEX/results.db.  Merge with:\n"
               "#   autorec merge %s --into %s\n",
            p->experiment, p->n, p->n == 1 ? "" : "s",
            p->grid.naxes ? p->axes : "no axes", ntasks,
            ntasks == 1 ? "" : "s", when, AUTOREC_VERSION,
            version_git_commit(), s->dir, s->dir, s->db);
    fprintf(f, "#SBATCH --job-name=autorec-%s\n", p->base.name);
    fprintf(f, "#SBATCH --array=%s\n", array);
    fprintf(f, "#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=%d\n", cpus);
    if (a->partition) fprintf(f, "#SBATCH --partition=%s\n", a->partition);
    if (a->time) fprintf(f, "#SBATCH --time=%s\n", a->time);
    fprintf(f, "#SBATCH --chdir=%s\n", s->cwd);
    fprintf(f, "#SBATCH --output=%s/logs/%%a.%%A.out\n", s->dir);
    fprintf(f, "set -u\n"
               "# the CPUs Slurm granted: OpenMP threads, recorded with the "
               "run\n"
               "threads=\"${SLURM_CPUS_PER_TASK:?run this with sbatch}\"\n"
               "export OMP_NUM_THREADS=\"$threads\"\n"
               "# BLIS: autorec runs each BLIS call on one thread inside its "
               "OpenMP\n# threads (an explicit runtime), so BLIS uses the "
               "same CPUs\nexport BLIS_NUM_THREADS=\"$threads\"\n"
               "point=\"${SLURM_ARRAY_TASK_ID:?run this with sbatch}\"\n"
               "exec ");
    slurm_quote(f, s->exe);
    fputs(" grid ", f);
    slurm_quote(f, s->config);
    fputs(" --point \"$point\" --threads \"$threads\" --db ", f);
    slurm_quote(f, s->dir);
    fputs("/\"$point\"/results.db", f);
    if (s->stop_epoch > 0) fprintf(f, " --stop-at-epoch %d", s->stop_epoch);
    for (int i = 0; i < a->in.n_sets; i++) {
        fputs(" --set ", f);
        slurm_quote(f, a->in.sets[i]);
    }
    fputc('\n', f);
}

int slurm_submit(const char *script, const char *after, char *id,
                 size_t cap) {
    int fd[2], status;
    char buf[256];
    size_t len = 0;
    ssize_t r;
    if (pipe(fd) != 0) {
        fprintf(stderr, "autorec slurm: pipe: %s\n", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "autorec slurm: fork: %s\n", strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fd[1], STDOUT_FILENO);
        close(fd[0]);
        close(fd[1]);
        char dep[96];
        snprintf(dep, sizeof dep, "--dependency=afterany:%s",
                 after ? after : "");
        if (after)
            execlp("sbatch", "sbatch", "--parsable", dep, script,
                   (char *)NULL);
        else
            execlp("sbatch", "sbatch", "--parsable", script, (char *)NULL);
        fprintf(stderr, "autorec slurm: cannot run sbatch: %s (is Slurm "
                        "installed and in PATH?)\n", strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    while (len + 1 < sizeof buf &&
           (r = read(fd[0], buf + len, sizeof buf - 1 - len)) != 0) {
        if (r < 0) {
            if (errno == EINTR) continue;
            break;
        }
        len += (size_t)r;
    }
    buf[len] = '\0';
    close(fd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "autorec slurm: sbatch %s failed (status %d): the "
                        "script is kept; fix the problem above and run "
                        "sbatch %s\n", script,
                WIFEXITED(status) ? WEXITSTATUS(status) : -1, script);
        return -1;
    }
    size_t n = strspn(buf, "0123456789");
    if (n == 0 || n >= cap) {
        fprintf(stderr, "autorec slurm: sbatch printed no job id: '%s'\n",
                buf);
        return -1;
    }
    memcpy(id, buf, n);
    id[n] = '\0';
    return 0;
}

int slurm_write(const char *path, const SlurmArgs *a, const GridPlan *p,
                const SlurmPaths *s, const char *array, size_t ntasks,
                int cpus, SlurmScriptFn fn) {
    OutFile out;
    char err[ERR_MAX];
    if (outfile_open(&out, path, 0777, a->db_path, err) == 0) {
        (fn ? fn : slurm_script)(out.f, a, p, s, array, ntasks, cpus);
        if (outfile_commit(&out, err) == 0) return 0;
    }
    fprintf(stderr, "autorec slurm: %s\n", err);
    return -1;
}

/* ------------------------------------------------------ the command -- */

int slurm_main(int argc, char **argv) {
    SlurmArgs a;
    GridPlan plan;
    SlurmPaths s;
    Db *db = NULL;
    int *state = NULL;
    size_t *todo = NULL, ntodo = 0;
    char *array = NULL, err[ERR_MAX], script[SLURM_PATH_MAX + 16];
    int rc = EXIT_USAGE, cpus;

    memset(&plan, 0, sizeof plan);
    int pa = slurm_parse(argc, argv, &a);
    if (pa) return cli_parse_status(pa);
    if (grid_load(a.in.config, a.in.sets, a.in.n_sets, &plan, err)) {
        fprintf(stderr, "autorec: %s\n", err);
        goto out;
    }
    /* CPUs per task: --threads, or more for a train.threads axis value */
    if ((cpus = grid_plan_threads(&plan, a.threads, a.threads, err)) < 0)
        goto fail;
    if (cpus < a.threads) cpus = a.threads;

    /* absolute paths: the tasks run elsewhere */
    ssize_t n = readlink("/proc/self/exe", s.exe, sizeof s.exe - 1);
    if (n <= 0 || (size_t)n >= sizeof s.exe - 1) {
        fprintf(stderr, "autorec slurm: cannot find this program's path "
                        "(/proc/self/exe)\n");
        goto out;
    }
    s.exe[n] = '\0';
    if (!realpath(a.in.config, s.config)) {
        fprintf(stderr, "autorec slurm: %s: %s\n", a.in.config,
                strerror(errno));
        goto out;
    }
    /* a relative config stays relative: the tasks run in this directory
     * (--chdir), so the paths inside it resolve, and hash into the
     * experiment id, exactly as here */
    if (a.in.config[0] != '/')
        snprintf(s.config, sizeof s.config, "%s", a.in.config);
    if (!getcwd(s.cwd, sizeof s.cwd)) {
        fprintf(stderr, "autorec slurm: cannot read the working directory: "
                        "%s\n", strerror(errno));
        goto out;
    }
    if (slurm_absolute(a.db_path, s.db, sizeof s.db)) goto out;
    {
        char shards[SLURM_PATH_MAX];
        if (a.shards) {
            if (slurm_absolute(a.shards, shards, sizeof shards)) goto out;
        } else {
            const char *slash = strrchr(s.db, '/');
            snprintf(shards, sizeof shards, "%.*s/shards",
                     (int)(slash - s.db), s.db);
        }
        while (strlen(shards) > 1 && shards[strlen(shards) - 1] == '/')
            shards[strlen(shards) - 1] = '\0';
        snprintf(s.shards, sizeof s.shards, "%s", shards);
        s.stop_epoch = 0;
        if ((size_t)snprintf(s.dir, sizeof s.dir, "%s/%s", shards,
                             plan.experiment) >= sizeof s.dir) {
            fprintf(stderr, "autorec slurm: --shards path too long\n");
            goto out;
        }
    }
    if (slurm_path_ok("the shard directory", s.dir) ||
        slurm_path_ok("the working directory", s.cwd))
        goto out;

    if (plan.base.search_pruner == PRUNER_ASHA) {   /* a chain of arrays */
        if (a.resume) {
            fprintf(stderr, "autorec slurm: --resume does not apply to a "
                            "search.pruner: asha chain: rerun the stage that "
                            "failed with autorec slurm CONFIG --stage K "
                            "--submit (see autorec slurm --help)\n");
            goto out;
        }
        rc = slurm_chain(&a, &plan, &s, cpus);
        goto out;
    }
    if (a.stage >= 0) {
        fprintf(stderr, "autorec slurm: --stage is the promotion step of a "
                        "search.pruner: asha chain; %s has pruner %s\n",
                a.in.config, cfg_pruner_name(plan.base.search_pruner));
        goto out;
    }

    /* the points to submit */
    rc = EXIT_FAILED;
    state = mem_calloc(plan.n, sizeof *state);
    todo = mem_calloc(plan.n, sizeof *todo);
    array = mem_alloc(plan.n * 24 + 32);
    if (!state || !todo || !array) {
        err_set(err, "out of memory for %zu points", plan.n);
        goto fail;
    }
    int ndb = 0, nshard = 0, nrun = 0;
    if (a.resume) {
        if (slurm_read_states(&plan, a.db_path, PT_DONE_DB, 0, -1, state))
            goto out;
        for (size_t i = 0; i < plan.n; i++) {
            char shard[SLURM_PATH_MAX + 64];
            if (state[i] != PT_TODO) continue;
            snprintf(shard, sizeof shard, "%s/%zu/results.db", s.dir, i);
            if (slurm_read_states(&plan, shard, PT_DONE_SHARD, 1,
                                  (long long)i, state))
                goto out;
        }
    }
    for (size_t i = 0; i < plan.n; i++) {
        ndb += state[i] == PT_DONE_DB;
        nshard += state[i] == PT_DONE_SHARD;
        nrun += state[i] == PT_RUNNING;
        if (state[i] == PT_TODO) todo[ntodo++] = i;
    }
    if (a.resume) {   /* the script alone on stdout with --print */
        FILE *info = a.print ? stderr : stdout;
        fprintf(info, "grid %s: %zu points: %d finished in %s, %d finished in their "
               "shard only%s, %d running, %zu to submit\n", plan.experiment,
               plan.n, ndb, a.db_path, nshard,
               nshard ? " (merge them)" : "", nrun, ntodo);
        if (ntodo == 0) {
            fprintf(info, "nothing to resubmit\n");
            rc = EXIT_OK;
            goto out;
        }
    }
    if (slurm_array_spec(todo, ntodo, a.max_parallel, array,
                         plan.n * 24 + 32)) {
        err_set(err, "the array specification does not fit");
        goto fail;
    }

    {
        char logs[SLURM_PATH_MAX + 8];
        snprintf(logs, sizeof logs, "%s/logs", s.dir);
        if (slurm_mkdirs(logs)) goto out;
    }
    if (a.print) {
        slurm_script(stdout, &a, &plan, &s, array, ntodo, cpus);
        rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILED;
        goto out;
    }
    {   /* points that never run show as "not run" in the database */
        DbExperiment x = {plan.experiment, plan.base.name, plan.axes,
                          plan.yaml, (int64_t)plan.n,
                          (const char *const *)plan.hashes,
                          (const char *const *)plan.params};
        if (db_open(&db, a.db_path, err)) goto fail;
        db_report_created(db, "slurm");
        if (db_experiment_register(db, &x, err)) goto fail;
    }
    snprintf(script, sizeof script, "%s/job.sbatch", s.dir);
    if (slurm_write(script, &a, &plan, &s, array, ntodo, cpus, NULL))
        goto out;
    printf("wrote %s: grid %s, %zu task%s (--array=%s), %d CPU%s each\n",
           script, plan.experiment, ntodo, ntodo == 1 ? "" : "s", array, cpus,
           cpus == 1 ? "" : "s");
    if (a.submit) {
        char id[64];
        if (slurm_submit(script, NULL, id, sizeof id)) goto out;
        printf("submitted job array %s\n", id);
        printf("watch:  squeue -r -j %s\n", id);
    } else {
        printf("submit: sbatch %s\n", script);
    }
    printf("then:   autorec merge %s --into %s\n", s.dir, a.db_path);
    rc = EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "autorec slurm: %s\n", err);
out:
    db_close(db);
    mem_free(state);
    mem_free(todo);
    mem_free(array);
    grid_plan_free(&plan);
    return rc;
}
