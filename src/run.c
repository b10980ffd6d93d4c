/* run.c - `autorec run`: config -> data -> training -> results database.
 *
 * Everything that user input can make fail (config, data, model size) is
 * checked before the database is opened, so a bad config never touches it.
 *
 * Every signal that would end the process mid-run stops it instead (stop.h):
 * the run is recorded as interrupted.  Progress lines that cannot be written
 * (stdout a closed pipe: `autorec run ... | head`; a full or size-limited
 * file) stop the run too, recorded as failed with the reason.
 *
 * Global mutable state: g_out_errno, the errno of the first failed write
 * to stdout, set by the epoch printers (callbacks without a context of
 * their own) and read when the run ends. */
#include "run.h"

#include <errno.h>
#include <omp.h>
#include <signal.h>
#include <string.h>

#include "activation.h"
#include "cfg.h"
#include "cli.h"
#include "db.h"
#include "ensemble.h"
#include "err.h"
#include "grid.h"
#include "heartbeat.h"
#include "help.h"
#include "query.h"
#include "runner.h"
#include "runner_glocal.h"
#include "stop.h"


static int g_out_errno; /* first failed write to stdout, 0 when none */

/* Flushes stdout; on the first failure records errno and asks the run to
 * stop (as SIGPIPE would have, without killing the process). */
static void flush_progress(void) {
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout)) return;
    if (!g_out_errno) g_out_errno = errno ? errno : EIO;
    if (!stop_signal) stop_signal = SIGPIPE;
}

void run_usage(FILE *f) {
    fprintf(f,
"usage: autorec run CONFIG [KEY=VALUE]... [--db PATH] [--set KEY=VALUE]...\n"
"                  [--quiet] [--val-only] [--]\n"
"\n"
"Trains AutoRec (I-AutoRec; U-AutoRec with model.variant: user; GLocal-K with\n"
"model.variant: glocal) as described\n"
"by the YAML file CONFIG and records the run and every epoch (train loss,\n"
"test RMSE, seconds) in the results database.\n"
"\n"
"options:\n"
"  --db PATH         results database (default " CLI_DEFAULT_DB ", created if missing)\n"
"  --set KEY=VALUE   override a config key, e.g. --set train.lr=0.001\n"
"                    (repeatable; validated like the file); a bare\n"
"                    KEY=VALUE argument is the same (autorec run CONFIG\n"
"                    train.lr=0.001).  Relative paths inside CONFIG are\n"
"                    relative to CONFIG's directory; those of overrides\n"
"                    to the working directory\n"
"  --                ends the options\n"
"  --quiet           print only the final summary line\n"
"  --val-only        an ensemble config: print validation figures only, no\n"
"                    test RMSE (for choosing by hand; the test figures are\n"
"                    recorded as always: autorec summary, show)\n"
"  -h, --help        this help\n"
"\n"
"With data.split.repeats: K > 1 (K random splits, split seed + 0..K-1) or\n"
"data.split.kind: folds (u1.base/u1.test ... u5.base/u5.test beside\n"
"data.path) the splits run as one experiment, like `autorec grid` with one\n"
"worker (rerun to resume), and the mean, sd and 95%% t interval of the\n"
"selected test RMSE go to split_summaries (see autorec summary).\n"
"\n"
"exit status: 0 finished, 1 failed or diverged (also when the progress lines\n"
"cannot be written: a closed pipe, a full disk), 2 bad usage, config or data,\n"
"128 + N interrupted by signal N: 130 SIGINT, 143 SIGTERM, 129 SIGHUP, ...\n"
"(finished epochs are kept; see docs/failures.md, \"Signals and stale runs\").\n"
"\n"
"config keys (dotted paths, the defaults reproduce configs/seed.yaml; what\n"
"each accepts: autorec help config, docs/config-keys.md):\n");
    help_config_keys(f);
}

typedef struct {
    CliConfig in;           /* CONFIG and its overrides */
    const char *db_path;
    int quiet;
    int val_only;
} RunArgs;

/* Parses the command line; returns -1 (message printed) on bad usage, 1 for
 * --help (printed), 0 otherwise. */
static int parse_args(int argc, char **argv, RunArgs *a) {
    memset(a, 0, sizeof *a);
    a->db_path = CLI_DEFAULT_DB;
    const CliOpt opts[] = {
        {.name = "--db", .kind = CLI_TEXT, .dest = &a->db_path},
        {.name = "--set", .kind = CLI_SET, .dest = &a->in},
        {.name = "--quiet", .kind = CLI_FLAG, .dest = &a->quiet},
        {.name = "--val-only", .kind = CLI_FLAG, .dest = &a->val_only},
        {.name = NULL},
    };
    CliSpec spec = {.cmd = "run", .usage = run_usage, .opts = opts,
                    .config = &a->in,
                    .missing = "CONFIG (e.g. autorec run configs/seed.yaml)"};
    return cli_parse(&spec, argc, argv);
}

