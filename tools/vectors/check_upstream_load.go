// check_upstream_load.go - does a file mukan-dialer writes load the way
// CometBFT's p2p/pex loadFromFile loads it? Decodes the file with Go's
// encoding/json into the field layout of upstream's knownAddress (same JSON
// tags and Go types: net.IP, uint16, int32, byte, time.Time), then places
// every entry into 256 new / 64 old buckets, failing where upstream would
// panic (bucket type not 1 or 2, index out of range).
//
// Only for checking by hand; Go is not needed to build or test the project.
//
//	GO111MODULE=off go run tools/vectors/check_upstream_load.go FILE
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"time"
)

type netAddress struct {
	ID   string `json:"id"`
	IP   net.IP `json:"ip"`
	Port uint16 `json:"port"`
}

type knownAddress struct {
	Addr        *netAddress `json:"addr"`
	Src         *netAddress `json:"src"`
	Buckets     []int       `json:"buckets"`
	Attempts    int32       `json:"attempts"`
	BucketType  byte        `json:"bucket_type"`
	LastAttempt time.Time   `json:"last_attempt"`
	LastSuccess time.Time   `json:"last_success"`
	LastBanTime time.Time   `json:"last_ban_time"`
}

type addrBookJSON struct {
	Key   string          `json:"key"`
	Addrs []*knownAddress `json:"addrs"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: check_upstream_load FILE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var book addrBookJSON
	if err := json.NewDecoder(f).Decode(&book); err != nil {
		fmt.Fprintln(os.Stderr, "decode (upstream would panic):", err)
		os.Exit(1)
	}
	newB, oldB := make([]map[string]bool, 256), make([]map[string]bool, 64)
	for i := range newB {
		newB[i] = map[string]bool{}
	}
	for i := range oldB {
		oldB[i] = map[string]bool{}
	}
	nNew, nOld := 0, 0
	for i, ka := range book.Addrs {
		key := ka.Addr.ID + "@" + net.JoinHostPort(ka.Addr.IP.String(), fmt.Sprint(ka.Addr.Port))
		for _, b := range ka.Buckets {
			switch {
			case ka.BucketType == 1 && b >= 0 && b < 256:
				newB[b][key] = true
			case ka.BucketType == 2 && b >= 0 && b < 64:
				oldB[b][key] = true
			default:
				fmt.Fprintf(os.Stderr, "addrs[%d]: bucket %d of type %d: upstream panics\n", i, b, ka.BucketType)
				os.Exit(1)
			}
		}
		if ka.BucketType == 1 {
			nNew++
		} else {
			nOld++
		}
	}
	fmt.Printf("%s: loads as upstream: key %q, %d addresses (%d new, %d old)\n",
		os.Args[1], book.Key, len(book.Addrs), nNew, nOld)
}
