package peerwire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"go/parser"
	"go/token"
	"math"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

var (
	testSwarm = SwarmID{0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 0xbb}
	testPeer  = PeerID{0xcc, 19: 0xdd}
)

// samples returns one or more valid messages of every type, including the
// largest each limit allows.
func samples() []Message {
	seqs := make([]uint64, MaxHaveSeqs)
	for i := range seqs {
		seqs[i] = math.MaxUint64 - uint64(i)
	}
	bits := bytes.Repeat([]byte{0xa5}, MaxBitfieldBytes)
	data := bytes.Repeat([]byte{0x5a}, MaxChunkSize)
	return []Message{
		&Handshake{},
		&Handshake{Capabilities: CapUpload | 1<<31, PeerID: testPeer},
		&Have{Swarm: testSwarm},
		&Have{Swarm: testSwarm, Seqs: []uint64{0, 1, 42, math.MaxUint64}},
		&Have{Swarm: testSwarm, Seqs: seqs},
		&Bitfield{Swarm: testSwarm},
		&Bitfield{Swarm: testSwarm, Base: 100, Bits: []byte{0x80, 0x01}},
		&Bitfield{Swarm: testSwarm, Base: math.MaxUint64 - (8*MaxBitfieldBytes - 1), Bits: bits},
		&Lost{Swarm: testSwarm, Seqs: []uint64{7}},
		&Lost{Swarm: testSwarm, Seqs: seqs},
		&Request{ReqID: 1, Swarm: testSwarm, Seq: 99},
		&Request{ReqID: math.MaxUint32, Swarm: testSwarm, Seq: math.MaxUint64, Start: 100, End: 200},
		&Request{ReqID: 2, Swarm: testSwarm, Seq: 1, Start: MaxSegmentSize - 1, End: MaxSegmentSize},
		&Chunk{ReqID: 3, Offset: 0, Total: 0},
		&Chunk{ReqID: 3, Offset: 10, Total: 20, Data: []byte("0123456789")},
		&Chunk{ReqID: 4, Offset: MaxSegmentSize - MaxChunkSize, Total: MaxSegmentSize, Data: data},
		&Cancel{ReqID: 5},
		&Reject{ReqID: 6, Reason: ReasonBusy},
		&Reject{ReqID: 6, Reason: 200},
		&Ping{Nonce: 0x0102030405060708},
		&Pong{Nonce: math.MaxUint64},
	}
}

