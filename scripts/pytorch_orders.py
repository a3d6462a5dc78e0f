#!/usr/bin/env python3
"""Dump the per-rank compute orders that PyTorch's torch.distributed.pipelining
schedule classes generate, as CSV fixtures for ppsim.

Usage:
    python3 scripts/pytorch_orders.py [--out DIR] [--keep-non-compute] [--lf]

Which `torch` is used:
  * The installed `torch` if there is one (`import torch.distributed.pipelining.schedules`).
  * Otherwise, the directory named by the environment variable PPSIM_TORCH_PATH is put
    at the front of sys.path and the import is retried (point it at a directory that
    contains a `torch` package: a PyTorch source checkout, or a stub package).
No process group, GPU or model is needed: the schedule classes are instantiated
with fake stage objects and only their `pipeline_order` is read.

Output (one file per accepted config):
    DIR/NAME_P{P}_M{M}_V{V}.csv   one row per rank (rank 0 first), one cell per
                                  time step, cells = str(_Action) as PyTorch prints
                                  them ("0F0", "1I3", "1W3", "2B0",
                                  "(0F7;7B3)OVERLAP_F_B"); empty cell = None (idle).
    DIR/INDEX.md                  list of files, torch version/commit, rejected
                                  configs with their exception text.
The CSV is written exactly like PyTorch's `_dump_csv` (csv.writer, default
dialect => "\\r\\n" line endings) unless --lf is given.

By default non-compute actions are dropped from the rows.  In the PyTorch version
this was made for, that only affects ScheduleGPipe / Schedule1F1B, whose
`pipeline_order` is passed through `_add_reduce_grad` and therefore contains a
"{stage}REDUCE_GRAD" cell after the last backward of the stage (and no None cells).
Use --keep-non-compute to keep them.
"""

import argparse
import csv
import io
import os
import sys
import types

def _import_schedules():
    """Real torch first; if that is missing, fall back to $PPSIM_TORCH_PATH."""
    try:
        import torch
        import torch.distributed.pipelining.schedules as sched
        return torch, sched
    except ImportError as first_error:
        path = os.environ.get("PPSIM_TORCH_PATH")
        if not path:
            sys.exit(f"cannot import torch.distributed.pipelining.schedules ({first_error}); "
                     "install torch or set PPSIM_TORCH_PATH to a directory containing a `torch` package")
        for name in [m for m in sys.modules if m == "torch" or m.startswith("torch.")]:
            del sys.modules[name]
        sys.path.insert(0, os.path.abspath(path))
        import torch
        import torch.distributed.pipelining.schedules as sched
        return torch, sched


torch, sched = _import_schedules()


COMPUTE_TYPES = {"F", "I", "W", "B", "OVERLAP_F_B"}

# name -> (class name, placement style, grid)
#   grid: list of (P, V, M)
def _grid():
    g = {}
    g["gpipe"] = ("ScheduleGPipe", "single",
                  [(p, 1, m) for p in (2, 3, 4, 8) for m in (1, 2, 3, 4, 5, 8, 12)])
    g["1f1b"] = ("Schedule1F1B", "single",
                 [(p, 1, m) for p in (2, 3, 4, 8) for m in (1, 2, 3, 4, 5, 8, 12)])
    g["interleaved1f1b"] = ("ScheduleInterleaved1F1B", "loop",
                            [(p, v, m) for p in (2, 4) for v in (2, 3, 4)
                             for m in (2, 4, 5, 6, 8, 10, 12)])
    g["loopedbfs"] = ("ScheduleLoopedBFS", "loop",
                      [(p, v, m) for p in (2, 4) for v in (2, 3) for m in (2, 4, 6, 8)])
    g["interleavedzb"] = ("ScheduleInterleavedZeroBubble", "loop",
                          [(p, v, m) for p in (2, 4) for v in (1, 2, 3)
                           for m in (2, 4, 6, 8, 12)])
    g["zbv"] = ("ScheduleZBVZeroBubble", "v",
                [(p, 2, m) for p in (2, 3, 4, 8) for m in (2, 4, 6, 8, 16)])
    g["dualpipev"] = ("ScheduleDualPipeV", "v",
                      [(p, 2, m) for p in (2, 3, 4, 8) for m in (4, 6, 8, 10, 16, 20)])
    return g


