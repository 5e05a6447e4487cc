package history

import (
	"strings"
	"testing"
)

func TestClip(t *testing.T) {
	big := strings.Repeat("x", 52428800)
	tests := []struct {
		name, in, want string
	}{
		{"short kept", "abc", "abc"},
		{"exactly the bound kept", strings.Repeat("y", MaxShown), strings.Repeat("y", MaxShown)},
		{"50 MB cut", big, strings.Repeat("x", MaxShown) + "…(52,428,800 bytes, 52,428,600 cut)"},
		{"cut at a character boundary", strings.Repeat("y", MaxShown-1) + "éé", strings.Repeat("y", MaxShown-1) + "…(203 bytes, 4 cut)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Clip(tt.in); got != tt.want {
				t.Errorf("got %q (%d bytes), want %q", ClipN(got, 300), len(got), tt.want)
			}
		})
	}
}

func TestValueShort(t *testing.T) {
	if got := List(1, 2, 3).Short(); got != "[1,2,3]" {
		t.Errorf("small list: got %q, want [1,2,3]", got)
	}
	if got := Int(-7).Short(); got != "-7" {
		t.Errorf("int: got %q, want -7", got)
	}
	xs := make([]int64, 1_000_000)
	for i := range xs {
		xs[i] = 7
	}
	v := List(xs...)
	full := v.String()
	got := v.Short()
	want := full[:MaxShown] + "…(" + Thousands(int64(len(full))) + " bytes, " + Thousands(int64(len(full)-MaxShown)) + " cut)"
	if got != want {
		t.Errorf("huge list: got %q, want %q", got, want)
	}
	// the cut falls on every possible digit boundary the same way Clip would cut the text
	for n := 1; n < 120; n++ {
		xs := make([]int64, n)
		for i := range xs {
			xs[i] = int64(i * 37)
		}
		v := List(xs...)
		if got, want := v.Short(), Clip(v.String()); got != want {
			t.Fatalf("list of %d: got %q, want %q", n, got, want)
		}
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 52428800: "52,428,800", -1234567: "-1,234,567"} {
		if got := Thousands(in); got != want {
			t.Errorf("Thousands(%d): got %q, want %q", in, got, want)
		}
	}
}
