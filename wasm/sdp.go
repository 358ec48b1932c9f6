//go:build js && wasm

package main

import (
	"strings"
	"syscall/js"

	"github.com/nearcast/nearcast/engine"
	"github.com/nearcast/nearcast/internal/jsonstr"
)

// Session descriptions travel through the tracker as the JSON object
// {"type":"offer"|"answer","sdp":"…"} (RTCSessionDescriptionInit), with
// every ICE candidate inside the SDP (no trickle ICE). This file writes
// that object with internal/jsonstr and reads it with the browser's
// JSON.parse: encoding/json would add about 1 MB to the WASM binary, and a
// JSON scanner of our own about 20 KB.

// maxSDPSize bounds the session descriptions the browser build parses, as
// engine/native does. Real ones, with every candidate, are a few KiB.
const maxSDPSize = 64 << 10

// encodeSDP returns the JSON object text of a session description.
func encodeSDP(typ, sdp string) engine.SDP {
	b := make([]byte, 0, len(sdp)+len(typ)+64)
	b = append(b, `{"type":`...)
	b = jsonstr.Append(b, typ)
	b = append(b, `,"sdp":`...)
	b = jsonstr.Append(b, sdp)
	return append(b, '}')
}

// parseSDP reads the JSON object text of a session description, checks its
// type, its size and that it offers a data channel (an m=application
// section), and returns its SDP text. Other members of the object are
// skipped.
func parseSDP(b engine.SDP, want string) (string, error) {
	if len(b) == 0 || len(b) > maxSDPSize {
		return "", wrap(ErrInvalidSDP, "size out of range")
	}
	typ, sdp, err := scanSDPObject(b)
	if err != nil {
		return "", err
	}
	switch {
	case typ != want:
		return "", wrap(ErrInvalidSDP, "type "+quote(typ)+", want "+quote(want))
	case !strings.HasPrefix(sdp, "v=0"):
		return "", wrap(ErrInvalidSDP, "sdp does not start with v=0")
	case !strings.Contains(sdp, "\nm=application "):
		return "", wrap(ErrInvalidSDP, "no data channel (application) section")
	}
	return sdp, nil
}

func quote(s string) string { return string(jsonstr.Append(nil, s)) }

// scanSDPObject returns the "type" and "sdp" string members of the JSON
// object b, parsed by the browser's own JSON.parse (no JSON parser in the
// binary). Both must be present and be strings; other members are ignored.
func scanSDPObject(b []byte) (typ, sdp string, err error) {
	v, err := call(jsonObject, "parse", string(b))
	if err != nil {
		return "", "", wrapCause(ErrInvalidSDP, "not JSON", err)
	}
	if v.Type() != js.TypeObject || isArray(v) {
		return "", "", wrap(ErrInvalidSDP, "not a JSON object")
	}
	t, d := v.Get("type"), v.Get("sdp")
	if t.Type() != js.TypeString || d.Type() != js.TypeString {
		return "", "", wrap(ErrInvalidSDP, "type and sdp must be strings")
	}
	return t.String(), d.String(), nil
}

var jsonObject = js.Global().Get("JSON")
