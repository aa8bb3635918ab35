// gen_placement.go — test-vector generator for mukan-dialer's address book.
//
// This is NOT part of the C build. It exists only to (re)generate the
// reference vectors in tests/vectors/ that the C unit tests compare against.
// It re-implements, in Go, CometBFT's group-key and bucket-placement rules
// (p2p/netaddress.go, p2p/pex/addrbook.go) using Go's own net package and
// the real github.com/minio/highwayhash package, so that the C code is checked
// against Go's actual IP parsing/printing/masking behaviour.
//
// Regenerate (Debian 12, from the repository root):
//
//	apt-get install -y golang-go golang-github-minio-highwayhash-dev
//	GO111MODULE=off GOPATH=/usr/share/gocode go run tools/vectors/gen_placement.go
//
// An optional argument names the output directory (default tests/vectors).
// Output is deterministic (math/rand with fixed seeds).
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/minio/highwayhash"
)

// ---------------------------------------------------------------------------
// NetAddress and its classification (mirrors p2p/netaddress.go)

type netAddress struct {
	ID   string
	IP   net.IP
	Port uint16
}

func (na netAddress) String() string {
	return na.ID + "@" + net.JoinHostPort(na.IP.String(), strconv.FormatUint(uint64(na.Port), 10))
}

func ipNet(ip string, ones, bits int) net.IPNet {
	p := net.ParseIP(ip)
	if p == nil {
		panic("bad net " + ip)
	}
	return net.IPNet{IP: p, Mask: net.CIDRMask(ones, bits)}
}

var (
	rfc1918_10  = ipNet("10.0.0.0", 8, 32)
	rfc1918_192 = ipNet("192.168.0.0", 16, 32)
	rfc1918_172 = ipNet("172.16.0.0", 12, 32)
	rfc3849     = ipNet("2001:0DB8::", 32, 128)
	rfc3927     = ipNet("169.254.0.0", 16, 32)
	rfc3964     = ipNet("2002::", 16, 128)
	rfc4193     = ipNet("FC00::", 7, 128)
	rfc4380     = ipNet("2001::", 32, 128)
	rfc4843     = ipNet("2001:10::", 28, 128)
	rfc4862     = ipNet("FE80::", 64, 128)
	rfc6052     = ipNet("64:FF9B::", 96, 128)
	rfc6145     = ipNet("::FFFF:0:0:0", 96, 128)
	zero4       = ipNet("0.0.0.0", 8, 32)
	onionCat    = ipNet("fd87:d87e:eb43::", 48, 128)
	heNet       = ipNet("2001:470::", 32, 128)
)

func (na netAddress) local() bool {
	return na.IP.IsLoopback() || zero4.Contains(na.IP)
}

func (na netAddress) valid() bool {
	if na.IP == nil || na.IP.IsUnspecified() || rfc3849.Contains(na.IP) || na.IP.Equal(net.IPv4bcast) {
		return false
	}
	return true
}

func (na netAddress) routable() bool {
	if !na.valid() {
		return false
	}
	ip := na.IP
	return !(rfc1918_10.Contains(ip) || rfc1918_192.Contains(ip) || rfc1918_172.Contains(ip) ||
		rfc3927.Contains(ip) || rfc4862.Contains(ip) || rfc4193.Contains(ip) ||
		rfc4843.Contains(ip) || na.local())
}

