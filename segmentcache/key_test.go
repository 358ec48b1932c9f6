package segmentcache

import (
	"errors"
	"testing"
)

func TestKeyString(t *testing.T) {
	tests := []struct {
		k    Key
		want string
	}{
		{Key{Swarm: "v720", Seq: 42}, "v720#42"},
		{Key{Swarm: "v720", Seq: 42, Start: 0, End: 1024}, "v720#42[0,1024)"},
		{Key{Swarm: "audio/en", Seq: 18446744073709551615, Start: 9000000000, End: 9000000001}, "audio/en#18446744073709551615[9000000000,9000000001)"},
		{Key{}, "#0"},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.k, got, tt.want)
		}
	}
}

func TestPutInvalidKey(t *testing.T) {
	c := newCache(t)
	bad := []Key{
		{Seq: 1},                         // no swarm
		{Swarm: "a", Start: -1, End: 10}, // negative start
		{Swarm: "a", Start: 5},           // start without end
		{Swarm: "a", Start: 10, End: 10}, // empty range
		{Swarm: "a", Start: 10, End: 5},  // reversed range
		{Swarm: "a", Start: 0, End: -1},  // negative end
	}
	for _, k := range bad {
		if err := c.Put(k, seg(1, 0)); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Put(%#v) = %v, want ErrInvalidKey", k, err)
		}
	}
	good := []Key{
		{Swarm: "a", Seq: 1},
		{Swarm: "a", Seq: 1, Start: 0, End: 1},
		{Swarm: "a", Seq: 1, Start: 100, End: 200},
	}
	for _, k := range good {
		mustPut(t, c, k, seg(1, 0))
	}
	if s := c.Stats(); s.Entries != len(good) || s.Puts != uint64(len(good)) {
		t.Fatalf("Stats = %+v, want %d entries and puts (byte ranges are distinct keys)", s, len(good))
	}
}
