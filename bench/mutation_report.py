"""Summarise `mutmut results --all true` (lines `    <module>.<function>__mutmut_<n>: <status>`):
the kill rate per module and the surviving mutants. Used by bench/mutation.sh.

Killed counts mutants the tests failed on, timed out on or crashed on; the rate's denominator is
every mutant that was tested. "no tests" mutants (no selected test ran the function) count as
survivors: nothing would notice them."""

from __future__ import annotations

import random
import re
import sys
from collections import Counter, defaultdict

KILLED = {"killed", "timeout", "segfault", "caught by type check"}
SURVIVED = {"survived", "no tests", "suspicious"}
LINE = re.compile(r"^\s*(?P<name>[\w.]+__mutmut_\d+):\s*(?P<status>.+?)\s*$")


def parse(text: str) -> dict[str, list[tuple[str, str]]]:
    """module -> [(mutant name, status)] (the module is the name's first part after `made_viz.`)."""
    by_module: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            parts = m["name"].split(".")
            module = parts[1] if parts[0] == "made_viz" and len(parts) > 2 else parts[0]
            by_module[module].append((m["name"], m["status"]))
    return by_module


def report(by_module: dict[str, list[tuple[str, str]]], modules: list[str]) -> str:
    rows, survivors = [], []
    for module in modules:
        results = by_module.get(module, [])
        counts = Counter(status for _, status in results)
        killed = sum(counts[s] for s in KILLED)
        tested = killed + sum(counts[s] for s in SURVIVED)
        rate = f"{100 * killed / tested:5.1f}%" if tested else "    -"
        other = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()) if s not in KILLED | SURVIVED)
        rows.append(f"{module:<10} {rate}  killed {killed} of {tested}" + (f" ({other})" if other else ""))
        survivors += [f"  {name}  [{status}]" for name, status in results if status in SURVIVED]
    return "\n".join(["kill rate per module:", *rows, f"surviving mutants ({len(survivors)}):", *survivors])


def sample(paths: list[str], n: int, seed: int) -> list[str]:
    """A seeded random sample of n mutant names per module (all of them when it has fewer): on a busy
    2-core machine a full run (about 1,800 mutants) takes hours, a sample gives the kill rate with a
    known error in minutes. Names as `mutmut run` takes them (made_viz.masks.x_build_masks__mutmut_7)."""
    from mutmut.mutation.file_mutation import mutate_file_contents  # only this mode needs mutmut

    names = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            mutated = mutate_file_contents(path, f.read())
        module = path.removesuffix(".py").replace("/", ".")
        every = sorted(f"{module}.{name}" for name in mutated.mutant_names)
        names += sorted(random.Random(f"{seed}:{module}").sample(every, min(n, len(every))))
    return names


def main(argv: list[str]) -> int:
    if argv[:1] == ["--sample"]:  # --sample N SEED made_viz/masks.py ...: print the names, one a line
        print("\n".join(sample(argv[3:], int(argv[1]), int(argv[2]))))
        return 0
    path, modules = argv[0], argv[1:]
    with open(path, encoding="utf-8") as f:
        by_module = parse(f.read())
    if not any(by_module.values()):
        print(f"mutation_report: no mutant results in {path}", file=sys.stderr)
        return 1
    print(report(by_module, modules or sorted(by_module)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
