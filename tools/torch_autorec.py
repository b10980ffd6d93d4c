#!/usr/bin/python3
"""torch_autorec.py - the PyTorch reference autorec is measured against.

The d2l.ai AutoRec notebook (PyTorch port) as a script: item-based AutoRec on
a MovieLens ratings file, a random split that keeps each rating for training
with probability 1 - test_ratio, the interaction matrix items x users (dense,
0 = unobserved), encoder Linear(users -> hidden) + sigmoid, dropout on the
hidden output in training, decoder Linear(hidden -> users), the training
prediction masked by sign(input), loss = squared error summed over the
observed entries (MSELoss(reduction='sum')), Adam with coupled weight decay,
batches of item rows in a fresh random order each epoch, and after every
epoch the test RMSE of the eval-mode reconstruction of the whole training
matrix at the test positions.  Nothing is skipped that the notebook does.

Where it departs from the notebook, for speed or for other data only:
  - batches index the training tensor with a random permutation instead of
    going through DataLoader (the same rows in the same kind of order;
    --loader dataloader restores it);
  - the last incomplete batch is dropped, as autorec does (--last-batch keep
    trains on it);
  - ids index the matrix as id - 1 and its dimensions are the largest ids,
    as autorec does (the notebook counts unique ids: the same on ML-100K);
  - the ratings are parsed with numpy, not pandas.
Defaults are the notebook's (hidden 500, dropout 0.05, lr 0.002, weight decay
1e-5, 25 epochs, batch 256, test ratio 0.1).  What it prints, one line each:
  startup/load/model phases, `epoch k/N train loss L test RMSE R train S eval S`,
  and last `result test_rmse=R epochs=N seconds=S threads=T`, S being the
  seconds since this script started (the interpreter's own start-up before it
  is not included: tools/bench_torch.sh times the whole process).
Exit status: 0 done, 1 a runtime failure (torch missing, unreadable file),
2 bad usage or data.  Run it with /usr/bin/python3 (Debian's python3-torch).
"""
import argparse
import os
import sys
import time

T_START = time.perf_counter()

FORMATS = {"ml-100k": ("u.data", b"\t"), "ml-1m": ("ratings.dat", b"::")}


def die(code, msg):
    """Prints `torch_autorec: msg` to stderr and exits with code."""
    print("torch_autorec: " + msg, file=sys.stderr)
    sys.exit(code)


