package sim

import (
	"testing"
	"time"
)

var testEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestClockArithmetic(t *testing.T) {
	c := NewClock(testEpoch)
	steps := []struct {
		name     string
		set      bool
		at       time.Duration
		offset   time.Duration
		ppm      float64
		wantWall time.Duration // since epoch
		wantMono time.Duration
	}{
		{name: "start", at: 0, wantWall: 0, wantMono: 0},
		{name: "no skew", at: 10 * time.Second, wantWall: 10 * time.Second, wantMono: 10 * time.Second},
		{name: "set offset +5s", set: true, at: 10 * time.Second, offset: 5 * time.Second, wantWall: 15 * time.Second, wantMono: 10 * time.Second},
		{name: "offset holds", at: 20 * time.Second, wantWall: 25 * time.Second, wantMono: 20 * time.Second},
		{name: "set offset -1s, drift +1000ppm", set: true, at: 20 * time.Second, offset: -time.Second, ppm: 1000, wantWall: 19 * time.Second, wantMono: 20 * time.Second},
		// 100 s at 1000 ppm gain 100 ms
		{name: "drift accumulates", at: 120 * time.Second, wantWall: 119*time.Second + 100*time.Millisecond, wantMono: 120*time.Second + 100*time.Millisecond},
		// set resets the wall's accumulated drift (like store.Clock) but the monotonic view keeps it
		{name: "set drift -500ppm", set: true, at: 120 * time.Second, ppm: -500, wantWall: 120 * time.Second, wantMono: 120*time.Second + 100*time.Millisecond},
		{name: "slow clock", at: 220 * time.Second, wantWall: 220*time.Second - 50*time.Millisecond, wantMono: 220*time.Second + 50*time.Millisecond},
	}
	for _, s := range steps {
		if s.set {
			if err := c.Set(s.at, s.offset, s.ppm); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		if got := c.Wall(s.at).Sub(testEpoch); got != s.wantWall {
			t.Errorf("%s: wall got epoch+%s, want epoch+%s", s.name, got, s.wantWall)
		}
		if got := c.Mono(s.at); got != s.wantMono {
			t.Errorf("%s: mono got %s, want %s", s.name, got, s.wantMono)
		}
	}
	if err := c.Set(0, 0, MaxDriftPPM+1); err == nil {
		t.Errorf("drift %d ppm: got no error, want out of range", MaxDriftPPM+1)
	}
}

func TestClockMonotonicUnderSteps(t *testing.T) {
	c := NewClock(testEpoch)
	r := NewRand(7)
	var last time.Duration
	for i := 1; i <= 1000; i++ {
		at := time.Duration(i) * time.Millisecond
		if r.Chance(0.1) {
			off := time.Duration(r.IntN(20)-10) * time.Second
			ppm := float64(r.IntN(2*MaxDriftPPM+1) - MaxDriftPPM)
			if err := c.Set(at, off, ppm); err != nil {
				t.Fatal(err)
			}
		}
		m := c.Mono(at)
		if m <= last {
			t.Fatalf("step %d: mono went from %s to %s", i, last, m)
		}
		last = m
	}
}

func TestClockVirtual(t *testing.T) {
	cases := []struct {
		ppm  float64
		d    time.Duration
		want time.Duration
	}{
		{0, time.Second, time.Second},
		{1e5, 11 * time.Second, 10 * time.Second}, // 10 % fast: 11 local s in 10 virtual s
		{-1e5, 9 * time.Second, 10 * time.Second}, // 10 % slow
		{1000, 1001 * time.Millisecond, time.Second},
	}
	for _, tc := range cases {
		c := NewClock(testEpoch)
		if err := c.Set(0, 0, tc.ppm); err != nil {
			t.Fatal(err)
		}
		got := c.Virtual(tc.d)
		if got != tc.want {
			t.Errorf("ppm %v: Virtual(%s) got %s, want %s", tc.ppm, tc.d, got, tc.want)
		}
		if m := c.Mono(got); m < tc.d {
			t.Errorf("ppm %v: after Virtual(%s)=%s the local clock shows only %s", tc.ppm, tc.d, got, m)
		}
	}
}
