#!/usr/bin/env bash
# Start a Descent coordinator here and workers over ssh on the hosts of a hostfile.
# usage: cluster.sh HOSTFILE CONFIG [extra coordinator flags...]
# env:   COORDINATOR_ADDRESS (required: this host's address as the workers see it),
#        PORT (5555), DESCENT (descent), DATA (data directory on every host; default: each
#        host's $DESCENT_DATA or ./data/mnist),
#        CURVE_DIR (keys from 'descent keys generate DIR --workers N', at this path on every host:
#        coordinator.key and the *.pub here, coordinator.pub and worker-K.key on the host of
#        worker K, numbered in hostfile order), or INSECURE=1 for plaintext sockets
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
security=()
if [ -n "${CURVE_DIR:-}" ]; then security=(--curve-dir "$CURVE_DIR")
elif [ "${INSECURE:-0}" = 1 ]; then security=(--insecure)
else echo "set CURVE_DIR to a key directory (descent keys generate DIR --workers N), or INSECURE=1 for plaintext" >&2; exit 2
fi

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

"$descent" coordinator --config "$config" "${data_flag[@]}" "${security[@]}" --bind "tcp://0.0.0.0:$port" --workers "$total" "$@" \
    > >(sed -u 's/^/[coordinator] /') 2>&1 &
pids+=($!); coordinator=$!
worker=0
for i in "${!hosts[@]}"; do
    for ((slot = 0; slot < slots[i]; slot++)); do
        key=(); [ -n "${CURVE_DIR:-}" ] && key=(--curve-key "worker-$worker.key")
        # -tt gives the remote process a terminal, so it ends when this ssh does.
        ssh -tt -o BatchMode=yes "${hosts[i]}" "$descent" worker --connect "tcp://$COORDINATOR_ADDRESS:$port" \
            --config "$config" "${data_flag[@]}" "${security[@]}" "${key[@]}" < /dev/null > >(sed -u "s/^/[${hosts[i]}:$slot] /") 2>&1 &
        pids+=($!); worker=$((worker + 1))
    done
done

status=0
wait "$coordinator" || status=$?
sleep 2; stop
for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
exit "$status"
