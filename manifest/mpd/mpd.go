package mpd

import "encoding/xml"

// Namespace is the MPD namespace of ISO/IEC 23009-1.
const Namespace = "urn:mpeg:dash:schema:mpd:2011"

// Presentation types (MPD@type).
const (
	Static  = "static"
	Dynamic = "dynamic"
)

// MPD is a media presentation description (ISO/IEC 23009-1 section 5.3.1).
//
// The model names the attributes and elements nearcast reads or writes; the
// rest is kept in Extra (attributes) and Unknown (elements) of each level,
// so that Parse then Marshal keeps them. Elements the model names are
// written in schema order, unknown ones after them.
type MPD struct {
	XMLName xml.Name `xml:"MPD"`
	// XMLNS is the document's default namespace; Marshal writes Namespace
	// when it is empty.
	XMLNS string `xml:"-"`
	// Namespaces are the root's prefix declarations (xmlns:xsi=...), written
	// back as they came so that prefixed attributes keep their prefixes.
	Namespaces []xml.Attr `xml:"-"`

	ID                         string     `xml:"id,attr,omitempty"`
	Profiles                   string     `xml:"profiles,attr,omitempty"`
	Type                       string     `xml:"type,attr,omitempty"` // Static (default) or Dynamic
	AvailabilityStartTime      *DateTime  `xml:"availabilityStartTime,attr,omitempty"`
	PublishTime                *DateTime  `xml:"publishTime,attr,omitempty"`
	AvailabilityEndTime        *DateTime  `xml:"availabilityEndTime,attr,omitempty"`
	MediaPresentationDuration  *Duration  `xml:"mediaPresentationDuration,attr,omitempty"`
	MinimumUpdatePeriod        *Duration  `xml:"minimumUpdatePeriod,attr,omitempty"`
	MinBufferTime              *Duration  `xml:"minBufferTime,attr,omitempty"`
	TimeShiftBufferDepth       *Duration  `xml:"timeShiftBufferDepth,attr,omitempty"`
	SuggestedPresentationDelay *Duration  `xml:"suggestedPresentationDelay,attr,omitempty"`
	MaxSegmentDuration         *Duration  `xml:"maxSegmentDuration,attr,omitempty"`
	MaxSubsegmentDuration      *Duration  `xml:"maxSubsegmentDuration,attr,omitempty"`
	Extra                      []xml.Attr `xml:",any,attr"`

	ProgramInformation     []Element    `xml:"ProgramInformation"`
	BaseURLs               []BaseURL    `xml:"BaseURL"`
	Locations              []Element    `xml:"Location"`
	PatchLocations         []Element    `xml:"PatchLocation"`
	ServiceDescriptions    []Element    `xml:"ServiceDescription"`
	InitializationSets     []Element    `xml:"InitializationSet"`
	InitializationGroups   []Element    `xml:"InitializationGroup"`
	InitializationPresets  []Element    `xml:"InitializationPresentation"`
	ContentProtections     []Descriptor `xml:"ContentProtection"`
	Periods                []*Period    `xml:"Period"`
	Metrics                []Element    `xml:"Metrics"`
	EssentialProperties    []Descriptor `xml:"EssentialProperty"`
	SupplementalProperties []Descriptor `xml:"SupplementalProperty"`
	UTCTimings             []Descriptor `xml:"UTCTiming"`
	LeapSecondInformation  []Element    `xml:"LeapSecondInformation"`
	Unknown                []Element    `xml:",any"`
}

// IsDynamic reports whether the MPD is of type dynamic (live).
func (m *MPD) IsDynamic() bool { return m.Type == Dynamic }

