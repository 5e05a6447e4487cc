package record

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/sim"
)

func TestRecordStampsVirtualTime(t *testing.T) {
	w, err := sim.New(sim.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	h := New(w)
	w.At(5*time.Millisecond, "invoke", func() {
		h.Record(history.Op{Process: 1, Type: history.Invoke, F: history.FWrite, Value: history.Int(3)})
	})
	w.At(7*time.Millisecond, "ok", func() {
		h.Record(history.Op{Process: 1, Type: history.OK, F: history.FWrite, Value: history.Int(3)})
	})
	w.Run(time.Second)
	ops := h.Ops()
	if len(ops) != 2 || ops[0].Index != 0 || ops[0].Time != 5e6 || ops[1].Index != 1 || ops[1].Time != 7e6 {
		t.Fatalf("got %+v, want indexes 0, 1 at 5ms and 7ms", ops)
	}
	var b bytes.Buffer
	if err := h.WriteJSONL(&b); err != nil {
		t.Fatal(err)
	}
	want := `{"index":0,"time":5000000,"process":1,"type":"invoke","f":"write","value":3}` + "\n" +
		`{"index":1,"time":7000000,"process":1,"type":"ok","f":"write","value":3}` + "\n"
	if b.String() != want {
		t.Errorf("jsonl:\ngot  %swant %s", b.String(), want)
	}
	if sum := sha256.Sum256(b.Bytes()); hex.EncodeToString(sum[:]) != h.Sum() {
		t.Errorf("Sum %s is not the sha256 of the JSON lines", h.Sum())
	}
}
