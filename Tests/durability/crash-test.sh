#!/bin/sh
# Crash-recovery soak test: kill -9 the server at random moments while clients write, 50
# times (appendfsync always), then the everysec variant; after every restart each
# acknowledged write must be there; then kills during a load past maxmemory and during an
# overwrite of cold keys (test_crash_tiering.py); and kills while lists, hashes and sets
# change, with demotions and checkpoints in between (test_crash_collections.py). The
# same tests run in the integration suite with 20 rounds.
#
#   Tests/durability/crash-test.sh                      # strata (.build/release/strata-server)
#   STRATA_TARGET=redis Tests/durability/crash-test.sh  # the reference redis-server
#   STRATA_CRASH_ROUNDS=200 Tests/durability/crash-test.sh
#   STRATA_CRASH_SEED=1234 Tests/durability/crash-test.sh   # replay a failing run's seed
#
# Extra arguments go to pytest (e.g. -x, -s to see the per-run summary).
set -eu
cd "$(dirname "$0")/../.."
STRATA_CRASH_ROUNDS="${STRATA_CRASH_ROUNDS:-50}"
STRATA_CRASH_EVERYSEC_ROUNDS="${STRATA_CRASH_EVERYSEC_ROUNDS:-5}"
export STRATA_CRASH_ROUNDS STRATA_CRASH_EVERYSEC_ROUNDS
exec "${PYTHON:-python3}" -m pytest -q -s Tests/integration/test_durability.py \
    Tests/integration/test_crash_tiering.py Tests/integration/test_crash_collections.py \
    -k "test_crash_always or test_crash_everysec or test_kill_during or test_crash_keeps" "$@"
