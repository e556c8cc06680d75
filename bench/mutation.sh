#!/usr/bin/env bash
# Mutation testing of the maths modules with mutmut 3 (issue 16). Slow: not part of CI's normal run.
#
#   bench/mutation.sh                 # every module in MODULES
#   bench/mutation.sh masks model     # some of them
#   MUTATION_SAMPLE=60 bench/mutation.sh   # a seeded random sample of 60 mutants per module
#
# A mutant is the code with one small change (a + for a -, a < for a <=, a constant off by one...).
# The unit tests should fail on it ("killed"); one they pass on ("survived") is either equivalent
# (the change cannot alter any result) or a hole in the tests. Prints the kill rate per module and
# every survivor; `cd $MUTATION_DIR && mutmut show <name>` shows a survivor's diff, and
# bench/mutation_recheck.py runs new tests against the survivors (see bench/mutation_results.md for
# the last measured kill rates and the survivors judged equivalent).
#
# For module m the tests are tests/unit/test_<m>.py plus tests/unit/test_mutants_<m>.py and
# tests/unit/test_mutation_kills_<m>.py if present; mutmut runs, for each mutant, only the selected
# tests that call the mutated function (it records which in a first, unmutated run).
# The run happens in a scratch copy ($MUTATION_DIR, default /tmp/made-viz-mutation): the checkout
# gets no mutants/ folder, and mutmut's settings are written here, to the copy's setup.cfg (they do
# not depend on pyproject.toml). Environment: MUTATION_JOBS (default 2), MUTATION_NICE (default 15),
# MUTATION_SAMPLE (mutants per module, default all: about 1,800 in all, hours on a busy 2-core
# machine), MUTATION_SEED (the sample's seed, default 16), MUTATION_TIMEOUT and MUTATION_MULTIPLIER
# (mutmut's timeout_constant and timeout_multiplier, default 5 and 3: a mutant's tests may use
# (estimated time + 5) x 3 x 2 CPU-seconds; mutmut's default multiplier of 15 let each mutant that loops
# forever burn ~450 s. A "timeout" is counted as a kill: on a busy machine check them by hand, see
# bench/mutation_results.md).
set -euo pipefail

MODULES=(masks model sampling train recipe)  # made_viz/<m>.py: the maths and the training recipe

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${MUTATION_DIR:-/tmp/made-viz-mutation}
JOBS=${MUTATION_JOBS:-2}
NICE=${MUTATION_NICE:-15}
SAMPLE=${MUTATION_SAMPLE:-}
SEED=${MUTATION_SEED:-16}
TIMEOUT=${MUTATION_TIMEOUT:-5}
MULTIPLIER=${MUTATION_MULTIPLIER:-3}
selected=("$@")
[ ${#selected[@]} -gt 0 ] || selected=("${MODULES[@]}")

only_mutate=() tests=()
for m in "${selected[@]}"; do
    [ -f "$ROOT/made_viz/$m.py" ] || { echo "mutation.sh: no module made_viz/$m.py" >&2; exit 2; }
    [ -f "$ROOT/tests/unit/test_$m.py" ] || { echo "mutation.sh: no tests/unit/test_$m.py" >&2; exit 2; }
    only_mutate+=("made_viz/$m.py")
    tests+=("tests/unit/test_$m.py")
    for extra in mutants mutation_kills; do
        [ -f "$ROOT/tests/unit/test_${extra}_$m.py" ] && tests+=("tests/unit/test_${extra}_$m.py")
    done
done

# a fresh scratch copy: the package, the test scaffolding and the selected tests
if [ -e "$WORK" ]; then
    [ -f "$WORK/.made-viz-mutation" ] || { echo "mutation.sh: $WORK exists and is not ours; set MUTATION_DIR" >&2; exit 2; }
    rm -rf "$WORK"
fi
mkdir -p "$WORK/tests/unit"
touch "$WORK/.made-viz-mutation"
cp -r "$ROOT/made_viz" "$WORK/"
find "$WORK/made_viz" -name __pycache__ -prune -exec rm -rf {} +
for f in tests/__init__.py tests/conftest.py tests/unit/__init__.py tests/unit/conftest.py "${tests[@]}"; do
    [ -f "$ROOT/$f" ] && cp "$ROOT/$f" "$WORK/$f"
done
export MADE_VIZ_ASSETS="$ROOT/assets"   # the embedded data sets (e.g. bars4 for the trainer's tests)
[ -d "$MADE_VIZ_ASSETS" ] || unset MADE_VIZ_ASSETS

lines() { printf '    %s\n' "$@"; }
{
    echo "[mutmut]"
    echo "source_paths=made_viz"
    echo "only_mutate="
    lines "${only_mutate[@]}"
    echo "pytest_add_cli_args_test_selection="
    lines "${tests[@]}"
    echo "pytest_add_cli_args="
    lines -p no:randomly -p no:cacheprovider -x -q
    echo "process_isolation=forkserver"
    echo "timeout_constant=$TIMEOUT"
    echo "timeout_multiplier=$MULTIPLIER"
    echo
    echo "[tool:pytest]"
    echo "addopts = -ra"
} > "$WORK/setup.cfg"

cd "$WORK"
names=()
if [ -n "$SAMPLE" ]; then
    mapfile -t names < <(python "$ROOT/bench/mutation_report.py" --sample "$SAMPLE" "$SEED" "${only_mutate[@]}")
    printf '%s\n' "${names[@]}" > mutmut-sample.txt
    echo "mutation.sh: a sample of ${#names[@]} mutants (seed $SEED), listed in $WORK/mutmut-sample.txt"
fi
echo "mutation.sh: mutating ${only_mutate[*]} against ${tests[*]} in $WORK ($JOBS jobs, nice $NICE)"
start=$(date +%s)
nice -n "$NICE" mutmut run --max-children "$JOBS" "${names[@]}" > mutmut-run.log 2>&1 || {
    echo "mutation.sh: mutmut run failed; the end of $WORK/mutmut-run.log:" >&2
    tail -n 30 mutmut-run.log >&2
    exit 1
}
echo "mutation.sh: mutmut ran for $(( $(date +%s) - start )) s"
mutmut results --all true > mutmut-results.txt 2>&1
python "$ROOT/bench/mutation_report.py" mutmut-results.txt "${selected[@]}"
