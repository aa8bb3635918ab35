#!/usr/bin/env bash
# make demo: import a CometBFT-format address book and show what the dialer
# would do with it. Bounded: a few seconds, everything under one temp dir.
set -euo pipefail
BUILD=${1:-build}
ctl="$BUILD/mukan-dialctl"
work=$(mktemp -d /tmp/mukan-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
book="$work/addrbook.json"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "A sample address book in CometBFT's own format (20,000 addresses offered)"
"$BUILD/mukan-bookgen" --count 20000 --old 25 --seed 7 "$book"
head -c 600 "$book"; echo " ..."

step "mukan-dialctl book check: validate it"
"$ctl" book check "$book"

step "mukan-dialctl book stats: what is in it"
"$ctl" book stats "$book" | head -20

step "What the peer manager would dial with 0 outbound peers (bias 10: mostly old)"
"$ctl" book pick "$book" --outbound 0 --count 5 --seed 1

step "... and with 8 outbound peers (bias 90: mostly new)"
"$ctl" book pick "$book" --outbound 8 --count 5 --seed 1

first=$("$ctl" book pick "$book" --outbound 4 --count 1 --seed 3)
step "One record, and the buckets upstream's formulas give it"
"$ctl" book show "$book" "$first"
"$ctl" book buckets "$book" "$first" --src 0123456789abcdef0123456789abcdef01234567@8.8.8.8:26656

step "Add an address by hand, then remove it (atomic saves)"
"$ctl" book add "$book" 00000000000000000000000000000000000000aa@203.0.113.7:26656 \
	--src 0123456789abcdef0123456789abcdef01234567@8.8.8.8:26656
"$ctl" book remove "$book" 00000000000000000000000000000000000000aa@203.0.113.7:26656

step "A corrupt book is refused with one clear line, and left as it was"
head -c 1000 "$book" > "$work/corrupt.json"
"$ctl" book check "$work/corrupt.json" || echo "(exit $?: refused, file untouched)"

step "Done"
