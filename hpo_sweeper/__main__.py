"""Command line: ``python -m hpo_sweeper report SWEEP_DIR``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hpo_sweeper", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="print the best trials and write convergence.png and params.png")
    rep.add_argument("sweep_dir", help="the sweep's directory (hydra.sweep.dir)")
    rep.add_argument("--top", type=int, default=10, help="how many trials to list (default 10)")
    rep.add_argument("--no-plots", action="store_true", help="print only; write no PNG files")
    args = parser.parse_args(argv)

    from hpo_sweeper.plots import format_report, load_sweep, write_plots

    try:
        data = load_sweep(args.sweep_dir)
    except Exception as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(format_report(data, top=args.top))
    if not args.no_plots:
        for path in write_plots(data, args.sweep_dir):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
