package delivery

import (
	"github.com/statsherd/statsherd/sdk"
)

// StatInfo documents the stats every output with a Pipe reports of
// itself (statsherd.output.NAME.STAT at the gatherer).
var StatInfo = []sdk.StatInfo{
	{Name: "queue_samples", Kind: sdk.Stat, Unit: "samples", Description: "samples waiting, as the last round arrived"},
	{Name: "queue_requests", Kind: sdk.Stat, Unit: "requests", Description: "requests waiting, as the last round arrived"},
	{Name: "queue_bytes", Kind: sdk.Stat, Unit: "bytes", Description: "size of the queue on disk, as the last round arrived"},
	{Name: "queue_segments", Kind: sdk.Stat, Unit: "files", Description: "segment files of the queue"},
	{Name: "queue_oldest_seconds", Kind: sdk.Stat, Unit: "seconds", Description: "age of the oldest round waiting"},
	{Name: "queued_samples", Kind: sdk.Counter, Unit: "samples", Description: "samples queued"},
	{Name: "sent_samples", Kind: sdk.Counter, Unit: "samples", Description: "samples the receiver accepted"},
	{Name: "sent_requests", Kind: sdk.Counter, Unit: "requests", Description: "requests the receiver accepted"},
	{Name: "sent_bytes", Kind: sdk.Counter, Unit: "bytes", Description: "bytes the receiver accepted, as on the wire"},
	{Name: "retries", Kind: sdk.Counter, Unit: "requests", Description: "requests sent again after a failure (5xx, 429, network error)"},
	{Name: "rejected_samples", Kind: sdk.Counter, Unit: "samples", Description: "samples the receiver refused for good (4xx), dropped"},
	{Name: "rejected_requests", Kind: sdk.Counter, Unit: "requests", Description: "requests the receiver refused for good (4xx)"},
	{Name: "dropped_samples", Kind: sdk.Counter, Unit: "samples", Description: "samples dropped at the queue's size or age bound, or for a full disk"},
	{Name: "dropped_records", Kind: sdk.Counter, Unit: "requests", Description: "requests dropped at the queue's bounds, for a full disk, or found damaged on disk"},
	{Name: "queue_disk_full", Kind: sdk.Counter, Unit: "rounds", Description: "rounds whose append met a full disk (delivered data is reclaimed first, then the oldest dropped)"},
}

// Stats reports the queue and the sender, for the output's
// sdk.StatsReporter. The gatherer asks right after each Write, so the
// queue_* stats are the backlog as the round arrived, before it was
// added: what the receiver had not accepted a round later (0 while it
// keeps up). The counters are live.
func (p *Pipe) Stats() sdk.Stats {
	st := sdk.NewStats()
	if p == nil {
		return st
	}
	now := p.q.Stats()
	p.mu.Lock()
	appended, qs := p.appended, p.backlog
	p.mu.Unlock()
	st.Stats["queue_samples"] = sdk.Int(qs.Samples)
	st.Stats["queue_requests"] = sdk.Int(qs.Records)
	st.Stats["queue_bytes"] = sdk.Int(qs.Bytes)
	st.Stats["queue_segments"] = sdk.Int(int64(qs.Segments))
	age := 0.0
	if !qs.Oldest.IsZero() {
		age = max(p.now().Sub(qs.Oldest).Seconds(), 0)
	}
	st.Stats["queue_oldest_seconds"] = sdk.Float(age)
	c := &p.send.c
	st.Counters["queued_samples"] = appended
	st.Counters["sent_samples"] = c.sentSamples.Load()
	st.Counters["sent_requests"] = c.sentRequests.Load()
	st.Counters["sent_bytes"] = c.sentBytes.Load()
	st.Counters["retries"] = c.retries.Load()
	st.Counters["rejected_samples"] = c.rejectedSamples.Load()
	st.Counters["rejected_requests"] = c.rejectedReqs.Load()
	st.Counters["dropped_samples"] = now.DroppedSamples + c.expiredSamples.Load()
	st.Counters["dropped_records"] = now.DroppedRecords
	st.Counters["queue_disk_full"] = now.DiskFull
	return st
}