// Period is a Period (section 5.3.2).
type Period struct {
	ID                 string     `xml:"id,attr,omitempty"`
	Start              *Duration  `xml:"start,attr,omitempty"`
	Duration           *Duration  `xml:"duration,attr,omitempty"`
	BitstreamSwitching *bool      `xml:"bitstreamSwitching,attr,omitempty"`
	Extra              []xml.Attr `xml:",any,attr"`

	BaseURLs               []BaseURL        `xml:"BaseURL"`
	SegmentBase            *SegmentBase     `xml:"SegmentBase"`
	SegmentList            *SegmentList     `xml:"SegmentList"`
	SegmentTemplate        *SegmentTemplate `xml:"SegmentTemplate"`
	AssetIdentifier        *Descriptor      `xml:"AssetIdentifier"`
	EventStreams           []Element        `xml:"EventStream"`
	ServiceDescriptions    []Element        `xml:"ServiceDescription"`
	ContentProtections     []Descriptor     `xml:"ContentProtection"`
	AdaptationSets         []*AdaptationSet `xml:"AdaptationSet"`
	Subsets                []Element        `xml:"Subset"`
	SupplementalProperties []Descriptor     `xml:"SupplementalProperty"`
	EmptyAdaptationSets    []Element        `xml:"EmptyAdaptationSet"`
	GroupLabels            []Element        `xml:"GroupLabel"`
	Preselections          []Element        `xml:"Preselection"`
	Unknown                []Element        `xml:",any"`
}

// RepresentationBase holds what AdaptationSet, Representation and
// SubRepresentation share (section 5.3.7): common attributes, then the
// common elements, in schema order.
type RepresentationBase struct {
	Profiles          string `xml:"profiles,attr,omitempty"`
	Width             string `xml:"width,attr,omitempty"`
	Height            string `xml:"height,attr,omitempty"`
	Sar               string `xml:"sar,attr,omitempty"`
	FrameRate         string `xml:"frameRate,attr,omitempty"`
	AudioSamplingRate string `xml:"audioSamplingRate,attr,omitempty"`
	MimeType          string `xml:"mimeType,attr,omitempty"`
	SegmentProfiles   string `xml:"segmentProfiles,attr,omitempty"`
	Codecs            string `xml:"codecs,attr,omitempty"`
	MaximumSAPPeriod  string `xml:"maximumSAPPeriod,attr,omitempty"`
	StartWithSAP      string `xml:"startWithSAP,attr,omitempty"`
	MaxPlayoutRate    string `xml:"maxPlayoutRate,attr,omitempty"`
	CodingDependency  string `xml:"codingDependency,attr,omitempty"`
	ScanType          string `xml:"scanType,attr,omitempty"`

	FramePackings             []Descriptor `xml:"FramePacking"`
	AudioChannelConfiguration []Descriptor `xml:"AudioChannelConfiguration"`
	ContentProtections        []Descriptor `xml:"ContentProtection"`
	OutputProtections         []Descriptor `xml:"OutputProtection"`
	EssentialProperties       []Descriptor `xml:"EssentialProperty"`
	SupplementalProperties    []Descriptor `xml:"SupplementalProperty"`
	InbandEventStreams        []Descriptor `xml:"InbandEventStream"`
	Switchings                []Element    `xml:"Switching"`
	RandomAccesses            []Element    `xml:"RandomAccess"`
	GroupLabels               []Element    `xml:"GroupLabel"`
	Labels                    []Element    `xml:"Label"`
	ProducerReferenceTimes    []Element    `xml:"ProducerReferenceTime"`
	ContentPopularityRates    []Element    `xml:"ContentPopularityRate"`
	Resyncs                   []Element    `xml:"Resync"`
}

