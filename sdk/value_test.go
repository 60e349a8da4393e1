package sdk

import (
	"encoding/json"
	"testing"
)

func TestStatsJSONHasEmptyObjects(t *testing.T) {
	b, err := json.Marshal(Stats{})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"counters":{},"stats":{}}` {
		t.Errorf("empty Stats = %s", b)
	}
}
