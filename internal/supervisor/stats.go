package supervisor

import "github.com/statsherd/statsherd/sdk"

// AddTo adds the state to st as stats under prefix (for example
// "statsherd.producer.load_monitor"): PREFIX.up (1 or 0), PREFIX.call_seconds
// (the last call), PREFIX.backoff_seconds (the wait before the restart after
// the last failure, 0 while up), and the counters PREFIX.restarts, PREFIX.calls and
// PREFIX.failures.
func (s State) AddTo(st sdk.Stats, prefix string) {
	up := int64(0)
	if s.Up {
		up = 1
	}
	st.Stats[prefix+".up"] = sdk.Int(up)
	st.Stats[prefix+".call_seconds"] = sdk.Float(s.CallDuration.Seconds())
	backoff := s.Backoff
	if s.Up {
		backoff = 0
	}
	st.Stats[prefix+".backoff_seconds"] = sdk.Float(backoff.Seconds())
	st.Counters[prefix+".restarts"] = s.Restarts
	st.Counters[prefix+".calls"] = s.Calls
	st.Counters[prefix+".failures"] = s.Failures
}
