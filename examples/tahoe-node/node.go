package main

import (
	"errors"
	"math"
	"math/rand/v2"
)

// reporter is what the node reports through: sdk/report's Client.
type reporter interface {
	Count(name string, delta int64) error
	Gauge(name string, v float64) error
}

// The names the node reports, as Tahoe's storage server, helper, uploader
// and mutable-file code counted them.
var (
	counterNames = []string{
		"storage_server.allocate", "storage_server.get", "storage_server.writev", "storage_server.readv",
		"storage_server.bytes_added", "storage_server.bytes_freed",
		"chk_upload_helper.upload_requests", "chk_upload_helper.upload_already_present",
		"chk_upload_helper.upload_need_upload", "chk_upload_helper.fetched_bytes", "chk_upload_helper.encoded_bytes",
		"uploader.files_uploaded", "uploader.bytes_uploaded",
		"mutable.files_published", "mutable.files_retrieved",
	}
	gaugeNames = []string{"storage_server.allocated", "storage_server.consumed", "chk_upload_helper.active_uploads"}
)

const (
	mib = 1 << 20
	gib = 1 << 30
	// dayPeriod is the period of the simulated load cycle, in simulated
	// seconds: a "day" of busy and quiet hours compressed into one hour,
	// so that an hour of munin graph shows a whole cycle.
	dayPeriod = 3600.0
	// abandonShare is the share of helper uploads whose client goes away
	// before the ciphertext is fetched.
	abandonShare = 0.02
)

// bucket is an immutable share being written (a BucketWriter): its space
// counts as allocated until it is closed.
type bucket struct {
	size      int64
	stepsTodo int
}

// upload is one CHK upload the helper is working on: first fetching the
// ciphertext from the client into CHK_incoming, then encoding it and
// pushing shares from CHK_encoding.
type upload struct {
	id              string
	size            int64
	fetched         int64
	encoded         int64
	fetchPerSecond  float64
	encodePerSecond float64
	// abandonAt is how much is fetched when the client goes away; 0 for
	// an upload that completes.
	abandonAt int64
}

// node is the simulated Tahoe node. Its figures follow Tahoe's meaning:
// allocated is the space of shares being written, consumed the space of
// shares stored; bytes_added grows when a share is closed, bytes_freed
// when a lease expires and shares are deleted.
type node struct {
	r       *rand.Rand
	phase   float64 // of the load cycle
	elapsed float64 // simulated seconds

	buckets  []bucket
	consumed int64
	uploads  []*upload

	dirs *helperDirs // nil: no helper files on disk
}

func newNode(r *rand.Rand) *node {
	return &node{
		r:        r,
		phase:    r.Float64() * 2 * math.Pi,
		consumed: 20*gib + r.Int64N(60*gib),
	}
}

// load is the activity factor at the current time: between about 0.3
// (night) and 1.7 (peak), with some noise.
func (n *node) load() float64 {
	f := 1 + 0.6*math.Sin(2*math.Pi*n.elapsed/dayPeriod+n.phase)
	return max(f*(0.85+0.3*n.r.Float64()), 0.05)
}

