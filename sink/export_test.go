package sink

// TestOrderN is testOrder for the external tests (package sink_test): the one way the
// tests number their orders.
var TestOrderN = testOrder

// ConsumeAll is consumeAll for the external tests.
var ConsumeAll = consumeAll
