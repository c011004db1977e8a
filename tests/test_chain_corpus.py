"""The corpus of chain lines as residents write them (tests/data/chain_corpus.json): every line read right.

Each line's expected reading was written by hand next to the line; the test prints how many lines of each
category pass, then asserts that all do.
"""
import json
import os
from collections import Counter

import pytest

from menwei.basket.chain_parser import parse_chain, parse_line

CORPUS = json.load(open(os.path.join(os.path.dirname(__file__), "data", "chain_corpus.json"), encoding="utf-8"))


def _registry():
    rooms = set()
    for building, spec in CORPUS["registry"]["rooms"].items():
        if isinstance(spec, dict):
            rooms |= {f"{building}-{f}{u:02d}" for f in range(1, spec["floors"] + 1) for u in range(1, spec["units"] + 1)}
        else:
            rooms |= {f"{building}-{r}" for r in spec}
    return rooms, CORPUS["registry"]["names"]


ROOMS, NAMES = _registry()


def _num(v):
    return str(int(v)) if float(v).is_integer() else str(v)


def item_text(i):
    """An item in the corpus's notation: 'name qty+unit ¥budget (note)'."""
    out = i.item
    if i.quantity is not None:
        out += " " + _num(i.quantity) + (i.unit or "")
    if i.budget is not None:
        out += " ¥" + _num(i.budget)
    return out + (f" ({i.note})" if i.note else "")


def change_text(c):
    """A change in the corpus's notation: '+item' add, '=item' set, '-name' remove, 'old→item' replace."""
    if c.op == "remove":
        return "-" + c.item
    if c.op == "replace":
        return c.item + "→" + item_text(c.new)
    return {"add": "+", "set": "="}[c.op] + item_text(c.new)


def reading(line, expected):
    """The fields of a parsed line that the corpus states (flags and quoted only where it states them)."""
    got = {"kind": line.kind, "number": line.number, "room": line.room, "name": line.name,
           "items": [item_text(i) for i in line.items], "notes": line.notes,
           "changes": [change_text(c) for c in line.changes], "ref": line.ref}
    want = {"kind": "order", "number": None, "room": None, "name": None, "items": [], "notes": [], "changes": [],
            "ref": None}
    for key in ("flags", "quoted", "line_no"):
        if key in expected:
            got[key], want[key] = getattr(line, key), None
    if line.kind in ("header", "chatter") and "notes" not in expected:
        got.pop("notes")
        want.pop("notes")
    want.update({k: v for k, v in expected.items() if k in want})
    return got, want


def _outcomes():
    results = []
    for case in CORPUS["lines"]:
        line = parse_line(case["line"], 1, case.get("building", "20"), ROOMS, NAMES)
        got, want = reading(line, case)
        results.append((case["cat"], case["line"], got, want))
    for chain in CORPUS["chains"]:
        lines = {ln.line_no: ln for ln in parse_chain(chain["text"], chain["building"], ROOMS, NAMES,
                                                      keep_ignored=True)}
        for exp in chain["expect"]:
            line = lines.get(exp["line_no"])
            got, want = reading(line, exp) if line else ({"missing": exp["line_no"]}, exp)
            results.append(("chain", chain["text"].splitlines()[exp["line_no"] - 1], got, want))
    return results


def test_the_corpus_has_every_category_and_enough_lines():
    cats = Counter(c["cat"] for c in CORPUS["lines"])
    assert len(CORPUS["lines"]) >= 150 and sum(len(c["expect"]) for c in CORPUS["chains"]) >= 20
    for cat in ("name", "correction", "cancel", "repeat", "shorthand", "room", "header", "chatter", "quote"):
        assert cats[cat] >= 7, cat


def test_every_corpus_line_is_read_as_written_down(capsys):
    results = _outcomes()
    passed, total = Counter(), Counter()
    failures = []
    for cat, raw, got, want in results:
        total[cat] += 1
        if got == want:
            passed[cat] += 1
        else:
            diff = {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)}
            failures.append(f"[{cat}] {raw}\n    got≠want: {diff}")
    with capsys.disabled():
        print("\nchain corpus, lines read right per category:")
        for cat in total:
            print(f"  {cat:<11} {passed[cat]:>3}/{total[cat]}")
        print(f"  {'all':<11} {sum(passed.values()):>3}/{sum(total.values())}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("word", ["取消", "同上", "和1402一样", "更正", "左右", "冯", "马阿姨"])
def test_no_instruction_word_or_name_is_ever_read_as_an_item(word):
    for case in CORPUS["lines"]:
        line = parse_line(case["line"], 1, "20", ROOMS, NAMES)
        assert word not in [i.item for i in line.items] + [c.item for c in line.changes], case["line"]
