"""Side-by-side benchmark of the seed course's training recipe and the notebook's recipe.

Both recipes train the same models (the vae_cvae master's reference VAE and CVAE, latent
size 2) with Adam, and are run alternately in one process over several seeds:

- seed recipe: ``DataLoader(datasets.MNIST(..., transform=ToTensor()), batch_size=32,
  shuffle=True)``, lr 1e-3, 10 epochs (the original course's settings);
- student recipe: ``helpers.BatchIterator`` (in memory, on the GPU if there is one), the
  batch size, learning rate, warm-up and epochs the notebook gives students.

It prints, per model and recipe, the training wall time, the test negative ELBO per image
(nats), its reconstruction and KL parts, and the time ratio. Data: MNIST through
``helpers.load_mnist`` (offline: ``$VAE_DATA_FALLBACK``, e.g. MNIST-10k); the device and data
are named in the output.

It ends with the issue's targets for the student recipe, each marked met or NOT met: time at
most a third of the seed recipe's, median test loss at or below the seed recipe's, and a KL
above 1 nat in every seed (no posterior collapse).

    python -m bench.training [--seeds 0 1 2 3 4] [--device cpu]
    python -m bench.training --student-recipe 64 3e-3 4 --warmup 100   # try another recipe
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
from torch.nn import functional as F

import helpers
from bench.models import reference_namespace

STUDENT = {"batch_size": 64, "lr": 2e-3, "epochs": 8, "warmup": 200}
SEED_RECIPE = {"batch_size": 32, "lr": 1e-3, "epochs": 10, "warmup": 0}
# The targets for the student recipe, checked against the seed recipe run beside it.
TARGET_TIME_RATIO = 1 / 3
MIN_KL = 1.0


def seed_loaders(root: str, limit: int | None = None):
    from torchvision import datasets, transforms
    train = datasets.MNIST(root, train=True, transform=transforms.ToTensor())
    if limit is not None:
        train = torch.utils.data.Subset(train, range(min(limit, len(train))))
    return torch.utils.data.DataLoader(train, batch_size=SEED_RECIPE["batch_size"], shuffle=True)


def train(model, batches, epochs, lr, device, conditional, warmup=0):
    """Adam at a constant ``lr``; with ``warmup`` > 0 the rate rises linearly over that many steps."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = (torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))
                if warmup else None)
    loss_function = NS["loss_function"]
    for _ in range(epochs):
        model.train()
        for x, y in batches:
            x = x.to(device, non_blocking=True)
            optimizer.zero_grad()
            if conditional:
                out = model(x, F.one_hot(y.to(device), 10).float())
            else:
                out = model(x)
            loss = loss_function(out[0], x, out[1], out[2])[0]
            loss.backward()
            optimizer.step()
            if schedule is not None:
                schedule.step()
    if device.type == "cuda":
        torch.cuda.synchronize()


