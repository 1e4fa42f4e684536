"""Draw the accuracy-versus-sparsity curves of several ``chainrule prune`` runs in one figure.

Run: python examples/explain_pruning_curves.py OUT.png RESULTS.json [RESULTS.json ...]
(each RESULTS.json written by ``chainrule prune``; the legend names its criterion and schedule)
"""

from __future__ import annotations

import argparse
import json

from chainrule.explain import figures


def label(res: dict) -> str:
    how = "iterative + fine-tuning" if res["iterative"] else "one-shot"
    what = "OBD (Fisher diagonal)" if res["criterion"] == "obd" else "magnitude"
    return f"{how}, {what}, {res['scope']}"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="the PNG to write")
    parser.add_argument("results", nargs="+", help="results.json files of chainrule prune")
    args = parser.parse_args(argv)
    curves = {}
    for path in args.results:
        with open(path) as f:
            res = json.load(f)
        curves[label(res)] = [(c["sparsity"], c["test_accuracy"]) for c in res["curve"]]
    figures.plot_sparsity_curves(curves, args.out, title="accuracy against sparsity")
    print(f"wrote {args.out}")
    return curves


if __name__ == "__main__":
    main()
