package store

import (
	"context"
)

// deliverHints offers every stored hint to its target; delivered hints are deleted.
//
// What a failed delivery means decides what happens next:
//   - the target is unreachable (no answer, connection refused) or turns every request away
//     (401, 403, 404, ...): the hint stays pending and the target's other hints wait for the next
//     round;
//   - the target refused this hint as invalid (400, 409 kind conflict, 413, 422; locally, a kind
//     conflict): it would refuse it forever, so the hint is set aside as a dead hint, counted
//     (hint_refused), logged and kept where GET /admin/hints/dead lists it, and the round goes on;
//   - the target answered a server error (5xx) or this node's storage failed: the hint stays
//     pending, and the round goes on with the next hint.
func (l *Leaderless) deliverHints(ctx context.Context) {
	hints, err := l.db.hints()
	if err != nil {
		l.log.Warn().Err(err).Msg("reading hints")
		return
	}
	pending := int64(len(hints))
	l.stats.counter("hint_pending").Store(pending)
	defer func() { l.stats.counter("hint_pending").Store(pending) }()
	var round hintRound
	for _, h := range hints {
		if ctx.Err() != nil {
			return
		}
		if round.skip(h.Target) {
			continue
		}
		var err error
		if h.Target == l.cfg.ID {
			_, err = l.applyLocal(h.Key, h.Rec)
		} else {
			cctx, cancel := context.WithTimeout(ctx, l.cfg.RequestTimeout)
			err = l.call(cctx, h.Target, "/internal/write", writeReq{Key: h.Key, Record: h.Rec}, nil)
			cancel()
		}
		switch round.record(h.Target, hintFate(answerOf(err))) {
		case hintDelivered:
			if err := l.db.deleteHint(h); err != nil {
				l.log.Warn().Err(err).Msg("deleting a delivered hint")
				continue
			}
			pending--
			l.stats.Inc("hint_delivered")
		case hintRefused:
			l.stats.Inc("hint_refused")
			moved, serr := l.db.setAsideHint(h, err.Error(), l.clock.Now())
			if serr != nil {
				l.log.Warn().Err(serr).Str("key", h.Key).Str("target", h.Target).Msg("setting a refused hint aside")
				continue
			}
			if moved {
				pending--
				l.log.Warn().Err(err).Str("key", h.Key).Str("target", h.Target).
					Msg("hint refused by its target as invalid: set aside as a dead hint (GET /admin/hints/dead)")
			}
		case hintRetry, hintTargetDown:
		}
	}
}