// poisson draws the number of events of a Poisson process of mean lambda.
func (n *node) poisson(lambda float64) int64 {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 { // normal approximation
		return max(int64(math.Round(lambda+math.Sqrt(lambda)*n.r.NormFloat64())), 0)
	}
	l, k, p := math.Exp(-lambda), int64(0), 1.0
	for {
		p *= n.r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// fileSize draws a file size: log-normal, median about median bytes.
func (n *node) fileSize(median float64) int64 {
	return max(int64(median*math.Exp(1.2*n.r.NormFloat64())), 1)
}

// announce reports every name once, with nothing done yet.
func (n *node) announce(rep reporter) error {
	var errs []error
	for _, c := range counterNames {
		errs = append(errs, rep.Count(c, 0))
	}
	errs = append(errs, n.gauges(rep))
	return errors.Join(errs...)
}

func (n *node) gauges(rep reporter) error {
	var allocated int64
	for _, b := range n.buckets {
		allocated += b.size
	}
	return errors.Join(
		rep.Gauge("storage_server.allocated", float64(allocated)),
		rep.Gauge("storage_server.consumed", float64(n.consumed)),
		rep.Gauge("chk_upload_helper.active_uploads", float64(len(n.uploads))),
	)
}

// step advances the node by dt seconds and reports what happened.
func (n *node) step(dt float64, rep reporter) error {
	n.elapsed += dt
	f := n.load()
	c := map[string]int64{}

	// Storage server: clients allocate buckets for new shares (a share
	// of a 3-of-10 encoded file is a third of its size), read them back,
	// and read and write mutable slots (directories).
	for range n.poisson(1.5 * f * dt) {
		c["storage_server.allocate"]++
		n.buckets = append(n.buckets, bucket{size: n.fileSize(1.5 * mib), stepsTodo: 1 + n.r.IntN(4)})
	}
	c["storage_server.get"] += n.poisson(4 * f * dt)
	c["storage_server.readv"] += n.poisson(9 * f * dt)
	c["storage_server.writev"] += n.poisson(2.5 * f * dt)
	open := n.buckets[:0]
	for _, b := range n.buckets {
		if b.stepsTodo--; b.stepsTodo > 0 {
			open = append(open, b)
			continue
		}
		if n.r.Float64() < 0.03 { // aborted: the space is released unused
			continue
		}
		c["storage_server.bytes_added"] += b.size
		n.consumed += b.size
	}
	n.buckets = open
	// Lease expiry: now and then a batch of shares is deleted.
	for range n.poisson(0.08 * dt) {
		freed := min(n.fileSize(6*mib)*int64(1+n.r.IntN(8)), n.consumed)
		c["storage_server.bytes_freed"] += freed
		n.consumed -= freed
	}

	// Upload helper: a request is either for a file the grid already
	// has, or needs the ciphertext fetched and encoded.
	for range n.poisson(0.6 * f * dt) {
		c["chk_upload_helper.upload_requests"]++
		if n.r.Float64() < 0.3 {
			c["chk_upload_helper.upload_already_present"]++
			continue
		}
		c["chk_upload_helper.upload_need_upload"]++
		u := &upload{
			id:              storageIndex(n.r),
			size:            n.fileSize(3 * mib),
			fetchPerSecond:  (0.5 + n.r.Float64()) * mib,
			encodePerSecond: (2 + 2*n.r.Float64()) * mib,
		}
		if n.r.Float64() < abandonShare {
			u.abandonAt = 1 + n.r.Int64N(u.size)
		}
		n.uploads = append(n.uploads, u)
	}
	active := n.uploads[:0]
	for _, u := range n.uploads {
		if u.fetched < u.size {
			d := min(int64(u.fetchPerSecond*dt), u.size-u.fetched)
			if u.abandonAt > 0 {
				d = min(d, u.abandonAt-u.fetched)
			}
			u.fetched += d
			c["chk_upload_helper.fetched_bytes"] += d
		} else {
			d := min(int64(u.encodePerSecond*dt), u.size-u.encoded)
			u.encoded += d
			c["chk_upload_helper.encoded_bytes"] += d
		}
		done := u.encoded >= u.size
		abandoned := u.abandonAt > 0 && u.fetched >= u.abandonAt
		if n.dirs != nil {
			n.dirs.sync(u, done, abandoned)
		}
		if !done && !abandoned {
			active = append(active, u)
		}
	}
	n.uploads = active

	// This node's own client: immutable uploads and mutable files.
	for range n.poisson(0.4 * f * dt) {
		c["uploader.files_uploaded"]++
		c["uploader.bytes_uploaded"] += n.fileSize(2 * mib)
	}
	c["mutable.files_published"] += n.poisson(0.5 * f * dt)
	c["mutable.files_retrieved"] += n.poisson(1.2 * f * dt)

	var errs []error
	// Every counter goes out every step, idle ones as +0: UDP may lose
	// the first packets (the host not listening yet, or restarted), and a
	// counter the host has never heard of is missing from its graphs.
	for _, name := range counterNames {
		errs = append(errs, rep.Count(name, c[name]))
	}
	errs = append(errs, n.gauges(rep))
	if n.dirs != nil {
		errs = append(errs, n.dirs.err())
	}
	return errors.Join(errs...)
}

// storageIndex is a random name like a Tahoe storage index (base32).
func storageIndex(r *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	b := make([]byte, 26)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}
