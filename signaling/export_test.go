package signaling

// MaskedFrame builds one masked client frame, for the external tests.
var MaskedFrame = maskedFrame
