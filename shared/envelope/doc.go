// Package envelope provides Kafka Connect JsonConverter (schemas.enable=true) envelopes.
package envelope