/* Loads, overrides and validates the config.  Returns 0 or -1 (printed). */
static int load_config(const RunArgs *a, Config *cfg) {
    char err[ERR_MAX];
    cfg_defaults(cfg);
    if (cfg_load_file(cfg, a->in.config, err)) goto fail;
    for (int i = 0; i < a->in.n_sets; i++)
        if (cfg_set_override(cfg, a->in.sets[i], err)) goto fail;
    if (cfg_validate(cfg, err)) goto fail;
    return 0;
fail:
    fprintf(stderr, "autorec: %s\n", err);
    return -1;
}

/* Prints one epoch line; with a validation split also the validation RMSE
 * and a '*' when the epoch is the selected one so far.  ctx is the run's
 * Config: with model.variant glocal the line names the epoch's stage. */
static void print_epoch(void *ctx, const DbEpoch *e, int epochs) {
    const Config *c = ctx;
    const char *stage = c->variant != VARIANT_GLOCAL ? ""
                      : runner_glocal_stage(c, e->epoch) == GLOCAL_PRETRAIN
                      ? " pretrain " : " fine-tune";
    if (e->has_val && e->has_ema)   /* train.ema: the average beside */
        printf("epoch %3d/%d%s  train loss %9.3f  val RMSE %.4f%s ema %.4f%s "
               "test RMSE %.4f  ema %.4f  train %.2fs  eval %.2fs\n",
               e->epoch, epochs, stage, e->train_loss, e->val_rmse,
               e->selected && !e->selected_ema ? "*" : " ", e->ema_val_rmse,
               e->selected_ema ? "*" : " ", e->test_rmse, e->ema_test_rmse,
               e->train_seconds, e->eval_seconds);
    else if (e->has_val)
        printf("epoch %3d/%d%s  train loss %9.3f  val RMSE %.4f%s test RMSE %.4f  "
               "MAE %.4f  train %.2fs  eval %.2fs\n", e->epoch, epochs, stage,
               e->train_loss, e->val_rmse, e->selected ? "*" : " ",
               e->test_rmse, e->test_mae, e->train_seconds, e->eval_seconds);
    else
        printf("epoch %3d/%d%s  train loss %9.3f  test RMSE %.4f  train %.2fs  eval %.2fs\n",
               e->epoch, epochs, stage, e->train_loss, e->test_rmse,
               e->train_seconds, e->eval_seconds);
    flush_progress();
}

/* Prints what a GLocal-K run trains: its layers, kernels, stages and the
 * keys it does not read. */
static void print_glocal(const Config *c, const Runner *r) {
    const RunnerGlocal *rg = r->glocal;
    const Glocal *g = &rg->model;
    printf("GLocal-K: %d", g->cols);
    for (int l = 0; l < g->num_layers; l++) printf(" -> %d", g->shape[l].n_out);
    printf(" kernelised layers (encoder %s, decoder %s, embedding dim %d, "
           "sparsity %g, l2 %g), global kernel %dx%d (dot scale %g), %zu "
           "parameters, seed %llu, %d threads\n",
           activation_name(rg->arch.encoder), activation_name(rg->arch.decoder),
           c->glocal_dim, c->glocal_sparsity, c->l2, c->glocal_kernel_size,
           c->glocal_kernel_size, c->glocal_dot_scale, g->num_params,
           (unsigned long long)c->seed, r->threads);
    printf("L-BFGS (memory %d): epochs 1-%d pretrain (%d iterations each)",
           GLOCAL_LBFGS_MEMORY, c->glocal_pretrain_epochs, c->glocal_pretrain_iters);
    if (c->epochs > c->glocal_pretrain_epochs)
        printf(", %d-%d fine-tune (%d iterations each)",
               c->glocal_pretrain_epochs + 1, c->epochs, c->glocal_finetune_iters);
    printf("; not used: model.dropout, train.lr, batch_size, weight_decay, "
           "optimizer, schedule, kernel\n");
}

/* Prints one epoch line of the refit (train.refit). */
static void print_refit_epoch(void *ctx, const DbEpoch *e, int epochs) {
    (void)ctx;
    printf("refit %3d/%d  train loss %9.3f  (train+val)       test "
           "RMSE %.4f  MAE %.4f  train %.2fs  eval %.2fs\n", e->epoch, epochs,
           e->train_loss, e->test_rmse, e->test_mae, e->train_seconds,
           e->eval_seconds);
    flush_progress();
}

/* A config with data.split.repeats > 1 or kind folds: its splits run as
 * an experiment of one configuration through grid_run (one worker,
 * resumable; the summary rows go to split_summaries).  Returns the exit
 * code. */
