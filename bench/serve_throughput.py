#!/usr/bin/env python3
"""Aggregate decode throughput of an OpenAI-compatible server under N concurrent clients.

Starts nothing: point it at a running `cmdai serve --parallel 8` or llama.cpp's
`llama-server -np 8` (same GGUF file, same thread count) and it sends `--clients` concurrent
streams of greedy /v1/completions requests, each a different short prompt and `--max-tokens`
tokens, and reports the tokens the server says it generated (usage.completion_tokens) per second
of wall time, for each client count asked for. Run the servers one after the other on a quiet
machine, interleaving rounds (docs/PERFORMANCE.md has the procedure and the numbers).

usage: bench/serve_throughput.py --url http://127.0.0.1:8080 [--clients 1,8] [--max-tokens 64]
                                 [--requests 2] [--model NAME] [--rounds 3]
"""
import argparse
import json
import statistics
import threading
import time
import urllib.request


def complete(url, model, prompt, max_tokens, seed):
    body = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "seed": seed,
            "stream": False, "ignore_eos": True}  # llama-server honours ignore_eos; cmdai ignores it
    if model:
        body["model"] = model
    req = urllib.request.Request(url + "/v1/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read())["usage"]["completion_tokens"]


def run(url, model, clients, requests, max_tokens):
    tokens = [0] * clients
    errors = []

    def client(i):
        try:
            for k in range(requests):
                prompt = f"Request {i}.{k}: list the files in directory number {i * 7 + k}"
                tokens[i] += complete(url, model, prompt, max_tokens, i)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"{len(errors)} requests failed, first: {errors[0]}")
    return sum(tokens) / wall, sum(tokens)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", default="http://127.0.0.1:8080")
    p.add_argument("--model", default="")
    p.add_argument("--clients", default="1,8")
    p.add_argument("--requests", type=int, default=2, help="requests per client")
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    complete(a.url, a.model, "warm up", 4, 0)
    result = {}
    for n in [int(x) for x in a.clients.split(",")]:
        rates = []
        for _ in range(a.rounds):
            rate, total = run(a.url, a.model, n, a.requests, a.max_tokens)
            rates.append(rate)
        result[n] = {"median_tokens_per_s": statistics.median(rates), "rounds": rates,
                     "tokens_last_round": total}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
