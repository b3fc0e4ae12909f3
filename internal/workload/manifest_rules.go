package workload

// manifestRules are what deployment files add to the container rules.
func manifestRules() []Rule { return nil }
