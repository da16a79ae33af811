"""`nsad matmul`: batched directional derivatives vs matrix products (see experiments/matmul_bench.py)."""

from __future__ import annotations

import sys

from nsad.experiments.commands._common import (add_alias, add_db, add_json, add_list, add_seed, emit_json, positive_float,
                                               positive_int)


SUMMARY = "time batched directional derivatives against the same matrix products"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    from nsad.experiments.matmul_bench import DEFAULT_DTYPES, DEFAULT_PS, DEFAULT_WIDTHS, MATMUL_RUNS

    p = sub.add_parser(
        "matmul", help=SUMMARY,
        description="For each width and number of directions p: time batched exact directional derivatives "
        "through a dense random ReLU network against the same matrix products alone (interleaved, median), "
        "A@B through 2p directional derivatives against A@B, and torch vmap(jvp) when torch is installed. "
        "Prints the ratios and met/missed against the goals (directional derivatives / the same GEMMs <= 1.05; "
        "A@B via [B, -B] / A@B <= 2.2 in every one of --matmul-runs runs; both at width >= 1024, p >= 256) "
        "with the BLAS kernel threadpoolctl reports, and writes one row per configuration to the results "
        "database (table matmul_runs). OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are left as the environment sets "
        "them and reported; where a host pins an older core type, running this command alone with both unset "
        "(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE nsad matmul ...) lets OpenBLAS pick the CPU's own kernel.")
    w = add_list(p, "--width", item=positive_int, default=list(DEFAULT_WIDTHS), metavar="W",
                 help=f"layer widths, one or more (default {' '.join(map(str, DEFAULT_WIDTHS))})")
    add_alias(p, "--widths", w)
    ps = add_list(p, "--p", item=positive_int, default=list(DEFAULT_PS), metavar="P",
                  help=f"numbers of directions, one or more (default {' '.join(map(str, DEFAULT_PS))})")
    add_alias(p, "--ps", ps)
    dt = add_list(p, "--dtype", default=list(DEFAULT_DTYPES), allowed=("float64", "float32"),
                  help=f"float formats, one or more (default {' '.join(DEFAULT_DTYPES)})")
    add_alias(p, "--dtypes", dt)
    p.add_argument("--depth", type=positive_int, default=4, metavar="D", help="number of matrices (default 4)")
    rp = p.add_argument("--repeat", type=positive_int, default=5, metavar="R",
                        help="rounds per configuration, the median reported (default 5)")
    add_alias(p, "--repeats", rp)
    p.add_argument("--matmul-runs", type=positive_int, default=MATMUL_RUNS, metavar="N",
                   help=f"separate runs of the A@B comparison per configuration (default {MATMUL_RUNS}); "
                   "the goal must hold in every one")
    add_seed(p, help="seed of the random networks and directions")
    p.add_argument("--min-sample", type=positive_float, default=0.05, metavar="S",
                   help="time calls shorter than S seconds in back-to-back batches filling S (default 0.05)")
    p.add_argument("--quick", action="store_true",
                   help="a tiny grid (widths 64 128, p 1 8, 3 rounds, 2 ms samples) for smoke tests")
    p.add_argument("--no-torch", action="store_true", help="skip the torch vmap(jvp) reference")
    add_db(p)
    p.add_argument("--no-db", action="store_true", help="do not write rows")
    p.add_argument("--plot", metavar="PATH", help="write the ratio plot to PATH (.png and .svg)")
    add_json(p, help="one JSON object per configuration on stdout")
    p.set_defaults(func=run)


def _fmt(v, spec=".3f"):
    return "-" if v is None else format(v, spec)


