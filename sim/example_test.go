package sim_test

import (
	"fmt"
	"time"

	"github.com/faultline/faultline/sim"
)

// pinger answers every "ping" with a "pong" and prints what it gets.
type pinger struct{ env *sim.Env }

func (p *pinger) Receive(m sim.Message) {
	fmt.Printf("%s: %s got %s from %s\n", p.env.Now().Format("15:04:05.000000"), p.env.ID(), m.Kind, m.From)
	if m.Kind == "ping" {
		p.env.Send(m.From, "pong", nil)
	}
}

func ExampleWorld() {
	cfg := sim.DefaultConfig()
	cfg.Net.Latency = sim.Latency{Base: time.Millisecond} // constant, for a readable example
	w, _ := sim.New(cfg)
	boot := func(env *sim.Env) sim.Program { return &pinger{env: env} }
	a, _ := w.AddNode("a", boot)
	_, _ = w.AddNode("b", boot)
	_ = w.SetClock("b", time.Hour, 0) // b's wall clock is an hour ahead

	w.At(0, "ping", func() { w.Node("a").Program().(*pinger).env.Send("b", "ping", nil) })
	w.At(10*time.Millisecond, "cut", func() { _ = w.Partition(map[string][]string{"b": {"a"}}) })
	w.At(20*time.Millisecond, "ping", func() { w.Node("a").Program().(*pinger).env.Send("b", "ping", nil) })
	w.Run(time.Second)
	fmt.Println("a is", a.State(), "and the network dropped", w.NetStats().Partition, "message")
	// Output:
	// 01:00:00.001000: b got ping from a
	// 00:00:00.002000: a got pong from b
	// a is up and the network dropped 1 message
}

func ExampleDisk() {
	d := sim.NewDisk(false, nil)
	var b sim.Batch
	b.Put("data", "k1", []byte("synced"))
	_ = d.Write(&b)
	_ = d.Sync() // durable from here

	var b2 sim.Batch
	b2.Put("data", "k2", []byte("not synced"))
	b2.Delete("data", "k1")
	_ = d.Write(&b2) // visible, not durable

	lost := d.Crash()
	d.Recover()
	_ = d.Iterate("data", "", func(k string, v []byte) bool {
		fmt.Printf("%s=%s\n", k, v)
		return true
	})
	fmt.Println("lost batches:", lost)
	// Output:
	// k1=synced
	// lost batches: 1
}