func mustEncode(t testing.TB, m Message) []byte {
	t.Helper()
	b, err := Encode(nil, m)
	if err != nil {
		t.Fatalf("Encode(%T): %v", m, err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	seen := map[Type]bool{}
	for _, m := range samples() {
		seen[m.Type()] = true
		prefix := []byte("prefix")
		b, err := Encode(prefix, m)
		if err != nil {
			t.Fatalf("Encode(%T): %v", m, err)
		}
		if !bytes.Equal(b[:len(prefix)], []byte("prefix")) {
			t.Fatalf("Encode(%T) clobbered dst", m)
		}
		b = b[len(prefix):]
		if len(b) > MaxMessageSize {
			t.Errorf("%v: %d bytes > MaxMessageSize", m.Type(), len(b))
		}
		if b[0] != Version || Type(b[1]) != m.Type() {
			t.Errorf("%v: header % x", m.Type(), b[:2])
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(%v): %v", m.Type(), err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("round trip %v:\n got %+v\nwant %+v", m.Type(), got, m)
		}
	}
	for typ := TypeHandshake; typ <= TypePong; typ++ {
		if !seen[typ] {
			t.Errorf("no sample of %v", typ)
		}
	}
}

// TestGolden pins the wire layout byte by byte.
func TestGolden(t *testing.T) {
	sw := strings.Repeat("ab", 20)
	tests := []struct {
		m    Message
		want string
	}{
		{&Handshake{Capabilities: CapUpload, PeerID: PeerID{1, 19: 2}}, "0101" + "00000001" + "01" + strings.Repeat("00", 18) + "02"},
		{&Have{Swarm: SwarmID(bytes.Repeat([]byte{0xab}, 20)), Seqs: []uint64{1, 0x0102030405060708}}, "0102" + "0002" + sw + "0000000000000001" + "0102030405060708"},
		{&Bitfield{Swarm: SwarmID(bytes.Repeat([]byte{0xab}, 20)), Base: 9, Bits: []byte{0xf0}}, "0103" + "0001" + sw + "0000000000000009" + "f0"},
		{&Lost{Swarm: SwarmID(bytes.Repeat([]byte{0xab}, 20))}, "0104" + "0000" + sw},
		{&Request{ReqID: 0x01020304, Swarm: SwarmID(bytes.Repeat([]byte{0xab}, 20)), Seq: 5, Start: 6, End: 7}, "0105" + "01020304" + sw + "0000000000000005" + "0000000000000006" + "0000000000000007"},
		{&Chunk{ReqID: 0x0a0b0c0d, Offset: 1, Total: 4, Data: []byte{0xde, 0xad, 0xbe}}, "0106" + "0003" + "0a0b0c0d" + "00000001" + "00000004" + "deadbe"},
		{&Cancel{ReqID: 0xfffffffe}, "0107" + "fffffffe"},
		{&Reject{ReqID: 1, Reason: ReasonNotFound}, "0108" + "00000001" + "01"},
		{&Ping{Nonce: 1}, "0109" + "0000000000000001"},
		{&Pong{Nonce: 2}, "010a" + "0000000000000002"},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(mustEncode(t, tt.m)); got != tt.want {
			t.Errorf("%v:\n got %s\nwant %s", tt.m.Type(), got, tt.want)
		}
	}
}

func TestEncodedSizes(t *testing.T) {
	tests := []struct {
		m    Message
		want int
	}{
		{&Handshake{}, 26},
		{&Have{Seqs: make([]uint64, 3)}, 24 + 24},
		{&Bitfield{Bits: make([]byte, 5)}, 32 + 5},
		{&Lost{}, 24},
		{&Request{}, 50},
		{&Chunk{Total: 7, Data: make([]byte, 7)}, 16 + 7},
		{&Cancel{}, 6},
		{&Reject{}, 7},
		{&Ping{}, 10},
		{&Pong{}, 10},
	}
	for _, tt := range tests {
		if got := len(mustEncode(t, tt.m)); got != tt.want {
			t.Errorf("%v: %d bytes, want %d", tt.m.Type(), got, tt.want)
		}
	}
	if MaxMessageSize != 16400 {
		t.Errorf("MaxMessageSize = %d", MaxMessageSize)
	}
}

func TestEncodeRejectsLimits(t *testing.T) {
	tests := []struct {
		name string
		m    Message
		want error
	}{
		{"nil", nil, ErrNilMessage},
		{"nil pointer", (*Chunk)(nil), ErrNilMessage},
		{"nil handshake", (*Handshake)(nil), ErrNilMessage},
		{"nil have", (*Have)(nil), ErrNilMessage},
		{"nil bitfield", (*Bitfield)(nil), ErrNilMessage},
		{"nil lost", (*Lost)(nil), ErrNilMessage},
		{"nil request", (*Request)(nil), ErrNilMessage},
		{"nil cancel", (*Cancel)(nil), ErrNilMessage},
		{"nil reject", (*Reject)(nil), ErrNilMessage},
		{"nil ping", (*Ping)(nil), ErrNilMessage},
		{"nil pong", (*Pong)(nil), ErrNilMessage},
		{"have seqs", &Have{Seqs: make([]uint64, MaxHaveSeqs+1)}, ErrTooManySeqs},
		{"lost seqs", &Lost{Seqs: make([]uint64, MaxHaveSeqs+1)}, ErrTooManySeqs},
		{"have seqs uint16 wrap", &Have{Seqs: make([]uint64, 1<<16)}, ErrTooManySeqs},
		{"bitfield bytes", &Bitfield{Bits: make([]byte, MaxBitfieldBytes+1)}, ErrBitfieldTooLarge},
		{"bitfield base overflow", &Bitfield{Base: math.MaxUint64 - 6, Bits: []byte{1}}, ErrBadRange},
		{"chunk data", &Chunk{Total: MaxSegmentSize, Data: make([]byte, MaxChunkSize+1)}, ErrChunkTooLarge},
		{"chunk total", &Chunk{Total: MaxSegmentSize + 1, Data: []byte{1}}, ErrTooLarge},
		{"chunk overflow", &Chunk{Offset: 5, Total: 6, Data: []byte{1, 2}}, ErrOverflow},
		{"chunk offset wrap", &Chunk{Offset: math.MaxUint32, Total: 6, Data: []byte{1}}, ErrOverflow},
		{"chunk empty", &Chunk{Offset: 0, Total: 6}, ErrEmptyChunk},
		{"chunk empty at end", &Chunk{Offset: 6, Total: 6}, ErrEmptyChunk},
		{"request inverted", &Request{Start: 10, End: 5}, ErrBadRange},
		{"request empty range", &Request{Start: 10, End: 10}, ErrBadRange},
		{"request end too far", &Request{Start: 0, End: MaxSegmentSize + 1}, ErrBadRange},
		{"request start too far", &Request{Start: MaxSegmentSize}, ErrBadRange},
	}
	for _, tt := range tests {
		dst := []byte{9, 9}
		got, err := Encode(dst, tt.m)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
		if !bytes.Equal(got, []byte{9, 9}) {
			t.Errorf("%s: dst changed to % x", tt.name, got)
		}
	}
}

func hexMsg(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeRejects(t *testing.T) {
	sw := strings.Repeat("00", 20)
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrTruncated},
		{"version only", "01", ErrTruncated},
		{"version 0", "0001", ErrUnknownVersion},
		{"version 2", "0201" + "00000000" + sw, ErrUnknownVersion},
		{"version 2 short", "02", ErrUnknownVersion},
		{"type 0", "0100", ErrUnknownType},
		{"type 0x0b", "010b", ErrUnknownType},
		{"type 0xff", "01ff00", ErrUnknownType},
		{"handshake short", "0101" + "00000000" + sw[2:], ErrTruncated},
		{"handshake long", "0101" + "00000000" + sw + "00", ErrTrailingBytes},
		{"have no count", "0102", ErrTruncated},
		{"have no swarm", "01020000", ErrTruncated},
		{"have count over limit", "0102" + "0201" + sw, ErrTooManySeqs},
		{"have count 0xffff", "0102" + "ffff" + sw + "0000000000000001", ErrTooManySeqs},
		{"have seqs short", "0102" + "0002" + sw + "0000000000000001", ErrTruncated},
		{"have seqs partial", "0102" + "0001" + sw + "00000000000001", ErrTruncated},
		{"have seqs long", "0102" + "0001" + sw + "0000000000000001" + "00", ErrTrailingBytes},
		{"lost count over limit", "0104" + "0201" + sw, ErrTooManySeqs},
		{"lost seqs short", "0104" + "0001" + sw, ErrTruncated},
		{"bitfield short", "0103" + "0000" + sw + "00", ErrTruncated},
		{"bitfield len over limit", "0103" + "1001" + sw + "0000000000000000", ErrBitfieldTooLarge},
		{"bitfield len 0xffff", "0103" + "ffff" + sw + "0000000000000000" + "ff", ErrBitfieldTooLarge},
		{"bitfield bits short", "0103" + "0002" + sw + "0000000000000000" + "ff", ErrTruncated},
		{"bitfield bits long", "0103" + "0001" + sw + "0000000000000000" + "ffff", ErrTrailingBytes},
		{"bitfield base overflow", "0103" + "0001" + sw + "fffffffffffffffa" + "01", ErrBadRange},
		{"request short", "0105" + "00000001" + sw + "00", ErrTruncated},
		{"request long", "0105" + "00000001" + sw + strings.Repeat("00", 24) + "00", ErrTrailingBytes},
		{"request inverted", "0105" + "00000001" + sw + "0000000000000000" + "0000000000000005" + "0000000000000004", ErrBadRange},
		{"request huge end", "0105" + "00000001" + sw + "0000000000000000" + "0000000000000000" + "ffffffffffffffff", ErrBadRange},
		{"request huge start", "0105" + "00000001" + sw + "0000000000000000" + "ffffffffffffffff" + "0000000000000000", ErrBadRange},
		{"chunk short", "0106" + "0000" + "00000001" + "00000000", ErrTruncated},
		{"chunk len over limit", "0106" + "4001" + "00000001" + "00000000" + "ffffffff", ErrChunkTooLarge},
		{"chunk len 0xffff", "0106" + "ffff" + "00000001" + "00000000" + "00000001" + "00", ErrChunkTooLarge},
		{"chunk data short", "0106" + "0003" + "00000001" + "00000000" + "00000003" + "0102", ErrTruncated},
		{"chunk data long", "0106" + "0001" + "00000001" + "00000000" + "00000003" + "0102", ErrTrailingBytes},
		{"chunk total over limit", "0106" + "0001" + "00000001" + "00000000" + "04000001" + "01", ErrTooLarge},
		{"chunk overflow", "0106" + "0002" + "00000001" + "00000002" + "00000003" + "0102", ErrOverflow},
		{"chunk offset wrap", "0106" + "0001" + "00000001" + "ffffffff" + "00000003" + "01", ErrOverflow},
		{"chunk empty", "0106" + "0000" + "00000001" + "00000000" + "00000003", ErrEmptyChunk},
		{"cancel short", "0107" + "000001", ErrTruncated},
		{"cancel long", "0107" + "0000000100", ErrTrailingBytes},
		{"reject short", "0108" + "00000001", ErrTruncated},
		{"reject long", "0108" + "000000010100", ErrTrailingBytes},
		{"ping short", "0109" + "00", ErrTruncated},
		{"pong long", "010a" + "000000000000000000", ErrTrailingBytes},
	}
	for _, tt := range tests {
		want := tt.want
		m, err := Decode(hexMsg(t, tt.in))
		if !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, want)
		}
		if m != nil {
			t.Errorf("%s: message %#v with error", tt.name, m)
		}
	}
}

