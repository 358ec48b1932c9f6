package segmentcache

import (
	"errors"
	"testing"
)

func TestNewDefaults(t *testing.T) {
	c := newCache(t)
	s := c.Stats()
	if s.MaxBytes != DefaultMaxBytes || s.MaxEntries != DefaultMaxEntries {
		t.Fatalf("defaults: MaxBytes %d, MaxEntries %d; want %d, %d", s.MaxBytes, s.MaxEntries, DefaultMaxBytes, DefaultMaxEntries)
	}
	if DefaultMaxBytes != 64<<20 {
		t.Fatalf("DefaultMaxBytes = %d, want 64 MiB", DefaultMaxBytes)
	}
	if s != (Stats{MaxBytes: DefaultMaxBytes, MaxEntries: DefaultMaxEntries}) {
		t.Fatalf("new cache is not empty: %+v", s)
	}
	mustPut(t, c, key(1), seg(1000, 1))
	if got, ok := c.Get(key(1)); !ok || len(got) != 1000 {
		t.Fatalf("Get after Put: %d bytes, %v", len(got), ok)
	}
}

func TestOptionsApply(t *testing.T) {
	var evicted []Key
	c := newCache(t, WithMaxBytes(10), WithMaxEntries(3), WithOnEvict(func(k Key) { evicted = append(evicted, k) }))
	if s := c.Stats(); s.MaxBytes != 10 || s.MaxEntries != 3 {
		t.Fatalf("Stats = %+v, want MaxBytes 10, MaxEntries 3", s)
	}
	for i := range uint64(4) {
		mustPut(t, c, key(i), seg(1, 0))
	}
	if len(evicted) != 1 || evicted[0] != key(0) {
		t.Fatalf("evicted %v, want [%v] (entry limit 3)", evicted, key(0))
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opt  Option
	}{
		{"zero bytes", WithMaxBytes(0)},
		{"negative bytes", WithMaxBytes(-1)},
		{"zero entries", WithMaxEntries(0)},
		{"negative entries", WithMaxEntries(-5)},
		{"nil callback", WithOnEvict(nil)},
		{"nil option", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(WithMaxBytes(100), tt.opt)
			if !errors.Is(err, ErrInvalidOption) {
				t.Fatalf("New error = %v, want ErrInvalidOption", err)
			}
			if c != nil {
				t.Fatal("New returned a cache with an error")
			}
		})
	}
}

func TestErrorDetail(t *testing.T) {
	_, err := New(WithMaxBytes(-3))
	if got, want := err.Error(), "segmentcache: invalid option: WithMaxBytes(-3): must be positive"; got != want {
		t.Fatalf("error text %q, want %q", got, want)
	}
	c := newCache(t, WithMaxBytes(4))
	err = c.Put(key(7), seg(5, 0))
	if got, want := err.Error(), "segmentcache: segment larger than cache capacity: a#7 is 5 bytes, capacity 4"; got != want {
		t.Fatalf("error text %q, want %q", got, want)
	}
}
