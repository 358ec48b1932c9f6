package loadtest

import (
	"errors"
	"fmt"
)

var (
	// ErrConfig reports an invalid Config field; the wrapped message names
	// the field.
	ErrConfig = errors.New("loadtest: invalid config")
	// ErrNoConnections reports that not one connection could be opened; the
	// wrapped message carries the first dial error.
	ErrNoConnections = errors.New("loadtest: no connection could be opened")
)

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
}
