package checker

// Applies reports whether the checker named check can judge histories of workload (register,
// set or counter), so a harness can refuse `--checks lost-updates` on a register run before
// it starts a cluster instead of reporting unknown at the end. Linearizability (with the
// register, set or counter model) and convergence apply to every workload.
func Applies(check, workload string) bool {
	switch check {
	case Linearizable, Convergence:
		return true
	case LostUpdates:
		return workload == WorkloadSet
	case LostIncrements, CounterBounds:
		return workload == WorkloadCounter
	case Staleness:
		return workload == WorkloadRegister
	}
	return false
}
