package testenv

import (
	"os"
	"path/filepath"
	"testing"

	"go.podman.io/image/v5/types"
)

// ContainersImageContext is a containers/image (the library podman,
// skopeo and CRI-O use, a test-only oracle here) system context that
// talks plain HTTP to loopback registries, reads the registries.d
// directory regD, and no configuration of this machine.
func ContainersImageContext(t testing.TB, regD string) *types.SystemContext {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "registries.conf")
	if err := os.WriteFile(conf, nil, 0o644); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return &types.SystemContext{
		RegistriesDirPath:           regD,
		SystemRegistriesConfPath:    conf,
		SystemRegistriesConfDirPath: filepath.Join(dir, "registries.conf.d"),
		AuthFilePath:                filepath.Join(dir, "auth.json"),
		SignaturePolicyPath:         filepath.Join(dir, "no-policy.json"),
		BigFilesTemporaryDir:        dir,
		DockerInsecureSkipTLSVerify: types.OptionalBoolTrue,
	}
}
