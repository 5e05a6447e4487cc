package sim

import (
	"strings"
	"testing"
	"time"
)

func TestPauseHoldsMessagesAndTimersUntilResume(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Net.Latency = Latency{Base: time.Millisecond}
	w, p := newWorld(t, cfg, "a", "b")
	var fired []time.Duration
	p["b"].env.After(5*time.Millisecond, "tick", func() { fired = append(fired, w.Now()) })
	if err := w.Pause("b"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		p["a"].env.Send("b", "m", i)
	}
	w.Run(50 * time.Millisecond)
	if n := len(p["b"].got); n != 0 || len(fired) != 0 {
		t.Fatalf("paused: got %d messages and %d timers run, want none", n, len(fired))
	}
	if s := w.NetStats(); s.Held != 3 {
		t.Errorf("held: got %d, want 3", s.Held)
	}
	if got := w.Node("b").State(); got != Paused {
		t.Errorf("state: got %s, want paused", got)
	}
	w.At(60*time.Millisecond, "resume", func() { _ = w.Resume("b") })
	w.Run(60 * time.Millisecond)
	got := p["b"].got
	if len(got) != 3 || inversions(got) != 0 {
		t.Fatalf("after resume: got ids %v, want the 3 messages in order", ids(got))
	}
	if len(fired) != 1 || fired[0] != 60*time.Millisecond {
		t.Errorf("timer: fired at %v, want once at 60ms", fired)
	}
}

func TestCrashDropsInFlightAndVolatileState(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Net.Latency = Latency{Base: 10 * time.Millisecond}
	cfg.Disk = DiskConfig{WriteLatency: time.Millisecond, SyncLatency: time.Millisecond}
	w, p := newWorld(t, cfg, "a", "b")
	old := p["b"]
	var done []string
	put := func(key string, sync bool) {
		var bt Batch
		bt.Put("data", key, []byte("v"))
		old.env.Persist(&bt, sync, func(err error) {
			if err != nil {
				t.Errorf("persist %s: %v", key, err)
			}
			done = append(done, key)
		})
	}
	put("synced", true)
	w.Run(5 * time.Millisecond)
	put("unsynced", false)     // completes, never synced
	put("sync-too-late", true) // the crash comes before its sync
	w.Run(6 * time.Millisecond)
	tickFired := false
	old.env.After(20*time.Millisecond, "tick", func() { tickFired = true })
	p["a"].env.Send("b", "in-flight", nil) // arrives at 16ms
	w.At(6500*time.Microsecond, "crash", func() { _ = w.Crash("b") })
	w.At(8*time.Millisecond, "send-to-down", func() { p["a"].env.Send("b", "to-down", nil) })
	w.At(9*time.Millisecond, "restart", func() { _ = w.Restart("b") })
	w.Run(time.Second)
	if strings.Join(done, " ") != "synced unsynced" {
		t.Errorf("persist callbacks: got %v, want synced and unsynced (the third was cut by the crash)", done)
	}
	if tickFired {
		t.Error("a crashed incarnation's timer fired")
	}
	if len(old.got) != 0 || len(p["b"].got) != 0 {
		t.Errorf("messages to b: old incarnation got %d, new %d; want 0 and 0 (in flight across a crash)", len(old.got), len(p["b"].got))
	}
	if s := w.NetStats(); s.Crashed != 2 {
		t.Errorf("crash drops: got %d, want 2", s.Crashed)
	}
	if p["b"] == old || p["b"].env.Incarnation() != 2 || w.Node("b").Incarnation() != 2 {
		t.Errorf("after restart: want a new program, incarnation 2; got %d", w.Node("b").Incarnation())
	}
	if got := w.Node("b").Disk().live.dump(); got != "data/synced=v;" {
		t.Errorf("disk after restart: got %q, want only the synced write", got)
	}
	if id := old.env.Send("a", "ghost", nil); id != 0 {
		t.Errorf("a dead incarnation sent message %d; want nothing", id)
	}
	p["b"].env.Send("a", "alive", nil)
	w.Run(2 * time.Second)
	if n := len(p["a"].got); n != 1 {
		t.Errorf("new incarnation's message: a got %d, want 1", n)
	}
}

func TestEnvClock(t *testing.T) {
	w, p := newWorld(t, DefaultConfig(), "a")
	env := p["a"].env
	w.Run(10 * time.Second)
	if err := w.SetClock("a", -3*time.Second, 1000); err != nil {
		t.Fatal(err)
	}
	w.Run(20 * time.Second)
	epoch := DefaultConfig().Epoch
	if got, want := env.Now().Sub(epoch), 17*time.Second+10*time.Millisecond; got != want {
		t.Errorf("wall: got epoch+%s, want epoch+%s", got, want)
	}
	if got, want := env.Mono(), 20*time.Second+10*time.Millisecond; got != want {
		t.Errorf("mono: got %s, want %s", got, want)
	}
	if got := env.Time(); got != w.Now() || got != 20*time.Second {
		t.Errorf("Time: got %s, want the world's virtual time %s (20s)", got, w.Now())
	}
	var at time.Duration
	env.After(1001*time.Millisecond, "t", func() { at = w.Now() })
	w.Run(time.Minute)
	if at != 21*time.Second {
		t.Errorf("timer of 1001ms local on a +1000ppm clock: fired at %s, want 21s", at)
	}
	if err := w.SetClock("zz", 0, 0); err == nil {
		t.Error("unknown node: got no error")
	}
}

func TestAddNodeValidation(t *testing.T) {
	w, _ := newWorld(t, DefaultConfig(), "a")
	boot := func(env *Env) Program { return &recorder{env: env} }
	for _, id := range []string{"", "a", "x y", "p>q"} {
		if _, err := w.AddNode(id, boot); err == nil {
			t.Errorf("AddNode(%q): got no error", id)
		}
	}
	if _, err := w.AddNode("b", nil); err == nil {
		t.Error("AddNode without Boot: got no error")
	}
	cfg := DefaultConfig()
	cfg.Net.Loss = 2
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "loss (2)") {
		t.Errorf("loss 2: got %v, want an error naming it", err)
	}
}

func TestHeldMessagesDroppedByACrashAfterResume(t *testing.T) {
	w, p := newWorld(t, DefaultConfig(), "a", "b")
	_ = w.Pause("b")
	p["a"].env.Send("b", "m", nil)
	p["a"].env.Send("b", "m", nil)
	w.At(60*time.Millisecond, "resume", func() { _ = w.Resume("b") })
	// scheduled before the resume re-queues what b held, so it fires first
	w.At(60*time.Millisecond, "crash", func() { _ = w.Crash("b") })
	w.Run(time.Second)
	if s := w.NetStats(); s.Held != 2 || s.Crashed != 2 || s.Delivered != 0 {
		t.Errorf("stats %+v: want 2 held, then 2 dropped by the crash, none delivered", s)
	}
}