// TestDecodeTruncations cuts every small valid sample at every length, and
// appends a byte to it: every cut must fail with ErrTruncated, every
// extension with ErrTrailingBytes.
func TestDecodeTruncations(t *testing.T) {
	for _, m := range samples() {
		b := mustEncode(t, m)
		if len(b) > 200 {
			continue // the large samples only repeat the small ones' cuts
		}
		for n := range len(b) {
			if _, err := Decode(b[:n]); !errors.Is(err, ErrTruncated) {
				t.Errorf("%v cut to %d of %d: err = %v, want ErrTruncated", m.Type(), n, len(b), err)
			}
		}
		if _, err := Decode(append(b, 0)); !errors.Is(err, ErrTrailingBytes) {
			t.Errorf("%v + 1 byte: err = %v, want ErrTrailingBytes", m.Type(), err)
		}
	}
}

func TestDecodeChunkAliasesInput(t *testing.T) {
	buf := mustEncode(t, &Chunk{ReqID: 1, Total: 3, Data: []byte{1, 2, 3}})
	buf = append(buf, 0xee, 0xee) // caller's buffer continues past the message
	m, err := Decode(buf[:len(buf)-2])
	if err != nil {
		t.Fatal(err)
	}
	c := m.(*Chunk)
	buf[len(buf)-3] = 9
	if c.Data[2] != 9 {
		t.Error("Chunk.Data does not alias the input")
	}
	if cap(c.Data) != 3 {
		t.Errorf("cap(Data) = %d; appending to it would overwrite the caller's buffer", cap(c.Data))
	}
}

