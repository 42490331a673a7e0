package main

import "testing"

func TestParseOrderID(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"0190b6f2-8a5e-7c3d-9b1a-2f4e6d8c0a1b", "0190b6f2-8a5e-7c3d-9b1a-2f4e6d8c0a1b", true},
		{"0190B6F2-8A5E-7C3D-9B1A-2F4E6D8C0A1B", "0190b6f2-8a5e-7c3d-9b1a-2f4e6d8c0a1b", true},
		{"0190b6f2-8a5e-7c3d-9b1a-2f4e6d8c0a1g", "", false},
		{"0190b6f2x8a5e-7c3d-9b1a-2f4e6d8c0a1b", "", false},
		{"0190b6f2-8a5e-7c3d-9b1a-2f4e6d8c0a1", "", false},
	} {
		if got, ok := parseOrderID(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("parseOrderID(%q) = %q, %v", tc.in, got, ok)
		}
	}
}