// groupKeyFor mirrors addrBook.groupKeyFor.
func groupKeyFor(na netAddress, strict bool) string {
	if strict && na.local() {
		return "local"
	}
	if strict && !na.routable() {
		return "unroutable"
	}
	if ipv4 := na.IP.To4(); ipv4 != nil {
		return ipv4.Mask(net.CIDRMask(16, 32)).String()
	}
	if rfc6145.Contains(na.IP) || rfc6052.Contains(na.IP) {
		ip := na.IP[12:16]
		return ip.Mask(net.CIDRMask(16, 32)).String()
	}
	if rfc3964.Contains(na.IP) {
		ip := na.IP[2:6]
		return ip.Mask(net.CIDRMask(16, 32)).String()
	}
	if rfc4380.Contains(na.IP) {
		ip := net.IP(make([]byte, 4))
		for i, b := range na.IP[12:16] {
			ip[i] = b ^ 0xff
		}
		return ip.Mask(net.CIDRMask(16, 32)).String()
	}
	if onionCat.Contains(na.IP) {
		return fmt.Sprintf("tor:%d", na.IP[6]&((1<<4)-1))
	}
	bits := 32
	if heNet.Contains(na.IP) {
		bits = 36
	}
	return na.IP.Mask(net.CIDRMask(bits, 128)).String()
}

// ---------------------------------------------------------------------------
// Bucket placement (mirrors addrBook.hash / calcNewBucket / calcOldBucket)

type book struct {
	key     string // 24 hex chars
	hashKey []byte // 32 bytes
	strict  bool
}

func (b book) hash(data []byte) uint64 {
	h, err := highwayhash.New64(b.hashKey)
	if err != nil {
		panic(err)
	}
	h.Write(data)
	return binary.BigEndian.Uint64(h.Sum(nil))
}

func be64(x uint64) []byte {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], x)
	return buf[:]
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func (b book) newBucket(addr, src netAddress) int {
	ga := []byte(groupKeyFor(addr, b.strict))
	gs := []byte(groupKeyFor(src, b.strict))
	h1 := b.hash(cat([]byte(b.key), ga, gs)) % 32
	h2 := b.hash(cat([]byte(b.key), gs, be64(h1)))
	return int(h2 % 256)
}

func (b book) oldBucket(addr netAddress) int {
	ga := []byte(groupKeyFor(addr, b.strict))
	h1 := b.hash(cat([]byte(b.key), []byte(addr.String()))) % 4
	return int(b.hash(cat([]byte(b.key), ga, be64(h1))) % 64)
}

// ---------------------------------------------------------------------------
// Inputs

var fixedIPs = []string{
	// IPv4 public
	"1.2.3.4", "8.8.8.8", "5.6.7.8", "93.184.216.34", "203.0.113.9", "198.51.100.77", "223.255.255.254",
	"1.1.1.1", "100.64.0.1", "224.0.0.1", "240.0.0.1",
	// IPv4 local / special / private
	"127.0.0.1", "127.255.255.255", "0.1.2.3", "0.0.0.0", "0.255.255.255", "255.255.255.255",
	"10.1.2.3", "10.255.255.255", "11.0.0.1", "172.16.5.4", "172.31.255.1", "172.15.255.255", "172.32.0.1",
	"192.168.1.1", "192.169.0.1", "169.254.3.4", "169.255.0.1",
	// IPv4-mapped IPv6 (Go treats these as IPv4)
	"::ffff:1.2.3.4", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:0.0.0.0", "::ffff:255.255.255.255",
	"::ffff:7f00:1", "::FFFF:C0A8:0101", "0:0:0:0:0:ffff:0808:0808",
	// RFC 6145 / RFC 6052
	"::ffff:0:1.2.3.4", "::ffff:0:0:0", "::ffff:0:a00:1", "64:ff9b::1.2.3.4", "64:ff9b::7f00:1", "64:ff9b::",
	"64:ff9b:1::1.2.3.4",
	// RFC 3964 6to4
	"2002:102:304::1", "2002:a00:1::1", "2002::", "2002:ffff:ffff:ffff::1",
	// RFC 4380 Teredo
	"2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::1", "2001:0:0:1::", "2001:0:ffff:ffff:ffff:ffff:ffff:ffff",
	// OnionCat
	"fd87:d87e:eb43:1234::1", "fd87:d87e:eb43::", "fd87:d87e:eb43:ffff:ffff::1", "fd87:d87e:eb44::1",
	// Hurricane Electric /36
	"2001:470:1f0b::1", "2001:470:ab00::1", "2001:470::1", "2001:471::1",
	// other global IPv6
	"2a01:4f8::1", "2a01:4f8:c0c:1234::2", "2A01:04F8:0C0C:1234:0000:0000:0000:0002", "2600::", "2606:4700:4700::1111",
	"3fff:ffff::1", "4000::1", "ff02::1",
	// IPv6 special
	"::1", "::", "0:0:0:0:0:0:0:1", "2001:db8::1", "2001:db8:ffff:ffff::1", "2001:db9::1",
	"fe80::1", "fe80:0:0:1::1", "fe80::ffff:ffff:ffff:ffff", "fec0::1", "fc00::1", "fd00::1", "fbff::1", "fe00::1",
	"2001:10::1", "2001:1f::1", "2001:1f:ffff::1", "2001:20::1", "2001:f::1",
	// text-form oddities
	"::1.2.3.4", "::0.0.0.1", "::127.0.0.1", "::ffff", "::1:0:0:0",
	"1:0:0:1:0:0:0:1", "1:0:0:0:1:0:0:1", "2001:0:0:1::", "0:0:1::", "1::", "1:2:3:4:5:6:7:8",
	"1:0:2:0:3:0:4:0", "0:1:0:0:2:0:0:3", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7::",
}