// AdaptationSet is an AdaptationSet (section 5.3.3).
type AdaptationSet struct {
	ID                 string `xml:"id,attr,omitempty"`
	Group              string `xml:"group,attr,omitempty"`
	Lang               string `xml:"lang,attr,omitempty"`
	ContentType        string `xml:"contentType,attr,omitempty"`
	Par                string `xml:"par,attr,omitempty"`
	MinBandwidth       string `xml:"minBandwidth,attr,omitempty"`
	MaxBandwidth       string `xml:"maxBandwidth,attr,omitempty"`
	MaxWidth           string `xml:"maxWidth,attr,omitempty"`
	MaxHeight          string `xml:"maxHeight,attr,omitempty"`
	MaxFrameRate       string `xml:"maxFrameRate,attr,omitempty"`
	SegmentAlignment   string `xml:"segmentAlignment,attr,omitempty"`
	BitstreamSwitching string `xml:"bitstreamSwitching,attr,omitempty"`
	RepresentationBase
	Extra []xml.Attr `xml:",any,attr"`

	Accessibilities   []Descriptor      `xml:"Accessibility"`
	Roles             []Descriptor      `xml:"Role"`
	Ratings           []Descriptor      `xml:"Rating"`
	Viewpoints        []Descriptor      `xml:"Viewpoint"`
	ContentComponents []Element         `xml:"ContentComponent"`
	BaseURLs          []BaseURL         `xml:"BaseURL"`
	SegmentBase       *SegmentBase      `xml:"SegmentBase"`
	SegmentList       *SegmentList      `xml:"SegmentList"`
	SegmentTemplate   *SegmentTemplate  `xml:"SegmentTemplate"`
	Representations   []*Representation `xml:"Representation"`
	Unknown           []Element         `xml:",any"`
}

// Representation is a Representation (section 5.3.5).
type Representation struct {
	ID                     string `xml:"id,attr"`
	Bandwidth              uint64 `xml:"bandwidth,attr"`
	QualityRanking         string `xml:"qualityRanking,attr,omitempty"`
	DependencyID           string `xml:"dependencyId,attr,omitempty"`
	AssociationID          string `xml:"associationId,attr,omitempty"`
	AssociationType        string `xml:"associationType,attr,omitempty"`
	MediaStreamStructureID string `xml:"mediaStreamStructureId,attr,omitempty"`
	RepresentationBase
	Extra []xml.Attr `xml:",any,attr"`

	BaseURLs           []BaseURL        `xml:"BaseURL"`
	ExtendedBandwidths []Element        `xml:"ExtendedBandwidth"`
	SubRepresentations []Element        `xml:"SubRepresentation"`
	SegmentBase        *SegmentBase     `xml:"SegmentBase"`
	SegmentList        *SegmentList     `xml:"SegmentList"`
	SegmentTemplate    *SegmentTemplate `xml:"SegmentTemplate"`
	Unknown            []Element        `xml:",any"`
}

// BaseURL is a BaseURL element (section 5.6): a URL, absolute or relative
// to the level above.
type BaseURL struct {
	URL             string     `xml:",chardata"`
	ServiceLocation string     `xml:"serviceLocation,attr,omitempty"`
	ByteRange       string     `xml:"byteRange,attr,omitempty"`
	Extra           []xml.Attr `xml:",any,attr"`
}

// Descriptor is a DescriptorType element (section 5.8.2): Role,
// ContentProtection, UTCTiming and the like.
type Descriptor struct {
	SchemeIDURI string     `xml:"schemeIdUri,attr"`
	Value       string     `xml:"value,attr,omitempty"`
	ID          string     `xml:"id,attr,omitempty"`
	Extra       []xml.Attr `xml:",any,attr"`
	Children    []Element  `xml:",any"`
}

// SegmentInfo holds the attributes and elements of SegmentBaseType
// (section 5.3.9.2), which SegmentBase, SegmentList and SegmentTemplate
// share. Unset pointers inherit from the level above.
type SegmentInfo struct {
	Timescale                *uint64   `xml:"timescale,attr,omitempty"`
	PresentationTimeOffset   *uint64   `xml:"presentationTimeOffset,attr,omitempty"`
	PresentationDuration     *uint64   `xml:"presentationDuration,attr,omitempty"`
	TimeShiftBufferDepth     *Duration `xml:"timeShiftBufferDepth,attr,omitempty"`
	IndexRange               string    `xml:"indexRange,attr,omitempty"`
	IndexRangeExact          *bool     `xml:"indexRangeExact,attr,omitempty"`
	AvailabilityTimeOffset   string    `xml:"availabilityTimeOffset,attr,omitempty"` // seconds or "INF"
	AvailabilityTimeComplete *bool     `xml:"availabilityTimeComplete,attr,omitempty"`

	Initialization      *URLType `xml:"Initialization"`
	RepresentationIndex *URLType `xml:"RepresentationIndex"`
}

