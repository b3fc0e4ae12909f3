package workload

// Env is what the rules need to know of the host a workload runs on; the
// zero Env is a host hull knows nothing about (a file judged anywhere).
type Env struct{}