def _stage_indices(style, P, V, rank):
    if style == "single":
        return [rank]
    if style == "loop":  # stage c*P + r lives on rank r
        return [c * P + rank for c in range(V)]
    if style == "v":  # rank r holds stages r and 2P-1-r
        assert V == 2
        return [rank, 2 * P - 1 - rank]
    raise ValueError(style)


def _fake_stage(stage_index, num_stages, P, rank):
    # Attributes read by the schedule constructors; submod=None skips the
    # torch.compile check.
    return types.SimpleNamespace(
        stage_index=stage_index,
        num_stages=num_stages,
        group_size=P,
        group_rank=rank,
        submod=None,
        stage_index_to_group_rank={},
        is_first=stage_index == 0,
        is_last=stage_index == num_stages - 1,
    )


def build(cls_name, style, P, V, M):
    """Instantiate the schedule (as rank 0) and return its pipeline_order."""
    cls = getattr(sched, cls_name)
    num_stages = P * V
    stages = [_fake_stage(s, num_stages, P, 0) for s in _stage_indices(style, P, V, 0)]
    if style == "single":
        obj = cls(stages[0], M)
    else:
        obj = cls(stages, M)
    order = getattr(obj, "pipeline_order", None)
    if order is None:
        raise RuntimeError(f"{cls_name} has no pipeline_order in this torch version")
    return {r: list(order[r]) for r in order}


def _ctype(a):
    ct = a.computation_type
    return getattr(ct, "value", ct)


def rows_for(order, keep_non_compute):
    rows = []
    for rank in order:  # dict order, exactly like _dump_csv
        row = []
        for a in order[rank]:
            if a is None:
                row.append("")
            elif keep_non_compute or _ctype(a) in COMPUTE_TYPES:
                row.append(str(a))
        rows.append(row)
    return rows


def write_csv(path, rows, lf):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n") if lf else csv.writer(f)
        for row in rows:
            w.writerow(row)


def runtime_1f1b_rows(P, M):
    """Derived (NOT pipeline_order): the compute calls Schedule1F1B._step_microbatches
    makes on stage s (= rank s), mirrored from its control flow:
    warmup min(M, P-s) forwards; then loop {B; stop if all F done; F}; then remaining B."""
    rows = []
    for s in range(P):
        row, f, b = [], 0, 0
        for _ in range(min(M, P - s)):
            row.append(f"{s}F{f}")
            f += 1
        while True:
            row.append(f"{s}B{b}")
            b += 1
            if f == M:
                break
            row.append(f"{s}F{f}")
            f += 1
        while b < M:
            row.append(f"{s}B{b}")
            b += 1
        rows.append(row)
    return rows


def _err_text(e):
    msg = str(e)
    first = msg.split("\n\nFull pipeline schedule:")[0]
    return f"{type(e).__name__}: {first}"


