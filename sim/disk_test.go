package sim

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func put(t *testing.T, d *Disk, kvs ...string) {
	t.Helper()
	var b Batch
	for i := 0; i+1 < len(kvs); i += 2 {
		b.Put("data", kvs[i], []byte(kvs[i+1]))
	}
	if err := d.Write(&b); err != nil {
		t.Fatal(err)
	}
}

func TestDiskCrashLosesExactlyUnsynced(t *testing.T) {
	d := NewDisk(false, nil)
	put(t, d, "a", "1", "b", "2")
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	put(t, d, "a", "10")
	put(t, d, "c", "3")
	var del Batch
	del.Delete("data", "b")
	if err := d.Write(&del); err != nil {
		t.Fatal(err)
	}
	if got, want := d.live.dump(), "data/a=10;data/c=3;"; got != want {
		t.Errorf("before the crash, reads see: got %q, want %q", got, want)
	}
	if got := d.Unsynced(); got != 3 {
		t.Errorf("unsynced: got %d, want 3", got)
	}
	if lost := d.Crash(); lost != 3 {
		t.Errorf("lost: got %d batches, want 3", lost)
	}
	if _, _, err := d.Get("data", "a"); !errors.Is(err, ErrDiskDown) {
		t.Errorf("get on a crashed disk: got %v, want ErrDiskDown", err)
	}
	if err := d.Write(&del); !errors.Is(err, ErrDiskDown) {
		t.Errorf("write on a crashed disk: got %v, want ErrDiskDown", err)
	}
	d.Recover()
	if got, want := d.live.dump(), "data/a=1;data/b=2;"; got != want {
		t.Errorf("after the crash: got %q, want %q (the synced state)", got, want)
	}
	v, ok, err := d.Get("data", "b")
	if err != nil || !ok || string(v) != "2" {
		t.Errorf("get b: got %q %v %v, want 2", v, ok, err)
	}
	if s := d.Stats(); s.Crashes != 1 || s.LostBatches != 3 || s.Batches != 4 || s.Syncs != 1 {
		t.Errorf("stats: got %+v, want 4 batches, 1 sync, 1 crash, 3 lost", s)
	}
}

func TestDiskTornCrashKeepsAPrefix(t *testing.T) {
	seen := map[int]bool{}
	for seed := uint64(0); seed < 40; seed++ {
		d := NewDisk(true, NewRand(seed).Split("disk"))
		put(t, d, "base", "x")
		if err := d.Sync(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			put(t, d, fmt.Sprintf("k%d", i), "v")
		}
		lost := d.Crash()
		d.Recover()
		kept := 5 - lost
		seen[kept] = true
		want := "data/base=x;"
		for i := 0; i < kept; i++ {
			want += fmt.Sprintf("data/k%d=v;", i)
		}
		if got := d.live.dump(); got != want {
			t.Errorf("seed %d: kept %d: got %q, want %q (a prefix)", seed, kept, got, want)
		}
	}
	if len(seen) < 4 {
		t.Errorf("torn crashes over 40 seeds kept only prefixes of lengths %v; want variety", seen)
	}
}

func TestDiskIterateOrdered(t *testing.T) {
	d := NewDisk(false, nil)
	put(t, d, "m", "1", "b", "2", "z", "3", "a", "4")
	var del Batch
	del.Delete("data", "z")
	del.Delete("nobucket", "x")
	del.Put("other", "q", []byte("5"))
	if err := d.Write(&del); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		from  string
		limit int
		want  string
	}{
		{"", 10, "a b m"},
		{"b", 10, "b m"},
		{"c", 10, "m"},
		{"", 2, "a b"},
		{"zz", 10, ""},
	}
	for _, tc := range cases {
		var got []string
		err := d.Iterate("data", tc.from, func(k string, _ []byte) bool {
			got = append(got, k)
			return len(got) < tc.limit
		})
		if err != nil {
			t.Fatal(err)
		}
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("iterate from %q limit %d: got %q, want %q", tc.from, tc.limit, s, tc.want)
		}
	}
	if err := d.Iterate("missing", "", func(string, []byte) bool { t.Error("called"); return true }); err != nil {
		t.Fatal(err)
	}
}

func TestDiskValuesAreCopied(t *testing.T) {
	d := NewDisk(false, nil)
	v := []byte("abc")
	var b Batch
	b.Put("data", "k", v)
	v[0] = 'X'
	if err := d.Write(&b); err != nil {
		t.Fatal(err)
	}
	got, _, _ := d.Get("data", "k")
	got[1] = 'Y'
	again, _, _ := d.Get("data", "k")
	if string(again) != "abc" {
		t.Errorf("got %q, want abc (callers' slices must not alias the disk)", again)
	}
}

func TestDiskCommitPutDelete(t *testing.T) {
	d := NewDisk(false, nil)
	var b Batch
	b.Put("data", "a", []byte("1"))
	if err := d.Commit(&b, true); err != nil {
		t.Fatal(err)
	}
	if err := d.Put("data", "b", []byte("2")); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete("data", "a"); err != nil {
		t.Fatal(err)
	}
	var c Batch
	c.Put("data", "c", []byte("3"))
	if err := d.Commit(&c, false); err != nil {
		t.Fatal(err)
	}
	if got, want := d.live.dump(), "data/b=2;data/c=3;"; got != want {
		t.Errorf("before the crash: got %q, want %q", got, want)
	}
	if lost := d.Crash(); lost != 3 {
		t.Errorf("lost %d batches, want 3 (put, delete and the unsynced commit)", lost)
	}
	d.Recover()
	if got, want := d.live.dump(), "data/a=1;"; got != want {
		t.Errorf("after the crash: got %q, want %q (the synced commit only)", got, want)
	}
}
