package workloads

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/history"
)

// FinalReads reads every key of the workload once, after the cluster has healed, recorded as
// ordinary read ops (invoke and completion) by fresh processes numbered from cfg.FinalProcess
// (DefaultFinalProcess if 0), one process per try. A try that fails or is indeterminate is
// retried up to cfg.FinalTries times in all, every try recorded, with a short pause between
// tries. It returns an error naming the keys that got no ok read, or ctx's error if ctx ended.
func FinalReads(ctx context.Context, cfg Config, newClient func(process int) (Client, string), rec Recorder, log zerolog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if newClient == nil || rec == nil {
		return errors.New("workloads: final reads: newClient and rec must not be nil")
	}
	process := cfg.FinalProcess
	if process == 0 {
		process = DefaultFinalProcess
	}
	var missing []string
	for _, key := range KeyNames(cfg) {
		ok := false
		for try := range cfg.FinalTries {
			if try > 0 {
				t := time.NewTimer(time.Duration(try) * 100 * time.Millisecond)
				select {
				case <-ctx.Done():
					t.Stop()
					return fmt.Errorf("workloads: final reads: %w", ctx.Err())
				case <-t.C:
				}
			}
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("workloads: final reads: %w", err)
			}
			c, node := newClient(process)
			inv := history.Op{Process: history.Process(process), Type: history.Invoke, F: history.FRead, Key: key, Node: node}
			process++
			rec.Record(inv)
			opCtx, cancel := context.WithTimeout(ctx, cfg.OpTimeout)
			var causal string
			res := readKey(opCtx, &cfg, c, key, &causal)
			cancel()
			rec.Record(res.completion(inv))
			if res.typ == history.OK {
				ok = true
				break
			}
			log.Debug().Str("key", key).Int("try", try+1).Str("type", string(res.typ)).Err(res.err).Msg("final read did not succeed")
		}
		if !ok {
			missing = append(missing, key)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("workloads: final reads: no ok read of %d key(s) after %d tries each: %s",
			len(missing), cfg.FinalTries, strings.Join(missing, ","))
	}
	return nil
}
