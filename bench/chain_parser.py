"""Benchmark: reading 10,000 chain lines, next to a baseline measured in the same run.

The lines are the corpus's (tests/data/chain_corpus.json), cycled with their room numbers varied, read with the
registry's rooms and names as the basket page reads them. The baseline is a plain pass over the same lines:
NFKC folding, one room regex and a str.split — what any reader has to do at the least.
Run: .venv/bin/python bench/chain_parser.py [--lines N] [--repeat R]
"""
import argparse
import os
import re
import sys
import time
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from menwei.basket.chain_parser import parse_chain, parse_line  # noqa: E402
from test_chain_corpus import CORPUS, NAMES, ROOMS  # noqa: E402

ROOM = re.compile(r"(\d{1,2})\s*[-栋#]\s*(\d{3,4})")


def lines(n):
    """n corpus lines, their 20-xxxx rooms rotated over the building so that no two neighbours are equal."""
    base = [c["line"] for c in CORPUS["lines"]] + [ln for c in CORPUS["chains"] for ln in c["text"].splitlines()]
    out = []
    for i in range(n):
        raw = base[i % len(base)]
        floor, unit = 1 + (i // len(base)) % 18, 1 + i % 6
        out.append(raw.replace("20-1702", f"20-{floor}{unit:02d}"))
    return out


def baseline(batch):
    for raw in batch:
        text = unicodedata.normalize("NFKC", raw)
        ROOM.search(text)
        text.split()


def parse_all(batch):
    for i, raw in enumerate(batch):
        parse_line(raw, i, "20", ROOMS, NAMES)


def best_of(fn, batch, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(batch)
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    batch = lines(args.lines)
    base = best_of(baseline, batch, args.repeat)
    parsed = best_of(parse_all, batch, args.repeat)
    t = time.perf_counter()
    parse_chain("\n".join(batch), "20", ROOMS, NAMES, keep_ignored=True)
    chain = time.perf_counter() - t
    print(f"chain parser: {args.lines} lines in {parsed:.3f} s ({parsed / args.lines * 1e6:.0f} µs a line, "
          f"best of {args.repeat}); as one pasted chain {chain:.3f} s")
    print(f"baseline (NFKC + room regex + split): {base:.3f} s — the parser costs {parsed / base:.0f}× the baseline")
    print(f"target < 1 s for 10,000 lines: {'met' if parsed * 10_000 / args.lines < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
