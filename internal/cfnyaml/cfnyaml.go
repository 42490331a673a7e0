// Package cfnyaml provides the one reader of CloudFormation YAML templates, strict where
// CloudFormation is: a duplicate key, a YAML anchor or alias, a tag CloudFormation does
// not know, or more than one document is an error. The short-form intrinsic functions
// (!Ref, !Sub, !GetAtt ...) become their long form ({"Ref": …}, {"Fn::Sub": …}).
//
// Values are what encoding/json gives for the same template written in JSON, except
// numbers: map[string]any, []any, string, bool, nil, int (or int64/uint64 when larger)
// and float64.
package cfnyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// Errors returned by Parse, each wrapped with the line it was found on.
var (
	ErrSyntax       = errors.New("not YAML")
	ErrDocuments    = errors.New("want exactly one YAML document")
	ErrAlias        = errors.New("YAML anchors and aliases are not supported by CloudFormation")
	ErrDuplicateKey = errors.New("duplicate key")
	ErrKey          = errors.New("mapping key is not a string")
	ErrMergeKey     = errors.New("YAML merge keys (<<) are not supported by CloudFormation")
	ErrUnknownTag   = errors.New("unknown tag")
	ErrGetAtt       = errors.New("!GetAtt wants Resource.Attribute")
)

// ShortTags maps CloudFormation's short-form tags to the long-form key they stand for.
var ShortTags = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition",
	"!Sub": "Fn::Sub", "!GetAtt": "Fn::GetAtt", "!If": "Fn::If", "!Equals": "Fn::Equals",
	"!Not": "Fn::Not", "!And": "Fn::And", "!Or": "Fn::Or", "!Join": "Fn::Join",
	"!Select": "Fn::Select", "!Split": "Fn::Split", "!FindInMap": "Fn::FindInMap",
	"!ImportValue": "Fn::ImportValue", "!Base64": "Fn::Base64", "!Cidr": "Fn::Cidr",
	"!GetAZs": "Fn::GetAZs", "!Transform": "Fn::Transform",
	"!Length": "Fn::Length", "!ToJsonString": "Fn::ToJsonString",
}

// coreTags are the YAML tags a plain template resolves to, or may spell out.
var coreTags = map[string]bool{
	"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true,
	"!!map": true, "!!seq": true, "!!timestamp": true,
}

// Parse reads one CloudFormation YAML document.
func Parse(data []byte) (v any, err error) {
	defer func() {
		// The YAML library is not ours: whatever it does with hostile input is an error
		// here, never a crash of the caller.
		if p := recover(); p != nil {
			v, err = nil, fmt.Errorf("%w: %v", ErrSyntax, p)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the document is empty", ErrDocuments)
		}
		return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
		}
		return nil, fmt.Errorf("line %d: %w", next.Line, ErrDocuments)
	}
	if len(doc.Content) != 1 {
		return nil, fmt.Errorf("%w: the document is empty", ErrDocuments)
	}
	return value(doc.Content[0])
}

// value converts one node.
func value(n *yaml.Node) (any, error) {
	if n.Anchor != "" || n.Kind == yaml.AliasNode {
		return nil, fmt.Errorf("line %d: %w", n.Line, ErrAlias)
	}
	if key, ok := ShortTags[n.Tag]; ok {
		return shortForm(n, key)
	}
	if n.Tag != "" && !coreTags[n.Tag] {
		return nil, fmt.Errorf("line %d: %w %s", n.Line, ErrUnknownTag, n.Tag)
	}
	switch n.Kind {
	case yaml.MappingNode:
		return mapping(n)
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := value(c)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		return scalar(n)
	}
	return nil, fmt.Errorf("line %d: %w: unexpected node", n.Line, ErrSyntax)
}

// shortForm turns a !Tag node into {key: value}; a scalar's value is its text.
func shortForm(n *yaml.Node, key string) (any, error) {
	inner := *n
	inner.Tag = ""
	inner.Style &^= yaml.TaggedStyle
	if n.Kind == yaml.ScalarNode {
		inner.Tag = "!!str"
	}
	v, err := value(&inner)
	if err != nil {
		return nil, err
	}
	if key == "Fn::GetAtt" {
		if s, ok := v.(string); ok {
			res, attr, found := strings.Cut(s, ".")
			if !found || res == "" || attr == "" {
				return nil, fmt.Errorf("line %d: %w, got %q", n.Line, ErrGetAtt, s)
			}
			v = []any{res, attr}
		}
	}
	return map[string]any{key: v}, nil
}

func mapping(n *yaml.Node) (any, error) {
	m := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind == yaml.AliasNode || k.Anchor != "" {
			return nil, fmt.Errorf("line %d: %w", k.Line, ErrAlias)
		}
		if k.Tag == "!!merge" {
			return nil, fmt.Errorf("line %d: %w", k.Line, ErrMergeKey)
		}
		if k.Kind != yaml.ScalarNode || (k.Tag != "!!str" && k.Tag != "!!int" && k.Tag != "!!bool" && k.Tag != "!!float") {
			return nil, fmt.Errorf("line %d: %w", k.Line, ErrKey)
		}
		if _, dup := m[k.Value]; dup {
			return nil, fmt.Errorf("line %d: %w %q", k.Line, ErrDuplicateKey, k.Value)
		}
		v, err := value(n.Content[i+1])
		if err != nil {
			return nil, err
		}
		m[k.Value] = v
	}
	return m, nil
}

func scalar(n *yaml.Node) (any, error) {
	switch n.Tag {
	case "!!str", "!!timestamp":
		return n.Value, nil
	case "!!null":
		return nil, nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, fmt.Errorf("line %d: %w: %w", n.Line, ErrSyntax, err)
	}
	return v, nil
}
