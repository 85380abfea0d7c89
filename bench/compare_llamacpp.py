#!/usr/bin/env python3
"""Runs `cmdai bench` and llama.cpp's `llama-bench` on the same GGUF file, interleaved, several
rounds, same thread count, and prints each engine's median and the ratios cmdai / llama.cpp.

llama.cpp is not built or shipped by cmdai: pass the path of a llama-bench you built yourself
(see docs/PERFORMANCE.md for the build used here).

With --avx2 each round also runs cmdai restricted to its AVX2 kernels (CMDAI_CPU_FEATURES), so
an AVX-512 host shows the AVX2-only path in the same run. Each cmdai round also reports its read
probe (the same threads reading every weight byte), and decode's share of it.

usage: bench/compare_llamacpp.py --cmdai build/release/cmdai --llama-bench PATH --model F.gguf
                                 [--threads 2] [--prompt 64] [--decode 32] [--rounds 3] [--avx2]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out)


def cmdai_round(a, features=None):
    env = dict(os.environ)
    if features:
        env["CMDAI_CPU_FEATURES"] = features
    r = run_json([a.cmdai, "bench", "--model", a.model, "--threads", str(a.threads),
                  "-p", str(a.prompt), "-n", str(a.decode), "-r", "1"], env)
    if not features:
        a.last_cmdai = r  # the CPU and kernels reported are those of the full kernel set
    return (r["prefill"][0]["tokens_per_s"], r["decode"]["tokens_per_s"],
            r["read_probe"]["gb_per_s"], r["decode"]["share_of_read_probe"])


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
    p.add_argument("--avx2", action="store_true", help="also time cmdai's AVX2-only kernels")
    a = p.parse_args()
    ours, theirs, avx2 = [], [], []
    for i in range(a.rounds):  # interleaved so both see the same machine state
        ours.append(cmdai_round(a))
        theirs.append(llama_round(a))
        line = (f"round {i + 1}: cmdai prefill {ours[-1][0]:.1f} decode {ours[-1][1]:.2f} "
                f"(read probe {ours[-1][2]:.1f} GB/s, {100 * ours[-1][3]:.0f}%) | "
                f"llama.cpp prefill {theirs[-1][0]:.1f} decode {theirs[-1][1]:.2f}")
        if a.avx2:
            avx2.append(cmdai_round(a, "avx2,fma,f16c"))
            line += f" | cmdai avx2 prefill {avx2[-1][0]:.1f} decode {avx2[-1][1]:.2f}"
        print(line + " tokens/s", file=sys.stderr)
    med = lambda rows, k: statistics.median(r[k] for r in rows)
    result = {
        "model": a.model, "threads": a.threads, "rounds": a.rounds,
        "cpu": a.last_cmdai["cpu"], "kernels": a.last_cmdai["device"]["kernels"],
        "cmdai": {f"prefill_{a.prompt}_tokens_per_s": med(ours, 0), "decode_tokens_per_s": med(ours, 1),
                  "read_probe_gb_per_s": med(ours, 2), "decode_share_of_read_probe": med(ours, 3)},
        "llama_cpp": {f"prefill_{a.prompt}_tokens_per_s": med(theirs, 0), "decode_tokens_per_s": med(theirs, 1)},
    }
    result["ratio_prefill"] = med(ours, 0) / med(theirs, 0)
    result["ratio_decode"] = med(ours, 1) / med(theirs, 1)
    if avx2:
        result["cmdai_avx2"] = {f"prefill_{a.prompt}_tokens_per_s": med(avx2, 0),
                                "decode_tokens_per_s": med(avx2, 1)}
        result["ratio_prefill_avx2"] = med(avx2, 0) / med(theirs, 0)
        result["ratio_decode_avx2"] = med(avx2, 1) / med(theirs, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
