package netfilter

import (
	"reflect"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   Rules
		want Rules
	}{
		{"empty", Rules{}, Rules{}},
		{"sorted, deduplicated drops", Rules{Drop: []string{"10.0.0.3", "10.0.0.1", "10.0.0.3"}}, Rules{Drop: []string{"10.0.0.1", "10.0.0.3"}}},
		{"loss of a dropped source is dropped", Rules{Drop: []string{"10.0.0.1"}, Loss: []Loss{{"10.0.0.1", 0.5}}}, Rules{Drop: []string{"10.0.0.1"}}},
		{"loss 1 is a drop", Rules{Loss: []Loss{{"10.0.0.2", 1}}}, Rules{Drop: []string{"10.0.0.2"}}},
		{"loss 0 is nothing", Rules{Loss: []Loss{{"10.0.0.2", 0}}}, Rules{}},
		{"losses sorted, first wins", Rules{Loss: []Loss{{"10.0.0.9", 0.1}, {"10.0.0.2", 0.2}, {"10.0.0.9", 0.3}}},
			Rules{Loss: []Loss{{"10.0.0.2", 0.2}, {"10.0.0.9", 0.1}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.Normalize(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		in      string
		wantErr bool
	}{
		{`{}`, false},
		{`{"drop":["10.1.2.3"],"loss":[{"source":"10.1.2.4","probability":0.25}]}`, false},
		{`{"drop":["fd00::1"]}`, true},
		{`{"drop":["n1"]}`, true},
		{`{"loss":[{"source":"10.1.2.4","probability":1.5}]}`, true},
		{`{"loss":[{"source":"10.1.2.4","probability":-0.1}]}`, true},
		{`not json`, true},
	}
	for _, tc := range tests {
		_, err := Decode(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("Decode(%s): got error %v, want error %v", tc.in, err, tc.wantErr)
		}
	}
	r := Rules{Drop: []string{"10.1.2.3"}, Loss: []Loss{{"10.1.2.4", 0.25}}}
	got, err := Decode(r.Encode())
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Errorf("round trip: got %+v, %v; want %+v", got, err, r)
	}
}

func TestThreshold(t *testing.T) {
	tests := []struct {
		p    float64
		want uint32
	}{{0, 0}, {0.0001, 1}, {0.25, 2500}, {0.999, 9990}, {1, LossScale}}
	for _, tc := range tests {
		if got := threshold(tc.p); got != tc.want {
			t.Errorf("threshold(%v) = %d, want %d", tc.p, got, tc.want)
		}
	}
}
