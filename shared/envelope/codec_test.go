package envelope_test

import (
	"testing"
)

func TestCodecOrder(t *testing.T) {
	c := orderCodec()
	o := sampleOrder()
	got, err := c.Encode(&o)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != orderJSON {
		t.Fatalf("Encode:\n got %s\nwant %s", got, orderJSON)
	}
	var back order
	if err := c.Decode(got, &back); err != nil {
		t.Fatal(err)
	}
	if back != o {
		t.Fatalf("round trip: got %+v, want %+v", back, o)
	}
}
