#!/usr/bin/env bash
# A ctest test (tests/CMakeLists.txt: python): runs the Python package's tests (python/tests, pytest) with the
# venv `make python` made (a prerequisite of `make test`), where `pip install .` installed the package.
#
#   scripts/python/pytest.sh build/py-venv [pytest arguments...]
#
# pytest's exit codes: 0 all passed; 5 "no tests were collected" is a failure here (the suite was not found or
# every test was deselected), as are 1 (failures), 2 (interrupted), 3 (internal error) and 4 (usage error).
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: $0 PY_VENV [pytest args...]" >&2; exit 2; }
venv=$1; shift
root=$(cd "$(dirname "$0")/../.." && pwd)
py=$venv/bin/python
[ -x "$py" ] || { echo "FAIL: $py not found: run 'make python' (make test does) first"; exit 1; }
"$py" -c "import rerank._rerank" || { echo "FAIL: the rerank package is not installed in $venv: run 'make python'"; exit 1; }
cd "$root"
"$py" -m pytest -p no:cacheprovider -q "$@" python/tests
status=$?
case $status in
  0) exit 0 ;;
  5) echo "FAIL: pytest collected no tests from $root/python/tests"; exit 1 ;;
  *) echo "FAIL: pytest exited with $status"; exit 1 ;;
esac
