package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// configJSON is Config as saved in a run folder's config.json: durations as strings ("5s"),
// so people can read it and `faultline replay` can load it back.
type configJSON struct {
	Name            string            `json:"name,omitempty"`
	Runtime         string            `json:"runtime,omitempty"` // informational: where the run ran
	Nodes           int               `json:"nodes"`
	Store           storeConfigJSON   `json:"store"`
	Target          string            `json:"target,omitempty"`
	TargetOptions   map[string]string `json:"target_options,omitempty"`
	Workload        string            `json:"workload"`
	CRDT            bool              `json:"crdt"`
	CAS             float64           `json:"cas,omitempty"`
	Keys            int               `json:"keys"`
	KeyDist         string            `json:"key_dist"`
	Concurrency     int               `json:"concurrency"`
	Rate            float64           `json:"rate"`
	OpTimeout       string            `json:"op_timeout"`
	Nemesis         []string          `json:"nemesis"`
	NemesisInterval string            `json:"nemesis_interval"`
	ClockMax        string            `json:"clock_max"`
	DelayMax        string            `json:"delay_max"`
	LossMax         float64           `json:"loss_max"`
	Checks          []string          `json:"checks"`
	CheckTimeout    string            `json:"check_timeout"`
	Time            string            `json:"time"`
	Seed            int64             `json:"seed"`
	HealthWait      string            `json:"health_wait"`
	QuiesceMax      string            `json:"quiesce_max"`
	ResultsRoot     string            `json:"results_root"`
	NodeArgs        []string          `json:"node_args,omitempty"` // informational: the nodes' flags
	Sim             *simConfigJSON    `json:"sim,omitempty"`       // the sim runtime's network extras
}

type simConfigJSON struct {
	Duplicate float64 `json:"duplicate,omitempty"`
	Reorder   bool    `json:"reorder,omitempty"`
}

type storeConfigJSON struct {
	Mode          string `json:"mode"`
	Consistency   string `json:"consistency"`
	N             int    `json:"n"`
	W             int    `json:"w"`
	R             int    `json:"r"`
	ReadRepair    bool   `json:"read_repair"`
	AntiEntropy   string `json:"anti_entropy"`
	HintedHandoff bool   `json:"hinted_handoff"`
	SloppyQuorum  bool   `json:"sloppy_quorum"`
	Fsync         string `json:"fsync"`
	// Conflict and Topology are saved for multi-leader runs only (a leaderless store has
	// neither); a file without them loads DefaultConfig's.
	Conflict string `json:"conflict,omitempty"`
	Topology string `json:"topology,omitempty"`
}

// MarshalJSON encodes c as config.json does.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.toJSON("")) }

func (c Config) toJSON(runtime string) configJSON {
	s := c.Store
	j := configJSON{
		Name: c.Name, Runtime: runtime, Nodes: c.Nodes,
		Store: storeConfigJSON{
			Mode: s.Mode, Consistency: s.Consistency, N: s.N, W: s.W, R: s.R,
			ReadRepair: s.ReadRepair, AntiEntropy: s.AntiEntropy.String(), HintedHandoff: s.HintedHandoff,
			SloppyQuorum: s.SloppyQuorum, Fsync: s.Fsync,
		},
		Target: c.Target, TargetOptions: c.TargetOptions,
		Workload: c.Workload, CRDT: c.CRDT, CAS: c.CAS, Keys: c.Keys, KeyDist: c.KeyDist,
		Concurrency: c.Concurrency, Rate: c.Rate, OpTimeout: c.OpTimeout.String(),
		Nemesis: c.Nemesis, NemesisInterval: c.NemesisInterval.String(), ClockMax: c.ClockMax.String(),
		DelayMax: c.DelayMax.String(), LossMax: c.LossMax,
		Checks: c.Checks, CheckTimeout: c.CheckTimeout.String(), Time: c.Time.String(), Seed: c.Seed,
		HealthWait: c.HealthWait.String(), QuiesceMax: c.QuiesceMax.String(), ResultsRoot: c.ResultsRoot,
		NodeArgs: c.referenceNodeArgs(),
		Sim:      simJSON(c.Sim),
	}
	if s.Mode == "multileader" {
		j.Store.Conflict, j.Store.Topology = s.Conflict, s.Topology
	}
	return j
}

func simJSON(s SimConfig) *simConfigJSON {
	if s.IsZero() {
		return nil
	}
	return &simConfigJSON{Duplicate: s.Duplicate, Reorder: s.Reorder}
}

// UnmarshalJSON decodes config.json. Fields it lacks keep DefaultConfig's values, so older
// files still load; bad durations are errors naming the field.
func (c *Config) UnmarshalJSON(b []byte) error {
	d := DefaultConfig()
	j := d.toJSON("")
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("harness: config: %w", err)
	}
	var errs []error
	dur := func(field, s string, into *time.Duration) {
		v, err := time.ParseDuration(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("harness: config: %s %q: want a duration like 5s", field, s))
			return
		}
		*into = v
	}
	out := DefaultConfig()
	out.Name, out.Nodes = j.Name, j.Nodes
	out.Store.Mode, out.Store.Consistency = j.Store.Mode, j.Store.Consistency
	out.Store.N, out.Store.W, out.Store.R = j.Store.N, j.Store.W, j.Store.R
	out.Store.ReadRepair, out.Store.HintedHandoff, out.Store.SloppyQuorum = j.Store.ReadRepair, j.Store.HintedHandoff, j.Store.SloppyQuorum
	out.Store.Fsync = j.Store.Fsync
	if j.Store.Conflict != "" {
		out.Store.Conflict = j.Store.Conflict
	}
	if j.Store.Topology != "" {
		out.Store.Topology = j.Store.Topology
	}
	dur("store.anti_entropy", j.Store.AntiEntropy, &out.Store.AntiEntropy)
	out.Target, out.TargetOptions, out.CAS = j.Target, j.TargetOptions, j.CAS
	out.Workload, out.CRDT, out.Keys, out.KeyDist = j.Workload, j.CRDT, j.Keys, j.KeyDist
	out.Concurrency, out.Rate = j.Concurrency, j.Rate
	dur("op_timeout", j.OpTimeout, &out.OpTimeout)
	out.Nemesis = j.Nemesis
	dur("nemesis_interval", j.NemesisInterval, &out.NemesisInterval)
	dur("clock_max", j.ClockMax, &out.ClockMax)
	dur("delay_max", j.DelayMax, &out.DelayMax)
	out.LossMax = j.LossMax
	out.Checks = j.Checks
	dur("check_timeout", j.CheckTimeout, &out.CheckTimeout)
	dur("time", j.Time, &out.Time)
	out.Seed = j.Seed
	dur("health_wait", j.HealthWait, &out.HealthWait)
	dur("quiesce_max", j.QuiesceMax, &out.QuiesceMax)
	out.ResultsRoot = j.ResultsRoot
	if j.Sim != nil {
		out.Sim = SimConfig{Duplicate: j.Sim.Duplicate, Reorder: j.Sim.Reorder}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	*c = out
	return nil
}

// LoadConfig reads a run folder's config.json (or a config file) back into a Config.
func LoadConfig(path string) (Config, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = path + string(os.PathSeparator) + "config.json"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("harness: %w", err)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("harness: %s: %w", path, err)
	}
	return c, nil
}

// referenceNodeArgs are the reference store's node flags, for config.json; nil for another target.
func (c Config) referenceNodeArgs() []string {
	if c.TargetName() != ReferenceTarget {
		return nil
	}
	return c.NodeArgs()
}
