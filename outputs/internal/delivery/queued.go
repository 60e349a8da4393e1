package delivery

import (
	"context"
	"errors"
	"time"

	"github.com/statsherd/statsherd/outputs/internal/queue"
	"github.com/statsherd/statsherd/sdk"
)

// Queued is what every output on the durable queue shares, embedded in
// it: Write and WriteNodes encode the round's nodes into records as they
// are decoded (the output never holds the round) and append them to the
// queue, returning once they are synced; Stats and Close are the Pipe's.
// The output sets Pipe and Encode in Configure; Now stamps the round.
type Queued struct {
	Pipe   *Pipe
	Encode func(r *sdk.RoundNodes, now time.Time) ([]queue.Record, int)
	Now    func() time.Time
}

// Write queues the round on disk; it is sent from there.
func (q *Queued) Write(ctx context.Context, r sdk.Round) error {
	return q.WriteNodes(ctx, sdk.NodesOf(r))
}

// WriteNodes is Write, node by node (sdk.NodeWriter).
func (q *Queued) WriteNodes(ctx context.Context, r *sdk.RoundNodes) error {
	if q.Pipe == nil {
		return errors.New("write before configure")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	recs, n := q.Encode(r, q.Now())
	return q.Pipe.Append(recs, n)
}

// Stats reports the queue and the sender (sdk.StatsReporter); the gatherer
// shows them as statsherd.output.OUTPUT.NAME.
func (q *Queued) Stats() sdk.Stats { return q.Pipe.Stats() }

// Close stops sending; what is not yet sent stays in the queue for the
// next start.
func (q *Queued) Close(ctx context.Context) error {
	if q.Pipe == nil {
		return nil
	}
	return q.Pipe.Close(ctx)
}