// MultipleSegmentInfo holds what MultipleSegmentBaseType (section 5.3.9.2)
// adds: a duration or a timeline, and the number of the first segment.
type MultipleSegmentInfo struct {
	SegmentInfo
	Duration    *uint64 `xml:"duration,attr,omitempty"`
	StartNumber *uint64 `xml:"startNumber,attr,omitempty"`
	EndNumber   *uint64 `xml:"endNumber,attr,omitempty"`

	SegmentTimeline    *SegmentTimeline `xml:"SegmentTimeline"`
	BitstreamSwitching *URLType         `xml:"BitstreamSwitching"`
}

// SegmentBase addresses a single-segment Representation, whose index
// (sidx) at IndexRange lists its subsegments (section 5.3.9.2).
type SegmentBase struct {
	SegmentInfo
	Extra   []xml.Attr `xml:",any,attr"`
	Unknown []Element  `xml:",any"`
}

// SegmentList lists the segments' URLs (section 5.3.9.3).
type SegmentList struct {
	MultipleSegmentInfo
	Extra       []xml.Attr   `xml:",any,attr"`
	SegmentURLs []SegmentURL `xml:"SegmentURL"`
	Unknown     []Element    `xml:",any"`
}

// SegmentURL is one segment of a SegmentList: a URL (empty: the BaseURL)
// and byte ranges "first-last", inclusive.
type SegmentURL struct {
	Media      string     `xml:"media,attr,omitempty"`
	MediaRange string     `xml:"mediaRange,attr,omitempty"`
	Index      string     `xml:"index,attr,omitempty"`
	IndexRange string     `xml:"indexRange,attr,omitempty"`
	Extra      []xml.Attr `xml:",any,attr"`
}

// SegmentTemplate builds segment URLs from templates (section 5.3.9.4)
// with the identifiers $RepresentationID$, $Number$, $Time$, $Bandwidth$
// (the last three with an optional %0<width>d format) and $$.
type SegmentTemplate struct {
	MultipleSegmentInfo
	Media                      string     `xml:"media,attr,omitempty"`
	Index                      string     `xml:"index,attr,omitempty"`
	InitializationTemplate     string     `xml:"initialization,attr,omitempty"`
	BitstreamSwitchingTemplate string     `xml:"bitstreamSwitching,attr,omitempty"`
	Extra                      []xml.Attr `xml:",any,attr"`
	Unknown                    []Element  `xml:",any"`
}

// SegmentTimeline lists segment times and durations (section 5.3.9.6).
type SegmentTimeline struct {
	S     []S        `xml:"S"`
	Extra []xml.Attr `xml:",any,attr"`
}

// S is a run of segments of one duration: the first at T (default: where
// the previous run ended; 0 for the first), then R more (R = -1: until the
// next S@t, or the end of the Period).
type S struct {
	T     *uint64    `xml:"t,attr,omitempty"`
	N     *uint64    `xml:"n,attr,omitempty"`
	D     uint64     `xml:"d,attr"`
	R     int64      `xml:"r,attr,omitempty"`
	K     *uint64    `xml:"k,attr,omitempty"`
	Extra []xml.Attr `xml:",any,attr"`
}

// URLType is an Initialization, RepresentationIndex or BitstreamSwitching
// element: a URL (empty: the BaseURL) and a byte range "first-last".
type URLType struct {
	SourceURL string     `xml:"sourceURL,attr,omitempty"`
	Range     string     `xml:"range,attr,omitempty"`
	Extra     []xml.Attr `xml:",any,attr"`
}

// Element is an element the model does not name, kept so that it is
// written back: its name, attributes, child elements and text.
type Element struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []Element  `xml:",any"`
	Text     string     `xml:",chardata"`
}