def parse_args(argv):
    """Returns the parsed options; argparse exits 2 on bad usage."""
    p = argparse.ArgumentParser(
        prog="torch_autorec.py",
        description="The d2l.ai AutoRec notebook (PyTorch) as a script: "
                    "I-AutoRec on a MovieLens ratings file, per-epoch train "
                    "loss, test RMSE and seconds.")
    p.add_argument("--data", default="data/ml-100k",
                   help="ratings file, or a directory holding u.data "
                        "(ml-100k) or ratings.dat (ml-1m) (default data/ml-100k)")
    p.add_argument("--format", choices=sorted(FORMATS), default="ml-100k",
                   help="ml-100k: user<TAB>item<TAB>rating<TAB>time; "
                        "ml-1m: user::item::rating::time (default ml-100k)")
    p.add_argument("--epochs", type=int, default=25)
    p.add_argument("--hidden", type=int, default=500)
    p.add_argument("--batch", type=int, default=256, help="items per batch")
    p.add_argument("--lr", type=float, default=0.002)
    p.add_argument("--weight-decay", type=float, default=1e-5,
                   help="Adam's coupled weight decay")
    p.add_argument("--dropout", type=float, default=0.05)
    p.add_argument("--test-ratio", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0,
                   help="seeds numpy (the split) and torch (init, order, dropout)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch.set_num_threads (0: leave torch's default; "
                        "default 1, the fastest measured here)")
    p.add_argument("--eval-batch", type=int, default=0,
                   help="item rows per evaluation forward (the notebook: "
                        "1024; default 0: the whole matrix at once)")
    p.add_argument("--no-inference-mode", action="store_true",
                   help="evaluate under torch.no_grad instead of "
                        "torch.inference_mode")
    p.add_argument("--loader", choices=["index", "dataloader"], default="index",
                   help="index: a random permutation indexes the training "
                        "tensor; dataloader: torch DataLoader(shuffle=True)")
    p.add_argument("--foreach", action="store_true",
                   help="torch.optim.Adam(foreach=True): the multi-tensor "
                        "update (default: torch's choice, per tensor on CPU)")
    p.add_argument("--last-batch", choices=["drop", "keep"], default="drop",
                   help="the last incomplete batch of an epoch (default drop)")
    a = p.parse_args(argv)
    for name in ("epochs", "hidden", "batch"):
        if getattr(a, name) < 1:
            p.error("--%s must be at least 1, not %d" % (name, getattr(a, name)))
    for name in ("threads", "eval_batch"):
        if getattr(a, name) < 0:
            p.error("--%s must be at least 0, not %d"
                    % (name.replace("_", "-"), getattr(a, name)))
    if not 0.0 < a.test_ratio < 1.0:
        p.error("--test-ratio must be in (0, 1), not %g" % a.test_ratio)
    if not 0.0 <= a.dropout < 1.0:
        p.error("--dropout must be in [0, 1), not %g" % a.dropout)
    if a.lr <= 0 or a.weight_decay < 0:
        p.error("--lr must be > 0 and --weight-decay >= 0")
    return a


def ratings_path(a):
    """Returns the ratings file named by --data and --format, or exits 2."""
    path = a.data
    if os.path.isdir(path):
        path = os.path.join(path, FORMATS[a.format][0])
    if not os.path.isfile(path):
        die(2, "no ratings file %s (--data %s, --format %s): give a file or "
               "a directory holding %s" % (path, a.data, a.format,
                                           FORMATS[a.format][0]))
    return path


def read_ratings(np, path, fmt):
    """Returns (users, items, ratings): 0-based int64 ids and float32
    ratings of every line of path; exits 2 when a line is malformed."""
    with open(path, "rb") as f:
        text = f.read()
    sep = FORMATS[fmt][1]
    if sep != b"\t":
        text = text.replace(sep, b"\t")
    try:
        flat = np.array(text.split(), dtype=np.float64)
    except ValueError as e:
        die(2, "%s: a field is not a number (%s): check --format" % (path, e))
    lines = text.count(b"\n") + (0 if text.endswith(b"\n") or not text else 1)
    if flat.size == 0 or flat.size != 4 * lines:
        die(2, "%s: expected 4 fields on each of %d lines, read %d fields: "
               "check --format" % (path, lines, flat.size))
    flat = flat.reshape(-1, 4)
    users = flat[:, 0].astype(np.int64) - 1
    items = flat[:, 1].astype(np.int64) - 1
    if users.min() < 0 or items.min() < 0:
        die(2, "%s: ids must be positive integers" % path)
    return users, items, flat[:, 2].astype(np.float32)


