package mpd

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/nearcast/nearcast/manifest"
)

// Parse decodes an MPD document. opts may lower or raise the size limit
// (manifest.WithMaxBytes); a larger document is manifest.ErrTooLarge.
//
// encoding/xml resolves namespace prefixes to URLs; Parse puts the prefixes
// the document used back into the names of attributes and unknown
// elements, so that Marshal writes them as they came.
func Parse(data []byte, opts ...manifest.Option) (*MPD, error) {
	limits, err := manifest.NewLimits(opts...)
	if err != nil {
		return nil, err
	}
	if len(data) > limits.MaxBytes {
		return nil, fmt.Errorf("%w: MPD of %d bytes, the limit is %d", manifest.ErrTooLarge, len(data), limits.MaxBytes)
	}
	var m MPD
	d := xml.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	// Anything after the root but whitespace, comments or processing
	// instructions is not XML.
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: after the MPD: %v", ErrSyntax, err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("%w: text after the MPD", ErrSyntax)
			}
		case xml.Comment, xml.ProcInst:
		default:
			return nil, fmt.Errorf("%w: content after the MPD", ErrSyntax)
		}
	}
	// The root's declarations apply to the whole document.
	m.XMLNS = m.XMLName.Space
	var rest []xml.Attr
	for _, a := range m.Extra {
		switch {
		case a.Name.Space == "xmlns":
			m.Namespaces = append(m.Namespaces, a)
		case a.Name.Space == "" && a.Name.Local == "xmlns":
		default:
			rest = append(rest, a)
		}
	}
	m.Extra = rest
	root := &scope{def: m.XMLNS}
	for _, a := range m.Namespaces {
		root.bind = append(root.bind, [2]string{a.Name.Local, a.Value})
	}
	m.Extra = root.attrs(m.Extra)
	v := reflect.ValueOf(&m).Elem()
	for i := 0; i < v.NumField(); i++ {
		if v.Type().Field(i).Name != "Extra" {
			root.walk(v.Field(i))
		}
	}
	return &m, nil
}

// Marshal encodes m as an MPD document with an XML declaration.
func Marshal(m *MPD) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	e := xml.NewEncoder(&b)
	e.Indent("", "  ")
	ns := m.XMLNS
	if ns == "" {
		ns = Namespace
	}
	// The default namespace goes in as a plain attribute: given as the
	// root's name space, encoding/xml would reset it (xmlns="") on every
	// unknown element below.
	start := xml.StartElement{Name: xml.Name{Local: "MPD"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: ns}}}
	for _, a := range m.Namespaces {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "xmlns:" + a.Name.Local}, Value: a.Value})
	}
	if err := e.EncodeElement(m, start); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := e.Close(); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// scope is the namespace context of an element: its default namespace and
// its prefix bindings, innermost last.
type scope struct {
	def  string
	bind [][2]string // prefix, URL
}

// enter returns the scope inside an element with attributes attrs, which
// may declare namespaces, and attrs with their prefixes restored.
func (s *scope) enter(attrs []xml.Attr) (*scope, []xml.Attr) {
	inner := s
	for _, a := range attrs {
		switch {
		case a.Name.Space == "xmlns":
			if inner == s {
				inner = &scope{def: s.def, bind: append([][2]string(nil), s.bind...)}
			}
			inner.bind = append(inner.bind, [2]string{a.Name.Local, a.Value})
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			if inner == s {
				inner = &scope{def: s.def, bind: append([][2]string(nil), s.bind...)}
			}
			inner.def = a.Value
		}
	}
	return inner, inner.attrs(attrs)
}

// attrs rewrites attributes in place: declarations become plain
// "xmlns:p" attributes and namespaced names take their bound prefix.
func (s *scope) attrs(attrs []xml.Attr) []xml.Attr {
	for i, a := range attrs {
		switch {
		case a.Name.Space == "xmlns":
			attrs[i].Name = xml.Name{Local: "xmlns:" + a.Name.Local}
		case a.Name.Space != "" && a.Name.Space != xmlURL:
			if p, ok := s.prefix(a.Name.Space); ok {
				attrs[i].Name = xml.Name{Local: p + ":" + a.Name.Local}
			} else {
				// An undeclared prefix, which encoding/xml leaves as it is:
				// written back as it came.
				attrs[i].Name = xml.Name{Local: a.Name.Space + ":" + a.Name.Local}
			}
		}
	}
	return attrs
}

// prefix returns the innermost prefix bound to url that no inner binding
// hides.
func (s *scope) prefix(url string) (string, bool) {
	hidden := map[string]bool{}
	for i := len(s.bind) - 1; i >= 0; i-- {
		p, u := s.bind[i][0], s.bind[i][1]
		if u == url && !hidden[p] {
			return p, true
		}
		hidden[p] = true
	}
	return "", false
}

// name rewrites an unknown element's name: the default namespace is left
// implicit and a bound one takes its prefix.
func (s *scope) name(n xml.Name) xml.Name {
	switch {
	case n.Space == "" || n.Space == s.def:
		return xml.Name{Local: n.Local}
	case strings.Contains(n.Local, ":"):
		return n
	}
	if p, ok := s.prefix(n.Space); ok {
		return xml.Name{Local: p + ":" + n.Local}
	}
	// An undeclared prefix (encoding/xml leaves it in Space).
	return xml.Name{Local: n.Space + ":" + n.Local}
}

// xmlURL is the namespace of the xml: prefix, which is always bound.
const xmlURL = "http://www.w3.org/XML/1998/namespace"

var (
	attrsType   = reflect.TypeFor[[]xml.Attr]()
	elementType = reflect.TypeFor[Element]()
	pkgPath     = elementType.PkgPath()
)

// walk restores prefixes in every element of the model below v, which is
// inside scope s.
func (s *scope) walk(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			s.walk(v.Elem())
		}
	case reflect.Slice:
		if v.Type() == attrsType {
			return
		}
		for i := 0; i < v.Len(); i++ {
			s.walk(v.Index(i))
		}
	case reflect.Struct:
		if v.Type().PkgPath() != pkgPath {
			return
		}
		inner := s
		// An element's own attributes may declare namespaces for itself
		// and its content.
		if f := extraOf(v); f.IsValid() {
			var attrs []xml.Attr
			inner, attrs = s.enter(f.Interface().([]xml.Attr))
			f.Set(reflect.ValueOf(attrs))
		}
		if v.Type() == elementType {
			e := v.Addr().Interface().(*Element)
			e.XMLName = inner.name(e.XMLName)
			if strings.TrimSpace(e.Text) == "" {
				e.Text = "" // indentation, which Marshal writes anew
			}
		}
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			if !v.Type().Field(i).IsExported() || f.Type() == attrsType {
				continue
			}
			if v.Type().Field(i).Anonymous {
				// Embedded fields belong to the same element.
				inner.walkEmbedded(f)
				continue
			}
			inner.walk(f)
		}
	}
}

// walkEmbedded walks the fields of an embedded struct, which belong to the
// element that embeds it.
func (s *scope) walkEmbedded(v reflect.Value) {
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() || f.Type() == attrsType {
			continue
		}
		if v.Type().Field(i).Anonymous {
			s.walkEmbedded(f)
			continue
		}
		s.walk(f)
	}
}

// extraOf returns the []xml.Attr field of an element struct that holds its
// other attributes: Extra, or Attrs for an Element.
func extraOf(v reflect.Value) reflect.Value {
	for _, name := range []string{"Extra", "Attrs"} {
		if f := v.FieldByName(name); f.IsValid() && f.Type() == attrsType {
			return f
		}
	}
	return reflect.Value{}
}
