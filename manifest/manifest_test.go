package manifest

import (
	"errors"
	"testing"

	"github.com/nearcast/nearcast/engine"
)

func TestIdentityHelpers(t *testing.T) {
	for in, want := range map[string]string{
		"https://cdn.example/a/m.mpd?token=1#t=5": "https://cdn.example/a/m.mpd",
		"https://cdn.example/a/m.mpd":             "https://cdn.example/a/m.mpd",
		"/relative/x.m3u8?x":                      "/relative/x.m3u8",
	} {
		if got := ManifestKey(in); got != want {
			t.Errorf("ManifestKey(%q) = %q, want %q", in, got, want)
		}
	}
	if got := SwarmFor("HTTPS://CDN.example/a/m.mpd?token=1", "0/1"); got != engine.SwarmIDFor("https://cdn.example/a/m.mpd", "0/1") ||
		got != "https://cdn.example/a/m.mpd#0/1" {
		t.Errorf("SwarmFor = %q", got)
	}
	if InitRendition("") != "#init" || InitRendition("a/v") != "a/v#init" {
		t.Errorf("InitRendition")
	}
	s := Segment{Swarm: "s", Seq: 7, URL: "u", Start: 1, End: 9}
	if r := s.Request(); r.Swarm != "s" || r.Seq != 7 || r.URL != "u" || r.Start != 1 || r.End != 9 {
		t.Errorf("Request %+v", r)
	}
}

func TestInitFor(t *testing.T) {
	var none Rendition
	if none.InitFor(5) != nil {
		t.Error("InitFor without inits")
	}
	r := Rendition{Inits: []Segment{{Seq: 10, URL: "a"}, {Seq: 20, URL: "b"}, {Seq: 30, URL: "c"}}}
	for seq, want := range map[uint64]string{5: "a", 10: "a", 19: "a", 20: "b", 29: "b", 30: "c", 1 << 40: "c"} {
		if got := r.InitFor(seq).URL; got != want {
			t.Errorf("InitFor(%d) = %s, want %s", seq, got, want)
		}
	}
}

func TestLimits(t *testing.T) {
	l, err := NewLimits()
	if err != nil || l.MaxSegments != DefaultMaxSegments || l.MaxTotalSegments != DefaultMaxTotalSegments || l.MaxBytes != DefaultMaxBytes {
		t.Fatalf("defaults %+v %v", l, err)
	}
	for _, o := range []Option{WithMaxSegments(0), WithMaxTotalSegments(-1), WithMaxBytes(0)} {
		if _, err := NewLimits(o); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("bad option: %v", err)
		}
	}
	l, _ = NewLimits(WithMaxSegments(3), WithMaxTotalSegments(5), nil)
	b := NewBudget(l)
	if err := b.Take("a", 3); err != nil {
		t.Fatal(err)
	}
	if err := b.Take("b", 4); !errors.Is(err, ErrTooLarge) {
		t.Errorf("4 over a per-rendition cap of 3: %v", err)
	}
	if err := b.Take("b", 2); err != nil {
		t.Fatal(err)
	}
	if err := b.Take("c", 1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("6 over a total cap of 5: %v", err)
	}
}