def run(args) -> int:
    from nsad.experiments import store as ad_store
    from nsad.experiments.matmul_bench import (DD_GOAL, GOAL_MIN_P, GOAL_MIN_WIDTH, MATMUL_FLOOR, MATMUL_GOAL,
                                               QUICK_PS, QUICK_WIDTHS, blas_info, plot, run_grid, torch_available)
    from nsad.experiments.progress import Progress

    from nsad import limits as L

    widths, ps, repeats, min_sample = args.width, args.p, args.repeat, args.min_sample
    mm_runs = args.matmul_runs
    if args.quick:
        widths, ps = list(QUICK_WIDTHS), list(QUICK_PS)
        repeats, min_sample, mm_runs = min(repeats, 3), min(min_sample, 0.002), min(mm_runs, 2)
    for w in widths:  # dense w x w layers and w x p directions: sized before anything is drawn
        L.check("max_layer_width", w, f"--width {w}")
        L.check("max_nnz", w * w * args.depth, f"width {w} x depth {args.depth} makes {w * w * args.depth} dense "
                "weights")
        for p in ps:
            L.check("max_nnz", w * p, f"width {w} x p {p} makes {w * p} direction entries")
    blas = blas_info()
    use_torch = not args.no_torch and torch_available()
    run_id = ad_store.new_run_id()
    print(f"BLAS: {blas['summary']}; torch: {'yes' if use_torch else 'no'}; run {run_id}", file=sys.stderr)
    rows = []
    total = len(widths) * len(ps) * len(args.dtype)
    if not args.json:
        print(f"kernel: {blas['summary']}")
        print(f"{'dtype':8} {'width':>6} {'p':>5} {'products':>10} {'dd x=0':>7} {'dd rnd':>7} {'dd goal':>7} "
              f"{'A@B dd':>7} {'worst':>7} {'A@B goal':>8} {'torch':>7}")
    with Progress(total, "matmul", enabled=not args.json) as bar:
        for row in run_grid(widths, ps, args.dtype, depth=args.depth, repeats=repeats, seed=args.seed,
                            use_torch=use_torch, min_sample=min_sample, progress=bar, matmul_runs=mm_runs):
            row.update(run_id=run_id, blas=blas["summary"], kernel=blas.get("architecture"), host=ad_store.host())
            rows.append(row)
            if args.json:
                emit_json(row)
            else:
                print(f"{row['dtype']:8} {row['width']:6d} {row['p']:5d} {row['t_products'] * 1e3:8.2f}ms "
                      f"{_fmt(row['ratio_zero']):>7} {_fmt(row['ratio_random']):>7} {row['goal_dd']:>7} "
                      f"{_fmt(row['ratio_matmul']):>7} {_fmt(row['ratio_matmul_worst']):>7} {row['goal_matmul']:>8} "
                      f"{_fmt(row['ratio_torch']):>7}", flush=True)
    if not args.no_db:
        ad_store.write_rows(args.db, "matmul_runs", rows)
        print(f"wrote {len(rows)} rows to {args.db} (table matmul_runs; --no-db to skip)", file=sys.stderr)
    if args.plot:
        files = plot(rows, args.plot)
        print(f"plot: {', '.join(files)}", file=sys.stderr)
    if not args.json:
        goal_rows = [r for r in rows if r["goal_dd"] != "n/a"]
        if goal_rows:
            dd_met = sum(r["goal_dd"] == "met" for r in goal_rows)
            mm_met = sum(r["goal_matmul"] == "met" for r in goal_rows)
            print(f"goals at w >= {GOAL_MIN_WIDTH}, p >= {GOAL_MIN_P}: dd <= {DD_GOAL} met in {dd_met}/{len(goal_rows)}; "
                  f"A@B dd <= {MATMUL_GOAL} in all {mm_runs} runs met in {mm_met}/{len(goal_rows)}")
        print(f"ratios: dd = directional derivatives / the same GEMMs (goal <= {DD_GOAL}, x = 0 and random x); "
              f"A@B dd = multiply via [B, -B] / A@B, median and worst of {mm_runs} runs (goal <= {MATMUL_GOAL} in "
              f"every run, floor {MATMUL_FLOOR}); goals at w >= {GOAL_MIN_WIDTH}, p >= {GOAL_MIN_P}, else n/a; "
              "torch = vmap(jvp) / dd at random x", file=sys.stderr)
    return 0
