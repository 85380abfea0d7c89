#!/usr/bin/env python3
"""Runs `cmdai bench` and llama.cpp's `llama-bench` on the same GGUF file, interleaved, several
rounds, same thread count, and prints each engine's median and the ratios cmdai / llama.cpp.

llama.cpp is not built or shipped by cmdai: pass the path of a llama-bench you built yourself
(see docs/PERFORMANCE.md for the build used here).

usage: bench/compare_llamacpp.py --cmdai build/release/cmdai --llama-bench PATH --model F.gguf
                                 [--threads 2] [--prompt 64] [--decode 32] [--rounds 3]
"""
import argparse
import json
import statistics
import subprocess
import sys


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def cmdai_round(a):
    r = run_json([a.cmdai, "bench", "--model", a.model, "--threads", str(a.threads),
                  "-p", str(a.prompt), "-n", str(a.decode), "-r", "1"])
    return r["prefill"][0]["tokens_per_s"], r["decode"]["tokens_per_s"]


def llama_round(a):
    rows = run_json([a.llama_bench, "-m", a.model, "-t", str(a.threads), "-p", str(a.prompt),
                     "-n", str(a.decode), "-r", "1", "-o", "json"])
    prefill = next(r["avg_ts"] for r in rows if r["n_prompt"] > 0 and r["n_gen"] == 0)
    decode = next(r["avg_ts"] for r in rows if r["n_gen"] > 0 and r["n_prompt"] == 0)
    return prefill, decode


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cmdai", default="build/release/cmdai")
    p.add_argument("--llama-bench", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--prompt", type=int, default=64)
    p.add_argument("--decode", type=int, default=32)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    ours, theirs = [], []
    for i in range(a.rounds):  # interleaved so both see the same machine state
        ours.append(cmdai_round(a))
        theirs.append(llama_round(a))
        print(f"round {i + 1}: cmdai prefill {ours[-1][0]:.1f} decode {ours[-1][1]:.2f} | "
              f"llama.cpp prefill {theirs[-1][0]:.1f} decode {theirs[-1][1]:.2f} tokens/s",
              file=sys.stderr)
    med = lambda rows, k: statistics.median(r[k] for r in rows)
    result = {
        "model": a.model, "threads": a.threads, "rounds": a.rounds,
        "cmdai": {f"prefill_{a.prompt}_tokens_per_s": med(ours, 0), "decode_tokens_per_s": med(ours, 1)},
        "llama_cpp": {f"prefill_{a.prompt}_tokens_per_s": med(theirs, 0), "decode_tokens_per_s": med(theirs, 1)},
    }
    result["ratio_prefill"] = med(ours, 0) / med(theirs, 0)
    result["ratio_decode"] = med(ours, 1) / med(theirs, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