static int run_splits(const RunArgs *a, const Config *cfg) {
    GridPlan plan;
    GridOptions o;
    Grid none;
    char err[ERR_MAX];
    int rc = EXIT_USAGE;
    memset(&none, 0, sizeof none);
    memset(&plan, 0, sizeof plan);
    if (grid_options_init(&o)) return EXIT_USAGE;
    o.db_path = a->db_path;
    /* train.threads is kept (grids otherwise give cores / workers) */
    if (cfg->threads > 0 && cfg->threads <= omp_get_num_procs())
        o.threads = cfg->threads;
    if (grid_plan_make(&plan, cfg, &none, err) ||
        grid_plan_check_data(&plan, err))
        fprintf(stderr, "autorec: %s\n", err);
    else
        rc = grid_run(&plan, &o);
    grid_plan_free(&plan);
    return rc;
}

int run_main(int argc, char **argv) {
    RunArgs args;
    Config cfg;
    Runner runner;
    Db *db = NULL;
    Heartbeat hb;
    char err[ERR_MAX];
    int64_t run_id = -1;
    int rc = EXIT_USAGE;
    memset(&runner, 0, sizeof runner);
    memset(&hb, 0, sizeof hb);

    int pa = parse_args(argc, argv, &args);
    if (pa) return cli_parse_status(pa);
    if (ens_detect(args.in.config))   /* an ensemble: ensemble.h */
        return ens_run_main(args.in.config, args.db_path, args.in.sets,
                            args.in.n_sets, args.quiet, args.val_only);
    if (args.val_only) {
        fprintf(stderr, "autorec: run: --val-only applies to ensemble configs "
                "(an ensemble: section); %s has none: leave the flag out\n",
                args.in.config);
        return EXIT_USAGE;
    }
    if (load_config(&args, &cfg)) return EXIT_USAGE;
    if (cfg_split_count(&cfg) > 1) return run_splits(&args, &cfg);
    if (runner_prepare(&runner, &cfg, err)) goto fail;

    rc = EXIT_FAILED;  /* from here on failures are runtime failures */
    cli_signals(CLI_SIGNALS_STOP);   /* a signal from here on stops the run */
    if (db_open(&db, args.db_path, err)) goto fail;
    db_report_created(db, "run");
    DbRunInfo info;
    runner_info(&runner, &info);
    if (db_run_begin(db, &info, &run_id, err)) goto fail;
    if (heartbeat_start(&hb, args.db_path, NULL, run_id, DB_HEARTBEAT_SECONDS, err))
        goto fail;

    const Dataset *ds = &runner.ds;
    if (!args.quiet) {
        if (ds->n_val)
            printf("run %lld '%s': %d items x %d users, %zu train / %zu validation / "
                   "%zu test ratings\n", (long long)run_id, cfg.name, ds->num_items,
                   ds->num_users, ds->n_train, ds->n_val, ds->n_test);
        else
            printf("run %lld '%s': %d items x %d users, %zu train / %zu test ratings\n",
                   (long long)run_id, cfg.name, ds->num_items, ds->num_users,
                   ds->n_train, ds->n_test);
        if (cfg.variant == VARIANT_GLOCAL)
            print_glocal(&cfg, &runner);
        else
            printf("hidden %d, dropout %g, lr %g, weight decay %g, batch %d, seed %llu, "
                   "%s kernel, %d threads\n", cfg.hidden, cfg.dropout, cfg.lr,
                   cfg.weight_decay, cfg.batch_size, (unsigned long long)cfg.seed,
                   runner.kernel, runner.threads);
        if (cfg.variant == VARIANT_USER)
            printf("variant user (U-AutoRec): the %d users' rating vectors over "
                   "the items are reconstructed\n", ds->num_users);
        if (cfg.variant != VARIANT_GLOCAL &&
            (cfg.hidden_more > 0 || cfg.act_encoder != ACT_SIGMOID ||
             cfg.act_decoder != ACT_IDENTITY)) {
            const Model *m = &runner.trainer.model;
            printf("model: %d", m->width[0]);
            for (int l = 1; l <= m->num_layers; l++) printf(" -> %d", m->width[l]);
            printf(", encoder %s, decoder %s, %zu parameters\n",
                   activation_name((Activation)cfg.act_encoder),
                   activation_name((Activation)cfg.act_decoder), m->num_params);
        }
        const int glocal = cfg.variant == VARIANT_GLOCAL;
        if (cfg.l2 > 0 || cfg.optimizer != OPTIM_ADAM || cfg.schedule != SCHED_NONE ||
            cfg.patience > 0 || cfg.clip.mode != CLIP_NONE || ds->n_val)
            printf("protocol: l2 %g, %s%s%s, patience %d, clip %s [%g, %g], "
                   "cold default %s%.3g\n", cfg.l2,
                   glocal ? "L-BFGS" : cfg_optimizer_name(cfg.optimizer),
                   glocal ? "" : ", schedule ",
                   glocal ? "" : cfg_schedule_name(cfg.schedule), cfg.patience,
                   cfg.clip.mode == CLIP_NONE ? "off" : "on",
                   runner.trainer.proto.clip_lo, runner.trainer.proto.clip_hi,
                   cfg.cold_default > 0 ? "" : "none ", cfg.cold_default);
        flush_progress();
    }
    RunHooks hooks = {args.quiet ? NULL : print_epoch, &cfg, &stop_signal,
                      args.quiet ? NULL : print_refit_epoch, NULL};
    RunOutcome out;
    RunStatus st = runner_train(&runner, db, run_id, &hooks, &out, err);
    heartbeat_stop(&hb);
    char why[ERR_MAX] = "";  /* recorded in runs.error */
    if (st == RUN_INTERRUPTED && g_out_errno) {
        /* the progress lines could not be written: a failure, not a signal */
        st = RUN_FAILED;
        snprintf(err, ERR_MAX, "cannot write the progress of run %lld to "
                 "standard output after %d epochs: %s (the reader of a pipe "
                 "went away or the disk is full; use --quiet or redirect "
                 "stdout to a file)", (long long)run_id, out.epochs_done,
                 strerror(g_out_errno));
    } else if (st == RUN_FAILED && stop_signal) {
        /* a database wait given up because a signal asked to stop */
        fprintf(stderr, "autorec: %s\n", err);
        st = RUN_INTERRUPTED;
    }
    if (st == RUN_DIVERGED || st == RUN_FAILED) {
        fprintf(stderr, "autorec: %s\n", err);
        snprintf(why, sizeof why, "%s", err);
    }
    if (db_run_end_msg(db, run_id, runner_status_name(st), why[0] ? why : NULL, err)) {
        fprintf(stderr, "autorec: could not record the end of run %lld: %s (the "
                "query tools show it as stale once its heartbeat is %d s old)\n",
                (long long)run_id, err, DB_STALE_SECONDS);
        if (st == RUN_INTERRUPTED) rc = 128 + stop_signal;
        goto out;
    }
    if (st == RUN_FINISHED && cfg.refit) {
        printf("run %lld finished: selected epoch %d by validation RMSE %.4f "
               "(test RMSE %.4f); refit on train + validation for %d epochs: "
               "test RMSE %.4f, in %.2f s, results in %s\n", (long long)run_id,
               out.selected_epoch, out.selected_val_rmse, out.selected_test_rmse,
               out.refit_epochs, out.refit_test_rmse, out.seconds, args.db_path);
        rc = EXIT_OK;
    } else if (st == RUN_FINISHED && runner.ds.n_val) {
        printf("run %lld finished: selected epoch %d by validation RMSE %.4f: test "
               "RMSE %.4f (last %.4f), %d epochs%s in %.2f s, results in %s\n",
               (long long)run_id, out.selected_epoch, out.selected_val_rmse,
               out.selected_test_rmse, out.final_rmse, out.epochs_done,
               out.stopped_early ? " (early stop)" : "", out.seconds, args.db_path);
        rc = EXIT_OK;
    } else if (st == RUN_FINISHED) {
        printf("run %lld finished: test RMSE %.4f (best %.4f at epoch %d), %d epochs "
               "in %.2f s, results in %s\n", (long long)run_id, out.final_rmse,
               out.best_rmse, out.best_epoch, out.epochs_done, out.seconds, args.db_path);
        rc = EXIT_OK;
    } else if (st == RUN_INTERRUPTED) {
        fprintf(stderr, "autorec: run %lld interrupted by %s after %d finished epochs "
                "(kept in %s)\n", (long long)run_id, stop_signal_name(stop_signal),
                out.epochs_done, args.db_path);
        rc = 128 + stop_signal;
    }
    errno = 0;
    if (rc == EXIT_OK && (fflush(stdout) != 0 || ferror(stdout))) {
        fprintf(stderr, "autorec: run %lld finished (recorded in %s) but its "
                "summary could not be written to standard output: %s\n",
                (long long)run_id, args.db_path, strerror(errno ? errno : EIO));
        rc = EXIT_FAILED;
    }
    goto out;

fail:
    fprintf(stderr, "autorec: %s\n", err);
    if (db && run_id >= 0) {
        char why[ERR_MAX];
        snprintf(why, sizeof why, "%s", err);
        if (db_run_end_msg(db, run_id, "failed", why, err))
            fprintf(stderr, "autorec: could not mark run %lld failed: %s\n",
                    (long long)run_id, err);
    }
    /* a lock wait given up because of a signal: the signal's exit status */
    if (rc == EXIT_FAILED && stop_signal) rc = 128 + stop_signal;
out:
    heartbeat_stop(&hb);
    db_close(db);
    runner_free(&runner);
    return rc;
}
