#!/usr/bin/env bash
# Start a Descent coordinator here and workers over ssh on the hosts of a hostfile.
# usage: cluster.sh HOSTFILE CONFIG [extra coordinator flags...]
# env:   COORDINATOR_ADDRESS (required: this host's address as the workers see it),
#        PORT (5555), DESCENT (descent), DATA (data directory on every host; default: each
#        host's $DESCENT_DATA or ./data/mnist)
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 HOSTFILE CONFIG [extra coordinator flags...]" >&2
    exit 2
fi
hostfile=$1; config=$2; shift 2
: "${COORDINATOR_ADDRESS:?set COORDINATOR_ADDRESS to the address of this host as the workers see it}"
port=${PORT:-5555}
descent=${DESCENT:-descent}
data_flag=()
[ -n "${DATA:-}" ] && data_flag=(--data "$DATA")

hosts=(); slots=()
while read -r host rest; do
    case "$host" in ''|'#'*) continue ;; esac
    n=$(sed -n 's/.*slots=\([0-9]\+\).*/\1/p' <<<"$rest"); n=${n:-1}
    hosts+=("$host"); slots+=("$n")
done < "$hostfile"
total=0; for n in "${slots[@]}"; do total=$((total + n)); done
if [ "$total" -eq 0 ]; then echo "no hosts in $hostfile" >&2; exit 2; fi

pids=()
stop() { kill -TERM "${pids[@]}" 2>/dev/null || true; }
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

"$descent" coordinator --config "$config" "${data_flag[@]}" --bind "tcp://0.0.0.0:$port" --workers "$total" "$@" \
    > >(sed -u 's/^/[coordinator] /') 2>&1 &
pids+=($!); coordinator=$!
for i in "${!hosts[@]}"; do
    for ((slot = 0; slot < slots[i]; slot++)); do
        # -tt gives the remote process a terminal, so it ends when this ssh does.
        ssh -tt -o BatchMode=yes "${hosts[i]}" "$descent" worker --connect "tcp://$COORDINATOR_ADDRESS:$port" \
            --config "$config" "${data_flag[@]}" < /dev/null > >(sed -u "s/^/[${hosts[i]}:$slot] /") 2>&1 &
        pids+=($!)
    done
done

status=0
wait "$coordinator" || status=$?
sleep 2; stop
for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
exit "$status"
