package mpd

import (
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is an xs:duration attribute (ISO 8601: PnYnMnDTnHnMnS), such as
// "PT2S" or "PT1M59.5S". Days count 24 hours; years and months, whose
// length varies, must be zero. It is written in hours, minutes and seconds.
type Duration time.Duration

// ParseDuration parses an xs:duration.
func ParseDuration(s string) (time.Duration, error) {
	in := s
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if !strings.HasPrefix(s, "P") || len(s) < 2 {
		return 0, fmt.Errorf("%w: %q is not an xs:duration", ErrDuration, in)
	}
	s = s[1:]
	var total time.Duration
	add := func(d time.Duration) bool {
		if d < 0 || total > math.MaxInt64-d {
			return false
		}
		total += d
		return true
	}
	inTime, seen, timeSeen := false, false, false
	order := "YMDHMS"
	last := -1
	for len(s) > 0 {
		if s[0] == 'T' {
			if inTime {
				return 0, fmt.Errorf("%w: %q has two T", ErrDuration, in)
			}
			inTime, s = true, s[1:]
			last = 2
			continue
		}
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, fmt.Errorf("%w: %q", ErrDuration, in)
		}
		num, unit := s[:i], s[i]
		s = s[i+1:]
		pos := strings.IndexByte(order, unit)
		if unit == 'M' && inTime {
			pos = 4
		}
		if pos < 0 || pos <= last || (pos >= 3) != inTime {
			return 0, fmt.Errorf("%w: %q: unit %c out of place", ErrDuration, in, unit)
		}
		last = pos
		seen = true
		timeSeen = timeSeen || inTime
		whole, frac, hasFrac := strings.Cut(num, ".")
		if hasFrac && pos != 5 || whole == "" && frac == "" || strings.Contains(frac, ".") {
			return 0, fmt.Errorf("%w: %q: bad number %q", ErrDuration, in, num)
		}
		n := uint64(0)
		if whole != "" {
			var err error
			if n, err = strconv.ParseUint(whole, 10, 64); err != nil {
				return 0, fmt.Errorf("%w: %q: %q out of range", ErrDuration, in, num)
			}
		}
		unitLen := []time.Duration{0, 0, 24 * time.Hour, time.Hour, time.Minute, time.Second}[pos]
		if pos < 2 {
			if n != 0 {
				return 0, fmt.Errorf("%w: %q: years and months have no fixed length", ErrUnsupported, in)
			}
			continue
		}
		if n > uint64(math.MaxInt64/unitLen) || !add(time.Duration(n)*unitLen) {
			return 0, fmt.Errorf("%w: %q out of range", ErrDuration, in)
		}
		if frac != "" {
			if len(frac) > 9 {
				frac = frac[:9] // below a nanosecond
			}
			f, err := strconv.ParseUint(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
			if err != nil || !add(time.Duration(f)) {
				return 0, fmt.Errorf("%w: %q out of range", ErrDuration, in)
			}
		}
	}
	if !seen || inTime && !timeSeen {
		return 0, fmt.Errorf("%w: %q has no components", ErrDuration, in)
	}
	if neg {
		total = -total
	}
	return total, nil
}

// FormatDuration writes d as an xs:duration in hours, minutes and seconds,
// such as "PT1H2M3.5S" or "PT0S".
func FormatDuration(d time.Duration) string {
	var b strings.Builder
	u := uint64(d)
	if d < 0 {
		b.WriteByte('-')
		u = -u
	}
	b.WriteString("PT")
	h, m := u/uint64(time.Hour), u/uint64(time.Minute)%60
	s, ns := u/uint64(time.Second)%60, u%uint64(time.Second)
	if h > 0 {
		b.WriteString(strconv.FormatUint(h, 10) + "H")
	}
	if m > 0 {
		b.WriteString(strconv.FormatUint(m, 10) + "M")
	}
	if s > 0 || ns > 0 || u == 0 {
		b.WriteString(strconv.FormatUint(s, 10))
		if ns > 0 {
			b.WriteString(strings.TrimRight(fmt.Sprintf(".%09d", ns), "0"))
		}
		b.WriteByte('S')
	}
	return b.String()
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// NewDuration returns a pointer to d as a Duration, for optional attributes.
func NewDuration(d time.Duration) *Duration { v := Duration(d); return &v }

func (d Duration) String() string { return FormatDuration(time.Duration(d)) }

// MarshalXMLAttr implements xml.MarshalerAttr.
func (d Duration) MarshalXMLAttr(name xml.Name) (xml.Attr, error) {
	return xml.Attr{Name: name, Value: FormatDuration(time.Duration(d))}, nil
}

// UnmarshalXMLAttr implements xml.UnmarshalerAttr.
func (d *Duration) UnmarshalXMLAttr(a xml.Attr) error {
	v, err := ParseDuration(a.Value)
	if err != nil {
		return fmt.Errorf("@%s: %w", a.Name.Local, err)
	}
	*d = Duration(v)
	return nil
}

// DateTime is an xs:dateTime attribute, such as "2026-01-01T00:00:00Z". A
// time without a zone is taken as UTC (ISO/IEC 23009-1 wants UTC).
type DateTime struct{ time.Time }

// NewDateTime returns a pointer to t as a DateTime, for optional attributes.
func NewDateTime(t time.Time) *DateTime { return &DateTime{t} }

// ParseDateTime parses an xs:dateTime.
func ParseDateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %q is not an xs:dateTime", ErrDuration, s)
}

// MarshalXMLAttr implements xml.MarshalerAttr.
func (t DateTime) MarshalXMLAttr(name xml.Name) (xml.Attr, error) {
	return xml.Attr{Name: name, Value: t.Format(time.RFC3339Nano)}, nil
}

// UnmarshalXMLAttr implements xml.UnmarshalerAttr.
func (t *DateTime) UnmarshalXMLAttr(a xml.Attr) error {
	v, err := ParseDateTime(a.Value)
	if err != nil {
		return fmt.Errorf("@%s: %w", a.Name.Local, err)
	}
	t.Time = v
	return nil
}