func randomIPv4(r *rand.Rand) string {
	b := make([]byte, 4)
	r.Read(b)
	switch r.Intn(8) { // bias a few into interesting ranges
	case 0:
		b[0] = 10
	case 1:
		b[0], b[1] = 172, byte(12+r.Intn(24))
	case 2:
		b[0], b[1] = 192, 168
	}
	return net.IP(b).String()
}

func randomIPv6(r *rand.Rand) string {
	var g [8]uint16
	for i := range g {
		g[i] = uint16(r.Intn(0x10000))
		if i > 0 && r.Intn(3) == 0 {
			g[i] = 0
		}
	}
	if r.Intn(3) == 0 { // a run of zero groups
		s := 1 + r.Intn(6)
		n := 2 + r.Intn(7-s)
		for i := s; i < s+n && i < 8; i++ {
			g[i] = 0
		}
	}
	g[0] = uint16(0x2000 + r.Intn(0x1000))
	switch r.Intn(10) {
	case 0:
		g[0], g[1] = 0x2001, 0x0470
	case 1:
		g[0] = 0x2002
	case 2:
		g[0], g[1] = 0x2001, 0
	case 3:
		g[0], g[1] = 0x2001, uint16(r.Intn(0x40))
	}
	b := make([]byte, 16)
	for i, v := range g {
		binary.BigEndian.PutUint16(b[2*i:], v)
	}
	// Vary the input spelling: full, full with leading zeros, or Go's canonical form.
	parts := make([]string, 8)
	switch r.Intn(3) {
	case 0:
		for i, v := range g {
			parts[i] = fmt.Sprintf("%x", v)
		}
		return strings.Join(parts, ":")
	case 1:
		for i, v := range g {
			parts[i] = fmt.Sprintf("%04X", v)
		}
		return strings.Join(parts, ":")
	}
	return net.IP(b).String()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func mustParse(s string) net.IP {
	ip := net.ParseIP(s)
	if ip == nil {
		fmt.Fprintf(os.Stderr, "net.ParseIP(%q) failed\n", s)
		os.Exit(1)
	}
	return ip
}

func randHex(r *rand.Rand, n int) string {
	b := make([]byte, n)
	r.Read(b)
	return hex.EncodeToString(b)
}

func randPort(r *rand.Rand) uint16 {
	switch r.Intn(4) {
	case 0:
		return 26656
	case 1:
		return uint16(1 + r.Intn(1024))
	}
	return uint16(1 + r.Intn(65535))
}

// ---------------------------------------------------------------------------

func sanityCheck() {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	h, err := highwayhash.New64(key)
	if err != nil {
		panic(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != "536ec222de567a90" {
		fmt.Fprintf(os.Stderr, "highwayhash sanity check failed: got %s, want 536ec222de567a90\n", got)
		os.Exit(1)
	}
}

func create(dir, name string) (*os.File, *bufio.Writer) {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return f, bufio.NewWriter(f)
}

func main() {
	sanityCheck()
	outDir := "tests/vectors"
	if len(os.Args) > 1 {
		outDir = os.Args[1]
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	// ---- ip_group.tsv
	r := rand.New(rand.NewSource(20260101))
	ips := append([]string{}, fixedIPs...)
	for i := 0; i < 60; i++ {
		ips = append(ips, randomIPv4(r))
	}
	for i := 0; i < 60; i++ {
		ips = append(ips, randomIPv6(r))
	}
	f, w := create(outDir, "ip_group.tsv")
	fmt.Fprintln(w, "# ip_text_input\tstrict\tgo_ip_string\tlocal\troutable\tgroup   (generated by tools/vectors/gen_placement.go)")
	nIP := 0
	for _, s := range ips {
		na := netAddress{ID: strings.Repeat("a", 40), IP: mustParse(s), Port: 26656}
		for _, strict := range []bool{true, false} {
			fmt.Fprintf(w, "%s\t%d\t%s\t%d\t%d\t%s\n", s, b2i(strict), na.IP.String(),
				b2i(na.local()), b2i(na.routable()), groupKeyFor(na, strict))
			nIP++
		}
	}
	w.Flush()
	f.Close()

	// ---- placement.tsv
	r = rand.New(rand.NewSource(424242))
	// Address pools (the parsed forms; the same IP spelled twice is harmless).
	var all, lp []net.IP
	for _, s := range ips {
		ip := mustParse(s)
		all = append(all, ip)
		na := netAddress{IP: ip}
		if na.local() || !na.routable() {
			lp = append(lp, ip)
		}
	}
	mk := func(pool []net.IP) netAddress {
		return netAddress{ID: randHex(r, 20), IP: pool[r.Intn(len(pool))], Port: randPort(r)}
	}
	f, w = create(outDir, "placement.tsv")
	fmt.Fprintln(w, "# key\thashkey_hex64\taddr_string\tsrc_string\tstrict\tnew_bucket\told_bucket   (generated by tools/vectors/gen_placement.go)")
	nPl := 0
	emit := func(b book, addr, src netAddress) {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%d\n", b.key, hex.EncodeToString(b.hashKey),
			addr.String(), src.String(), b2i(b.strict), b.newBucket(addr, src), b.oldBucket(addr))
		nPl++
	}
	// Fixed line: key f6da13e87e0431f6954491ea, hash key 00..1f.
	hk := make([]byte, 32)
	for i := range hk {
		hk[i] = byte(i)
	}
	emit(book{key: "f6da13e87e0431f6954491ea", hashKey: hk, strict: true},
		netAddress{ID: "0123456789abcdef0123456789abcdef01234567", IP: mustParse("1.2.3.4"), Port: 26656},
		netAddress{ID: "89abcdef0123456789abcdef0123456789abcdef", IP: mustParse("5.6.7.8"), Port: 26656})
	for k := 0; k < 5; k++ {
		b := book{key: randHex(r, 12), hashKey: make([]byte, 32)}
		r.Read(b.hashKey)
		b.strict = true
		for i := 0; i < 50; i++ {
			emit(b, mk(all), mk(all))
		}
		b.strict = false
		for i := 0; i < 10; i++ {
			if i%2 == 0 {
				emit(b, mk(lp), mk(all))
			} else {
				emit(b, mk(all), mk(lp))
			}
		}
	}
	w.Flush()
	f.Close()
	fmt.Printf("wrote %s/ip_group.tsv (%d cases) and %s/placement.tsv (%d cases)\n", outDir, nIP, outDir, nPl)
}
