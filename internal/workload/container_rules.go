package workload

// containerRules are the checks `hull audit containers` runs.
func containerRules() []Rule { return nil }