func TestDecodeCopiesOtherFields(t *testing.T) {
	in := mustEncode(t, &Bitfield{Swarm: testSwarm, Bits: []byte{0xff}})
	m, err := Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 0
	}
	if bf := m.(*Bitfield); bf.Bits[0] != 0xff || bf.Swarm != testSwarm {
		t.Error("decoded Bitfield changed with its input")
	}
}

// TestDecodeAllocationBound checks that Decode allocates no more than a
// small constant plus the input length, for valid and malformed input.
func TestDecodeAllocationBound(t *testing.T) {
	inputs := [][]byte{
		hexMsg(t, "0102ffff"+strings.Repeat("00", 20)),
		hexMsg(t, "01020200"+strings.Repeat("00", 20)),
		hexMsg(t, "0103ffff"+strings.Repeat("00", 28)),
		hexMsg(t, "0106ffff"+strings.Repeat("00", 12)),
	}
	for _, m := range samples() {
		inputs = append(inputs, mustEncode(t, m))
	}
	for _, in := range inputs {
		const runs = 50
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range runs {
			_, _ = Decode(in)
		}
		runtime.ReadMemStats(&after)
		per := (after.TotalAlloc - before.TotalAlloc) / runs
		if limit := uint64(len(in)) + 512; per > limit {
			t.Errorf("Decode(% x...) allocates %d bytes per call, limit %d", in[:min(len(in), 4)], per, limit)
		}
	}
}

func TestErrorsCarryContext(t *testing.T) {
	_, err := Decode(hexMsg(t, "0102ffff"+strings.Repeat("00", 20)))
	if err == nil || !strings.Contains(err.Error(), "Have") || !strings.Contains(err.Error(), "65535") {
		t.Errorf("error lacks context: %v", err)
	}
	if !strings.HasPrefix(err.Error(), ErrTooManySeqs.Error()) {
		t.Errorf("error does not start with the sentinel text: %v", err)
	}
}

