#!/usr/bin/env bash
# make demo: the dialer against a local demo network, end to end, in bounded time.
#
#  1. mukan-peerfarm builds a network in its own namespace: live peers, closed
#     ports, black-holed, ICMP-unreachable, slow and flapping addresses;
#  2. mukan-dialerd (BPF on) imports the farm's addrbook.json and keeps 10
#     outbound slots full; the kernel records every outcome in the pinned map;
#  3. we watch the slots fill, look at what the kernel recorded, stop the
#     daemon with SIGTERM and summarise; everything is removed on exit.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
work=$(mktemp -d /tmp/mukan-demo.XXXXXX)
name="demo$$"
pins="/sys/fs/bpf/mukan-demo-$$"
farm_pid="" daemon_pid=""

cleanup() {
	[ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	[ -n "$farm_pid" ] && kill -TERM "$farm_pid" 2>/dev/null && wait "$farm_pid" 2>/dev/null
	"$BUILD/mukan-dialctl" bpf detach --purge --yes --pin-dir "$pins" >/dev/null 2>&1 || true
	rmdir "/sys/fs/cgroup/unified/mukan-demo-$$" "/sys/fs/cgroup/mukan-demo-$$" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ctl() { "$BUILD/mukan-dialctl" "$@"; }

if [ "$(id -u)" != 0 ]; then
	echo "make demo needs root (namespaces, cgroups, BPF): sudo make demo" >&2
	exit 1
fi

step "A demo network: 200 addresses in namespace mukanfarm-$name (10% live)"
"$BUILD/mukan-peerfarm" --out "$work/farm" --name "$name" --total 200 --seed 7 \
	--duration 120s >"$work/farm.log" 2>&1 &
farm_pid=$!
for _ in $(seq 1 100); do [ -f "$work/farm/manifest.json" ] && break; sleep 0.1; done
[ -f "$work/farm/manifest.json" ] || { cat "$work/farm.log"; exit 1; }
sed -n '1,8p' "$work/farm.log"

cgroot=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
cgroup="$cgroot/mukan-demo-$$"
mkdir -p "$cgroup" "$work/home"
cp "$work/farm/addrbook.json" "$work/home/addrbook.json"

step "mukan-dialerd: 10 outbound slots, BPF on, inside the farm's namespace"
nsenter --net="/run/netns/mukanfarm-$name" "$BUILD/mukan-dialerd" --home "$work/home" \
	--no-strict --seeds "$(cat "$work/farm/seeds.txt")" --pin-dir "$pins" --cgroup "$cgroup" \
	--max-outbound 10 --dial-timeout 1000 >"$work/daemon.log" 2>&1 &
daemon_pid=$!

step "Slots filling (mukan-dialctl status every 50 ms; a line when it changes)"
start=$(date +%s.%N)
last=""
for _ in $(seq 1 300); do
	sleep 0.05
	line=$(ctl status --control "$work/home/control.sock" 2>/dev/null | head -1) || continue
	[ "$line" = "$last" ] && continue
	last=$line
	printf '  t=%6.3fs  %s\n' "$(echo "$(date +%s.%N) - $start" | bc)" "$line"
	case "$line" in *"outbound  10 of 10"*) break ;; esac
done

step "mukan-dialctl status"
ctl status --control "$work/home/control.sock" | head -20

step "mukan-dialctl peers"
ctl peers --control "$work/home/control.sock" | head -14

step "What the kernel recorded (mukan-dialctl bpf status: counters of the sock_ops program)"
ctl bpf status --pin-dir "$pins" | sed -n '/counters/,/config/p' | head -4

step "One record the kernel wrote, as bpftool prints it (BTF field names)"
bpftool map dump pinned "$pins/book" | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    v = e["value"]
    if v["in_use"] and v["failures"] > 0:
        keep = ("addr", "bucket_type", "attempts", "failures", "last_error", "dials",
                "last_attempt", "next_dial", "last_dial", "ban_until")
        print(json.dumps({"key": e["key"], "value": {k: v[k] for k in keep}}, indent=1))
        break
' || true

step "Stop with SIGTERM: dials cancelled, book saved"
kill -TERM "$daemon_pid"
wait "$daemon_pid" || true
daemon_pid=""
tail -3 "$work/daemon.log"

step "Summary"
ctl book stats "$work/home/addrbook.json" --no-strict | head -1
ctl book show "$work/home/addrbook.json" --no-strict --json 2>/dev/null | python3 -c '
import json, sys, collections
recs = json.load(sys.stdin)
errs = collections.Counter(r.get("last_error_name") or r.get("last_error") or "none" for r in recs)
dialed = sum(1 for r in recs if r.get("dials", 0))
print(f"  {dialed} of {len(recs)} addresses dialed; last errors: " + ", ".join(f"{k}: {v}" for k, v in errs.most_common()))
' 2>/dev/null || true
echo "  (the pins, the cgroup and the namespace are removed now)"
