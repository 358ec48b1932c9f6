package mpd

import (
	"fmt"
	"strconv"
	"strings"
)

// maxTemplateWidth bounds the %0<width>d of a template identifier.
const maxTemplateWidth = 32

// TemplateValues are the values of a SegmentTemplate's identifiers
// (ISO/IEC 23009-1 section 5.3.9.4.4). An identifier whose Has flag is
// false has no value: a template that uses it fails with ErrTemplate.
type TemplateValues struct {
	RepresentationID string
	Number           uint64
	Time             uint64
	Bandwidth        uint64
	HasNumber        bool
	HasTime          bool
	HasBandwidth     bool
}

// ExpandTemplate substitutes the identifiers of template t: $$ is "$";
// $RepresentationID$ is the Representation@id as it is; $Number$, $Time$
// and $Bandwidth$ are decimal, optionally zero-padded to a width with a
// format tag: $Number%05d$.
func ExpandTemplate(t string, v TemplateValues) (string, error) {
	if !strings.Contains(t, "$") {
		return t, nil
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(t, '$')
		if i < 0 {
			b.WriteString(t)
			return b.String(), nil
		}
		b.WriteString(t[:i])
		t = t[i+1:]
		j := strings.IndexByte(t, '$')
		if j < 0 {
			return "", fmt.Errorf("%w: unterminated $ identifier", ErrTemplate)
		}
		id := t[:j]
		t = t[j+1:]
		if id == "" {
			b.WriteByte('$')
			continue
		}
		name, format, hasFormat := strings.Cut(id, "%")
		width := 0
		if hasFormat {
			// Only %0<width>d: ISO/IEC 23009-1 Table 16.
			w, ok := strings.CutPrefix(format, "0")
			w, ok2 := strings.CutSuffix(w, "d")
			n, err := strconv.Atoi(w)
			if !ok || !ok2 || err != nil || n < 1 || n > maxTemplateWidth || w[0] == '+' || w[0] == '-' {
				return "", fmt.Errorf("%w: format %q of $%s$", ErrTemplate, "%"+format, name)
			}
			width = n
		}
		var val uint64
		switch name {
		case "RepresentationID":
			if hasFormat {
				return "", fmt.Errorf("%w: $RepresentationID$ takes no format", ErrTemplate)
			}
			b.WriteString(v.RepresentationID)
			continue
		case "Number":
			if !v.HasNumber {
				return "", fmt.Errorf("%w: $Number$ has no value here", ErrTemplate)
			}
			val = v.Number
		case "Time":
			if !v.HasTime {
				return "", fmt.Errorf("%w: $Time$ has no value here", ErrTemplate)
			}
			val = v.Time
		case "Bandwidth":
			if !v.HasBandwidth {
				return "", fmt.Errorf("%w: $Bandwidth$ has no value here", ErrTemplate)
			}
			val = v.Bandwidth
		case "SubNumber":
			return "", fmt.Errorf("%w: $SubNumber$ (segment sequences)", ErrUnsupported)
		default:
			return "", fmt.Errorf("%w: unknown identifier $%s$", ErrTemplate, name)
		}
		s := strconv.FormatUint(val, 10)
		for n := len(s); n < width; n++ {
			b.WriteByte('0')
		}
		b.WriteString(s)
	}
}