@torch.no_grad()
def evaluate(model, x, y, device, conditional):
    model.eval()
    torch.manual_seed(1234)
    totals = torch.zeros(2)
    for start in range(0, len(x), 500):
        xb, yb = x[start:start + 500].to(device), y[start:start + 500].to(device)
        args = (xb, F.one_hot(yb, 10).float()) if conditional else (xb,)
        recon, mean, logvar = model(*args)
        _, r, k = NS["loss_function"](recon, xb, mean, logvar)
        totals += torch.tensor([r.item(), k.item()]) * len(xb)
    r, k = (totals / len(x)).tolist()
    return r + k, r, k


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default=None, help="default: helpers.choose_device()")
    parser.add_argument("--skip-seed-recipe", action="store_true",
                        help="only time the student recipe (e.g. for GPU epoch times)")
    parser.add_argument("--student-recipe", nargs=3, metavar=("BATCH", "LR", "EPOCHS"),
                        help="try another recipe in place of the notebook's, e.g. 128 2e-3 10")
    parser.add_argument("--warmup", type=int, default=0, metavar="STEPS",
                        help="with --student-recipe: raise the learning rate linearly over STEPS steps "
                             "(default 0: no warm-up; the notebook's recipe uses 200)")
    parser.add_argument("--limit-train", type=int, default=None, metavar="N",
                        help="train on the first N training images only (a quick smoke run)")
    args = parser.parse_args(argv)
    if args.warmup and not args.student_recipe:
        parser.error("--warmup changes the student recipe: give --student-recipe too")
    if args.student_recipe:
        batch, lr, epochs = args.student_recipe
        STUDENT.update(batch_size=int(batch), lr=float(lr), epochs=int(epochs), warmup=args.warmup)
    device = helpers.choose_device(args.device)
    data = helpers.load_mnist()
    root = data.origin.split("offline copy at ")[-1].split(";")[0] if "offline copy" in data.origin \
        else str(helpers.data.data_root())
    print(f"data: {data.describe()}")
    print(f"device: {device}" + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else
                                f" ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"))
    print(f"student recipe: {STUDENT}; seed recipe: DataLoader+ToTensor, {SEED_RECIPE}\n")
    train_x, train_y = data.train_x[:args.limit_train], data.train_y[:args.limit_train]
    if args.limit_train is not None:
        print(f"smoke run: the first {len(train_x)} training images only\n")
    student_iter = helpers.BatchIterator(train_x, train_y, batch_size=STUDENT["batch_size"],
                                         device=device)
    seed_iter = None if args.skip_seed_recipe else seed_loaders(root, args.limit_train)
    rows = []
    for seed in args.seeds:
        for name, cls, conditional in (("VAE", "VAE", False), ("CVAE", "ConditionalVAE", True)):
            recipes = [("student", student_iter, STUDENT)]
            if seed_iter is not None:
                recipes.insert(0, ("seed", seed_iter, SEED_RECIPE))
            for recipe, batches, cfg in recipes:
                torch.manual_seed(seed)
                model = NS[cls]().to(device)
                start = time.perf_counter()
                train(model, batches, cfg["epochs"], cfg["lr"], device, conditional, cfg["warmup"])
                seconds = time.perf_counter() - start
                loss, recon, kl = evaluate(model, data.test_x, data.test_y, device, conditional)
                rows.append((name, recipe, seed, seconds, loss, recon, kl))
                print(f"{name:4s} {recipe:7s} seed {seed}: {seconds:6.1f} s "
                      f"({seconds / cfg['epochs']:.2f} s/epoch)  test loss {loss:6.1f}  "
                      f"recon {recon:6.1f}  KL {kl:5.2f}", flush=True)
    print("\nsummary (medians over seeds; test negative ELBO per image in nats)")
    print(f"{'model':5s} {'recipe':8s} {'time s':>7s} {'s/epoch':>8s} {'loss':>7s} {'recon':>7s} "
          f"{'KL':>6s} {'min KL':>7s}")
    verdicts = []
    for name in ("VAE", "CVAE"):
        medians = {}
        for recipe, cfg in (("seed", SEED_RECIPE), ("student", STUDENT)):
            sel = [r for r in rows if r[0] == name and r[1] == recipe]
            if not sel:
                continue
            med = [statistics.median(r[i] for r in sel) for i in (3, 4, 5, 6)]
            medians[recipe] = med
            print(f"{name:5s} {recipe:8s} {med[0]:7.1f} {med[0] / cfg['epochs']:8.2f} {med[1]:7.1f} "
                  f"{med[2]:7.1f} {med[3]:6.2f} {min(r[6] for r in sel):7.2f}")
        if len(medians) == 2:
            print(f"{name:5s} time ratio student/seed = {medians['student'][0] / medians['seed'][0]:.2f}; "
                  f"loss difference student-seed = {medians['student'][1] - medians['seed'][1]:+.1f} nats")
            verdicts.append((name, medians, min(r[6] for r in rows if r[0] == name and r[1] == "student")))
    if verdicts:
        print("\ntargets for the student recipe (met / NOT met)")
        for name, medians, min_kl in verdicts:
            ratio = medians["student"][0] / medians["seed"][0]
            checks = ((f"time ratio {ratio:.2f} <= {TARGET_TIME_RATIO:.2f}", ratio <= TARGET_TIME_RATIO),
                      (f"median loss {medians['student'][1]:.1f} <= seed's {medians['seed'][1]:.1f}",
                       medians["student"][1] <= medians["seed"][1]),
                      (f"min KL {min_kl:.2f} > {MIN_KL:.0f} nat", min_kl > MIN_KL))
            print(f"{name:5s} " + "; ".join(f"{text}: {'met' if ok else 'NOT met'}" for text, ok in checks))
    return 0


NS = reference_namespace()

if __name__ == "__main__":
    raise SystemExit(main())