def main(argv):
    """Trains and evaluates as the notebook does; returns the exit status."""
    a = parse_args(argv)
    path = ratings_path(a)
    try:
        import numpy as np
        import torch
        from torch import nn
    except ImportError as e:
        die(1, "cannot import %s with %s: install Debian's python3-torch "
               "(bash tools/install_deps.sh python3-torch) and run this with "
               "/usr/bin/python3" % (e.name, sys.executable))
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    t_import = time.perf_counter()

    np.random.seed(a.seed)
    torch.manual_seed(a.seed)
    users, items, ratings = read_ratings(np, path, a.format)
    num_users, num_items = int(users.max()) + 1, int(items.max()) + 1
    if a.last_batch == "drop" and a.batch > num_items:
        die(2, "--batch %d exceeds the %d items: with the last incomplete "
               "batch dropped no step would run; lower --batch"
               % (a.batch, num_items))
    # the notebook's split: each rating kept for training w.p. 1 - test_ratio
    keep = np.random.uniform(0, 1, len(ratings)) < 1 - a.test_ratio
    train_np = np.zeros((num_items, num_users), dtype=np.float32)
    test_np = np.zeros((num_items, num_users), dtype=np.float32)
    train_np[items[keep], users[keep]] = ratings[keep]
    test_np[items[~keep], users[~keep]] = ratings[~keep]
    train = torch.from_numpy(train_np)
    test = torch.from_numpy(test_np)
    n_test = float(torch.sign(test).sum())
    t_load = time.perf_counter()

    class AutoRec(nn.Module):
        """The notebook's model: the training output is masked by the
        input's sign, the eval-mode output is the full reconstruction."""

        def __init__(self, num_hidden, num_users, dropout):
            super().__init__()
            self.encoder = nn.Linear(num_users, num_hidden, bias=True)
            self.decoder = nn.Linear(num_hidden, num_users, bias=True)
            self.dropout = nn.Dropout(dropout)
            nn.init.normal_(self.encoder.weight, std=0.01)
            nn.init.normal_(self.decoder.weight, std=0.01)

        def forward(self, x):
            hidden = self.dropout(torch.sigmoid(self.encoder(x)))
            pred = self.decoder(hidden)
            return pred * torch.sign(x) if self.training else pred

    net = AutoRec(a.hidden, num_users, a.dropout)
    loss_fn = nn.MSELoss(reduction="sum")
    opt = torch.optim.Adam(net.parameters(), lr=a.lr,
                           weight_decay=a.weight_decay,
                           foreach=True if a.foreach else None)
    no_grad = torch.no_grad if a.no_inference_mode else torch.inference_mode
    if a.loader == "dataloader":
        loader = torch.utils.data.DataLoader(
            train, batch_size=a.batch, shuffle=True,
            drop_last=a.last_batch == "drop")
    t_model = time.perf_counter()
    print("import torch %.3f s (%d threads), load + split %.3f s (%d users "
          "x %d items, %d train, %d test), model %.3f s"
          % (t_import - T_START, torch.get_num_threads(),
             t_load - t_import, num_users, num_items, int(keep.sum()),
             int((~keep).sum()), t_model - t_load), flush=True)

    def batches():
        """Yields the epoch's training batches (item rows)."""
        if a.loader == "dataloader":
            yield from loader
            return
        order = torch.randperm(num_items)
        end = num_items - num_items % a.batch if a.last_batch == "drop" \
            else num_items
        for s in range(0, end, a.batch):
            yield train[order[s:s + a.batch]]

    rmse = float("nan")
    for epoch in range(1, a.epochs + 1):
        t0 = time.perf_counter()
        net.train()
        total, seen = 0.0, 0
        for x in batches():
            opt.zero_grad()
            loss = loss_fn(net(x), x)
            loss.backward()
            opt.step()
            total += loss.item()
            seen += x.shape[0]
        t1 = time.perf_counter()
        net.eval()
        with no_grad():
            if a.eval_batch == 0:
                recon = net(train)
            else:
                recon = torch.cat([net(train[s:s + a.eval_batch])
                                   for s in range(0, num_items, a.eval_batch)])
            rmse = float(torch.sqrt(
                torch.sum(torch.square(test - torch.sign(test) * recon))
                / n_test))
        t2 = time.perf_counter()
        print("epoch %3d/%d  train loss %9.3f  test RMSE %.4f  train %.2fs  "
              "eval %.2fs" % (epoch, a.epochs, total / max(seen, 1), rmse,
                              t1 - t0, t2 - t1), flush=True)
    print("result test_rmse=%.6f epochs=%d seconds=%.3f threads=%d"
          % (rmse, a.epochs, time.perf_counter() - T_START,
             torch.get_num_threads()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
