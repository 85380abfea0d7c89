#!/usr/bin/env python3
"""Medians and ratios of bench/cpu_compare_rounds.sh's output: per model and thread count, cmdai
and llama.cpp prefill and decode tokens/s, cmdai's read probe and decode's share of it.

usage: bench/cpu_compare_summary.py results.txt
"""
import json
import statistics
import sys


def main():
    runs = {}
    cpu = kernels = None
    for line in open(sys.argv[1]):
        prog, model, threads, _, payload = line.split(" ", 4)
        try:
            d = json.loads(payload)
        except json.JSONDecodeError:
            print(f"skipped a failed {prog} run ({model}, {threads} threads)", file=sys.stderr)
            continue
        if prog == "cmdai":
            v = (d["prefill"][0]["tokens_per_s"], d["decode"]["tokens_per_s"],
                 d["read_probe"]["gb_per_s"], d["decode"]["share_of_read_probe"])
            cpu, kernels = d["cpu"], d["device"]["kernels"]
        else:
            v = (next(x["avg_ts"] for x in d if x["n_prompt"] > 0 and x["n_gen"] == 0),
                 next(x["avg_ts"] for x in d if x["n_gen"] > 0 and x["n_prompt"] == 0))
        runs.setdefault((model, int(threads)), {}).setdefault(prog, []).append(v)
    print(json.dumps({"cpu": cpu, "kernels": kernels}))
    for (model, threads), r in sorted(runs.items()):
        med = lambda rows, k: statistics.median(x[k] for x in rows)  # noqa: E731
        c, l = r["cmdai"], r["llama"]
        print(f"{model}, {threads} threads ({len(c)} rounds): decode {med(c, 1):.2f} / "
              f"{med(l, 1):.2f} = {med(c, 1) / med(l, 1):.2f}x, prefill {med(c, 0):.1f} / "
              f"{med(l, 0):.1f} = {med(c, 0) / med(l, 0):.2f}x, read probe {med(c, 2):.1f} GB/s, "
              f"decode share {med(c, 3):.2f}")


if __name__ == "__main__":
    main()