def _torch_id():
    ver = getattr(torch, "__version__", "?")
    git = getattr(getattr(torch, "version", None), "git_version", "?")
    return ver, git


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "orders"))
    ap.add_argument("--keep-non-compute", action="store_true")
    ap.add_argument("--lf", action="store_true", help="write \\n instead of \\r\\n")
    ap.add_argument("--no-runtime-1f1b", action="store_true",
                    help="skip the derived 1f1bruntime_* files")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    ver, git = _torch_id()
    written, rejected = [], []
    for name, (cls_name, style, grid) in _grid().items():
        for (P, V, M) in grid:
            fname = f"{name}_P{P}_M{M}_V{V}.csv"
            try:
                order = build(cls_name, style, P, V, M)
            except Exception as e:  # noqa: BLE001 - record PyTorch's rejection
                rejected.append((name, cls_name, P, V, M, _err_text(e)))
                continue
            rows = rows_for(order, args.keep_non_compute)
            write_csv(os.path.join(args.out, fname), rows, args.lf)
            ncells = sum(len(r) for r in rows)
            nidle = sum(1 for r in rows for c in r if c == "")
            written.append((fname, cls_name, P, V, M, max(len(r) for r in rows), ncells - nidle, nidle))

    derived = []
    if not args.no_runtime_1f1b:
        for (P, V, M) in _grid()["1f1b"][2]:
            if M < P:  # Schedule1F1B rejects these
                continue
            fname = f"1f1bruntime_P{P}_M{M}_V1.csv"
            rows = runtime_1f1b_rows(P, M)
            write_csv(os.path.join(args.out, fname), rows, args.lf)
            derived.append((fname, P, M))

    idx = io.StringIO()
    idx.write("# PyTorch pipeline schedule order fixtures\n\n")
    idx.write(f"Generated by dump_orders.py with torch `{ver}`, source commit `{git}` "
              f"(pytorch/pytorch, torch/distributed/pipelining/schedules.py).\n\n")
    if str(ver).startswith("stub"):
        idx.write("Provenance: produced with a stub `torch` package plus a transcription of the "
                  "order-generating code of schedules.py at the commit above (logic unchanged; runtime "
                  "methods omitted). Cross-checked: DualPipeV P=4 M=10 reproduces PyTorch's test artifact "
                  "`test/distributed/pipelining/artifacts/dualpipev_4rank_10mb.csv` exactly, and "
                  "InterleavedZeroBubble P=2 V=2 M=8 reproduces `zb1p_2rank_2stagep_compute.csv` exactly "
                  "(that artifact predates the B->I rename of BACKWARD_INPUT). Re-run with a real torch "
                  "install (no PPSIM_TORCH_PATH) to regenerate from the genuine module.\n\n")
    idx.write("Format: one CSV row per rank (rank 0 first); one cell per schedule time step; "
              "cell text = `str(_Action)` as PyTorch prints it; empty cell = `None` (idle step). "
              + ("Line endings `\\n`. " if args.lf else "Line endings `\\r\\n` (Python csv default, as PyTorch's `_dump_csv`). ")
              + ("Non-compute actions (REDUCE_GRAD) kept.\n\n" if args.keep_non_compute
                 else "Non-compute actions dropped (only affects gpipe/1f1b, whose `pipeline_order` "
                      "carries a `{stage}REDUCE_GRAD` cell after the stage's last backward).\n\n"))
    idx.write("Notes: `1f1b_*` rows for the last rank reproduce an off-by-one in PyTorch's "
              "`Schedule1F1B._get_pipeline_order` (F1..F{M} instead of F0..F{M-1}); its runtime "
              "does not use that IR, see the derived `1f1bruntime_*` files below. GPipe/1F1B rows have no "
              "idle cells at this commit (`_add_reduce_grad` drops them). Idle cells never change the "
              "compute order (SPEC.md §3). DualPipeV cells like `(0F7;7B3)OVERLAP_F_B` are one time step "
              "holding F then B.\n\n")
    idx.write("File name: `NAME_P{ranks}_M{microbatches}_V{stages per rank}.csv`; "
              "number of stages = P*V.\n\n")
    idx.write("## Files\n\n| file | class | P | V | M | max row len | compute cells | idle cells |\n"
              "|---|---|---|---|---|---|---|---|\n")
    for (fname, cls_name, P, V, M, L, nc, ni) in written:
        idx.write(f"| {fname} | {cls_name} | {P} | {V} | {M} | {L} | {nc} | {ni} |\n")
    idx.write(f"\n{len(written)} files.\n\n## Rejected configurations (constructor raised)\n\n")
    idx.write("| name | class | P | V | M | exception |\n|---|---|---|---|---|---|\n")
    for (name, cls_name, P, V, M, err) in rejected:
        err = err.replace("|", "\\|").replace("\n", " ")
        idx.write(f"| {name} | {cls_name} | {P} | {V} | {M} | `{err}` |\n")
    idx.write(f"\n{len(rejected)} rejected.\n")
    if derived:
        idx.write("\n## Derived files (not PyTorch `pipeline_order`)\n\n"
                  "`1f1bruntime_*`: the compute order `Schedule1F1B._step_microbatches` actually executes "
                  "(its runtime ignores `pipeline_order`). Differs from `1f1b_*` only in the last rank's row, "
                  "where PyTorch's `Schedule1F1B._get_pipeline_order` has an off-by-one "
                  "(`F1..F{M}` instead of `F0..F{M-1}`). See SPEC.md.\n\n")
        for (fname, P, M) in derived:
            idx.write(f"- {fname}\n")
    with open(os.path.join(args.out, "INDEX.md"), "w") as f:
        f.write(idx.getvalue())
    print(f"wrote {len(written)} files, {len(rejected)} rejected -> {args.out}")


if __name__ == "__main__":
    main()
