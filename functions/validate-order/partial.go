package main

import (
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ItemFailure names one input record in a partial batch response, in the form a Kafka
// trigger reads: {"itemIdentifier":{"partition":"<topic>-<n>","offset":<n>}}
// (aws-lambda-go has no type for it).
type ItemFailure struct {
	ItemIdentifier ItemIdentifier `json:"itemIdentifier"`
}

// ItemIdentifier is a record's partition, as the event keys it, and offset.
type ItemIdentifier struct {
	Partition string `json:"partition"`
	Offset    int64  `json:"offset"`
}

// itemFailures returns, for each input partition with a failed output, the first input
// record (lowest offset) whose output was not acknowledged. The trigger resumes each
// named partition from there and counts every record before it, and every partition not
// named, as done; the records after it are delivered again and their outputs written
// again with the same keys and bytes, which the sink's upsert absorbs.
//
// in and out are parallel: out[i] is the output of in[i]; failed holds the outputs whose
// produce failed.
func itemFailures(in []events.KafkaRecord, out []kgo.Record, failed []*kgo.Record) []ItemFailure {
	bad := make(map[*kgo.Record]bool, len(failed))
	for _, r := range failed {
		bad[r] = true
	}
	var fs []ItemFailure
	seen := map[string]bool{}
	for i := range in { // in is in topic, partition, offset order
		if !bad[&out[i]] {
			continue
		}
		p := in[i].Topic + "-" + strconv.FormatInt(in[i].Partition, 10)
		if !seen[p] {
			seen[p] = true
			fs = append(fs, ItemFailure{ItemIdentifier{Partition: p, Offset: in[i].Offset}})
		}
	}
	return fs
}