func TestStrings(t *testing.T) {
	if TypeChunk.String() != "Chunk" || Type(0).String() != "Type(0)" || Type(200).String() != "Type(200)" {
		t.Error("Type.String")
	}
	if ReasonRateLimited.String() != "RateLimited" || Reason(99).String() != "Reason(99)" {
		t.Error("Reason.String")
	}
	for typ := TypeHandshake; typ <= TypePong; typ++ {
		if strings.HasPrefix(typ.String(), "Type(") {
			t.Errorf("%d has no name", typ)
		}
	}
}

func TestCapabilities(t *testing.T) {
	c := CapUpload | 1<<20
	if !c.Has(CapUpload) || c.Has(CapLeechOnly) || c.Has(CapUpload|CapLeechOnly) || !c.Has(0) {
		t.Error("Capabilities.Has")
	}
}

func TestBitfieldHelpers(t *testing.T) {
	seqs := []uint64{1007, 1000, 1001, 1000, 1008, 1015}
	bf, err := NewBitfield(testSwarm, seqs)
	if err != nil {
		t.Fatal(err)
	}
	if bf.Base != 1000 || !bytes.Equal(bf.Bits, []byte{0xc1, 0x81}) {
		t.Errorf("NewBitfield = base %d bits % x", bf.Base, bf.Bits)
	}
	want := []uint64{1000, 1001, 1007, 1008, 1015}
	if got := bf.AppendSeqs(nil); !reflect.DeepEqual(got, want) {
		t.Errorf("AppendSeqs = %v, want %v", got, want)
	}
	if bf.Count() != len(want) {
		t.Errorf("Count = %d", bf.Count())
	}
	for s := uint64(990); s < 1030; s++ {
		in := false
		for _, w := range want {
			in = in || w == s
		}
		if bf.Has(s) != in {
			t.Errorf("Has(%d) = %v", s, !in)
		}
	}
	// Round trip through the wire.
	got, err := Decode(mustEncode(t, bf))
	if err != nil || !reflect.DeepEqual(got, bf) {
		t.Errorf("wire round trip: %v, %v", got, err)
	}

	empty, err := NewBitfield(testSwarm, nil)
	if err != nil || len(empty.Bits) != 0 || empty.Count() != 0 || empty.Has(0) || len(empty.AppendSeqs(nil)) != 0 {
		t.Errorf("empty bitfield: %+v, %v", empty, err)
	}

	maxSpan := []uint64{5, 5 + 8*MaxBitfieldBytes - 1}
	bf, err = NewBitfield(testSwarm, maxSpan)
	if err != nil || len(bf.Bits) != MaxBitfieldBytes || !reflect.DeepEqual(bf.AppendSeqs(nil), maxSpan) {
		t.Errorf("widest bitfield: %v", err)
	}
	if _, err := NewBitfield(testSwarm, []uint64{5, 5 + 8*MaxBitfieldBytes}); !errors.Is(err, ErrBitfieldTooLarge) {
		t.Errorf("too wide: err = %v", err)
	}
	top, err := NewBitfield(testSwarm, []uint64{math.MaxUint64, math.MaxUint64 - 3})
	if err != nil || !reflect.DeepEqual(top.AppendSeqs(nil), []uint64{math.MaxUint64 - 3, math.MaxUint64}) {
		t.Errorf("bitfield at the top of the range: %+v, %v", top, err)
	}
	if _, err := Encode(nil, top); err != nil {
		t.Errorf("encode top bitfield: %v", err)
	}

	// An invalid bitfield (bits past 2^64-1) expands only up to 2^64-1.
	bad := &Bitfield{Base: math.MaxUint64 - 1, Bits: []byte{0xff}}
	if got := bad.AppendSeqs(nil); !reflect.DeepEqual(got, []uint64{math.MaxUint64 - 1, math.MaxUint64}) {
		t.Errorf("AppendSeqs past the top = %v", got)
	}
	var nilBF *Bitfield
	if nilBF.Has(1) || nilBF.Count() != 0 || nilBF.AppendSeqs(nil) != nil {
		t.Error("nil Bitfield helpers")
	}
}

// TestImports keeps the package small for WebAssembly: standard library
// only, and none of the packages that pull in fmt or reflection-heavy code.
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"encoding/binary": true, "errors": true, "io": true,
		"math": true, "math/bits": true, "slices": true, "strconv": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !allowed[path] {
				t.Errorf("%s imports %q; peerwire is stdlib-only and avoids fmt, log and encoding/json", name, path)
			}
		}
	}
}
