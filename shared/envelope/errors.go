package envelope

import (
	"errors"
	"strings"
)

// Errors returned, wrapped in a *PathError, by Decode, Codec.Decode, Encode,
// Codec.Encode and Schema.UnmarshalJSON. Branch on them with errors.Is.
var (
	ErrSyntax   = errors.New("invalid json")
	ErrEnvelope = errors.New("not a schema/payload envelope")
	ErrSchema   = errors.New("invalid schema")
	ErrUnknown  = errors.New("field not in schema")
	ErrMissing  = errors.New("missing required field")
	ErrType     = errors.New("wrong type")
	ErrRange    = errors.New("out of range")
	ErrNull     = errors.New("null for a required value")
)

// wrapped is an error with its own message that wraps err: what fmt.Errorf("…: %w")
// returns, for the package's sentinel errors, which fmt would build at every cold start.
type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.err }

// PathError reports where in a document a problem was found. Path is a dotted
// path from the top of the envelope, such as "payload.qty",
// "payload.items[2].sku" or "schema.fields[3].type"; Err wraps one of the
// sentinel errors.
type PathError struct {
	Path string
	Err  error
}

func (e *PathError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *PathError) Unwrap() error { return e.Err }

// at prefixes the path of err with seg. A plain error becomes a *PathError.
// Paths are assembled only on the error path, so the happy path pays nothing.
func at(err error, seg string) error {
	pe, ok := err.(*PathError)
	if !ok {
		return &PathError{Path: seg, Err: err}
	}
	switch {
	case pe.Path == "":
		pe.Path = seg
	case strings.HasPrefix(pe.Path, "["):
		pe.Path = seg + pe.Path
	default:
		pe.Path = seg + "." + pe.Path
	}
	return pe
}
