package samtemplate

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// TriggerErrors are a Kafka event's error controls. Except in provisioned mode AWS
// refuses them, and the template's Rules do too; their zero value is the default: retry
// a failing batch until it succeeds.
type TriggerErrors struct {
	Provisioned             bool          // ProvisionedPollerConfig is set
	Bisect                  bool          // BisectBatchOnFunctionError
	MaxRetries              int           // MaximumRetryAttempts; -1 is infinite
	MaxRecordAge            time.Duration // MaximumRecordAgeInSeconds; 0 is infinite
	ReportBatchItemFailures bool          // FunctionResponseTypes has ReportBatchItemFailures
	OnFailure               string        // DestinationConfig.OnFailure.Destination
}

// triggerErrors reads the error controls of a Kafka event's properties p.
func (r *resolver) triggerErrors(p map[string]any) (TriggerErrors, error) {
	e := TriggerErrors{MaxRetries: -1}
	_, e.Provisioned = r.present(p["ProvisionedPollerConfig"])
	var err error
	if e.Bisect, err = r.flag(p, "BisectBatchOnFunctionError"); err != nil {
		return e, err
	}
	retries, err := r.number(p, "MaximumRetryAttempts", -1)
	if err != nil || retries < -1 || retries > 10000 {
		return e, fmt.Errorf("%w: MaximumRetryAttempts %d is not -1..10000 (%v)", ErrTemplate, retries, err)
	}
	e.MaxRetries = retries
	age, err := r.number(p, "MaximumRecordAgeInSeconds", -1)
	if err != nil || (age != -1 && (age < 60 || age > 604800)) {
		return e, fmt.Errorf("%w: MaximumRecordAgeInSeconds %d is not -1 or 60..604800 (%v)", ErrTemplate, age, err)
	}
	if age > 0 {
		e.MaxRecordAge = time.Duration(age) * time.Second
	}
	if v, ok := r.present(p["FunctionResponseTypes"]); ok {
		types, err := r.list(v)
		if err != nil {
			return e, fmt.Errorf("FunctionResponseTypes: %w", err)
		}
		e.ReportBatchItemFailures = slices.Contains(types, "ReportBatchItemFailures")
	}
	if dc, ok := r.present(p["DestinationConfig"]); ok {
		if of, ok := r.present(mapOf(dc)["OnFailure"]); ok {
			if d, ok := r.present(mapOf(of)["Destination"]); ok {
				if e.OnFailure, err = r.String(d); err != nil {
					return e, fmt.Errorf("DestinationConfig: %w", err)
				}
			}
		}
	}
	return e, nil
}

// present resolves Fn::If down to the value it picks and reports whether there is one:
// a missing property or AWS::NoValue is not there.
func (r *resolver) present(v any) (any, bool) {
	for v != nil {
		m := mapOf(v)
		if ref, ok := m["Ref"]; ok && len(m) == 1 && str(ref) == "AWS::NoValue" {
			return nil, false
		}
		arg, ok := m["Fn::If"]
		if !ok || len(m) != 1 {
			return v, true
		}
		l := listOf(arg)
		if len(l) != 3 {
			return v, true // String reports the malformed Fn::If
		}
		pick, err := r.condition(str(l[0]))
		if err != nil {
			return v, true
		}
		v = l[2]
		if pick {
			v = l[1]
		}
	}
	return nil, false
}

// property resolves an optional property to a string; ok is false when it is left out
// (or AWS::NoValue). The error names the property.
func (r *resolver) property(p map[string]any, key string) (s string, ok bool, err error) {
	v, ok := r.present(p[key])
	if !ok {
		return "", false, nil
	}
	s, err = r.String(v)
	if errors.Is(err, errNoValue) {
		return "", false, nil
	}
	if err != nil {
		return "", true, fmt.Errorf("%s: %w", key, err)
	}
	return s, true, nil
}

// flag reads an optional boolean property.
func (r *resolver) flag(p map[string]any, key string) (bool, error) {
	s, _, err := r.property(p, key)
	return s == "true", err
}

// text reads an optional string property, def when it is left out.
func (r *resolver) text(p map[string]any, key, def string) (string, error) {
	s, ok, err := r.property(p, key)
	if !ok {
		return def, err
	}
	return s, err
}

// number reads an optional integer property, def when it is left out.
func (r *resolver) number(p map[string]any, key string, def int) (int, error) {
	s, ok, err := r.property(p, key)
	if !ok || err != nil {
		return def, err
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return def, fmt.Errorf("%w: %s %q is not a whole number", ErrTemplate, key, s)
	}
	return n, nil
}
