package samtemplate

import (
	"fmt"
	"slices"
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
