#!/usr/bin/env bash
# Instructions per call of each path through the machine, and of a tokio
# `Sleep` reset, counted by callgrind.
#
#   bash benches/callgrind.sh [N1 N2]
#
# Each path runs N1 and then N2 times (default 1000 and 11000) under
# `valgrind --tool=callgrind`, collecting only inside the `measured_*`
# function that makes the path's call (see benches/paths.rs). The figure is
# (instructions(N2) - instructions(N1)) / (N2 - N1), so any one-time cost
# (a first call that warms a lazy structure, say) cancels. Instruction
# counts do not depend on the load of the machine, unlike timings.
set -euo pipefail

n1=${1:-1000}
n2=${2:-11000}
if ! [[ $n1 =~ ^[0-9]+$ && $n2 =~ ^[0-9]+$ ]] || ((n2 <= n1)); then
    echo "usage: $0 [N1 N2] with whole numbers N1 < N2" >&2
    exit 2
fi
if ! command -v valgrind >/dev/null; then
    echo "$0: valgrind is not installed" >&2
    exit 1
fi

cd "$(dirname "$0")/.."
binary=$(cargo bench --bench paths --no-run 2>&1 |
    sed -n 's/.*Executable .*(\(.*\))$/\1/p')
if [[ ! -x $binary ]]; then
    echo "$0: could not find the paths bench binary" >&2
    exit 1
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The function that makes each path's call.
declare -A measured=(
    [inbound]=measured_on_inbound
    [timer_nothing_due]=measured_on_timer
    [timer_sends_probe]=measured_on_timer
    [reply]=measured_on_reply
    [discontinuity]=measured_on_timer
    [tokio_sleep_reset]=measured_sleep_reset
    [store_instant]=measured_store
)

# Instructions collected inside the path's measured function over <count>
# calls.
collected() {
    local path=$1 count=$2
    valgrind --tool=callgrind --callgrind-out-file="$out/$path.$count" \
        --toggle-collect="*${measured[$path]}*" "$binary" "$path" "$count" \
        >/dev/null 2>"$out/$path.$count.log"
    sed -n 's/^summary: *//p' "$out/$path.$count"
}

printf '%-20s %14s %14s %12s\n' path "Ir($n1)" "Ir($n2)" "Ir/call"
for path in inbound timer_nothing_due timer_sends_probe reply discontinuity \
    tokio_sleep_reset store_instant; do
    low=$(collected "$path" "$n1")
    high=$(collected "$path" "$n2")
    per_call=$(awk -v a="$low" -v b="$high" -v n="$n1" -v m="$n2" \
        'BEGIN { printf "%.1f", (b - a) / (m - n) }')
    printf '%-20s %14s %14s %12s\n' "$path" "$low" "$high" "$per_call"
done
