"""Run given test files against given mutants of a finished bench/mutation.sh run, in one process.

    cd $MUTATION_DIR/mutants && python /path/to/bench/mutation_recheck.py NAMES_FILE TEST_FILE...

For each mutant name in NAMES_FILE (one a line, e.g. the survivors of a run) the test files run with
mutmut's MUTANT_UNDER_TEST set to it, so mutmut's trampolines call that mutant instead of the
original function. Prints `<name>: killed` (a test failed) or `<name>: survived`. Used to check that
new tests kill the survivors without a second full mutmut run: adding tests cannot revive a mutant
the old tests killed, so the "after" kill rate is the old kills plus these. One process, pytest
called once per mutant: imports (torch) are paid once, not once per mutant.
"""

from __future__ import annotations

import os
import sys

import pytest


def main(argv: list[str]) -> int:
    names_file, tests = argv[0], argv[1:]
    with open(names_file, encoding="utf-8") as f:
        names = [line.strip() for line in f if line.strip()]
    for name in names:
        os.environ["MUTANT_UNDER_TEST"] = name
        code = pytest.main(["-x", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", "--no-header", *tests])
        print(f"{name}: {'survived' if code == 0 else 'killed'} (pytest exit {int(code)})", file=sys.stderr)
    os.environ.pop("MUTANT_UNDER_TEST", None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
