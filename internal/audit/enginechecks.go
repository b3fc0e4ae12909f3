package audit

import (
	"net"
	"slices"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
)

// EngineChecks judge the configuration of the engines d found: CIS
// section 2 (daemon configuration) where the engine's API or its
// command line and daemon.json show the setting, and what the benchmark
// leaves out (rootless mode, engine and runtime versions with known
// escapes).
func EngineChecks(d *Discovery) []Check {
	docker := []string{"docker"}
	cfg := func(f func(e *Engine, c *DaemonConfig) Outcome) func(Probe) Outcome {
		return func(Probe) Outcome {
			return d.eachEngine(docker, func(e *Engine) Outcome {
				if e.Config == nil {
					return undecided("its dockerd process is not visible to this user (run as root), so its flags and daemon.json are unknown")
				}
				if e.Config.Problem != "" {
					return undecided(e.Config.Problem)
				}
				return f(e, e.Config)
			})
		}
	}
	checks := []Check{
		queryCheck(d),
		check("engine-rootless", "2.1, 2.9", finding.SeverityMedium, "The engine runs rootless or remaps container root",
			"An engine running as root with container root mapped to host root turns every container escape into root on the host. Rootless engines (dockerd-rootless, rootless Podman) and dockerd --userns-remap map container root to an unprivileged host user. CIS 2.1 and 2.9 (user namespace support).",
			"Run the engine rootless (dockerd-rootless-setuptool.sh install, or podman as an ordinary user) or set \"userns-remap\": \"default\" in daemon.json.",
			func(Probe) Outcome {
				return d.eachEngine(nil, func(e *Engine) Outcome {
					switch {
					case e.Rootless():
						return pass("rootless")
					case e.UsernsRemap():
						return pass("rootful with user namespace remapping")
					case e.rootlessProblem != "":
						return undecided("cannot tell whether it is rootless: " + e.rootlessProblem)
					}
					return fail("rootful, container root is host root", "SecurityOptions: "+strings.Join(e.Info.SecurityOptions, " "))
				})
			}),
		check("engine-icc", "2.2", finding.SeverityMedium, "Containers on the default bridge cannot talk to each other",
			"CIS 2.2: with inter-container communication on (the default), every container on the default bridge reaches every other one's ports.",
			"Set \"icc\": false in daemon.json and connect the containers that must talk through user-defined networks.",
			func(Probe) Outcome {
				return d.eachEngine(docker, func(e *Engine) Outcome {
					if e.bridgeProblem != "" {
						return undecided("cannot read the default bridge: " + e.bridgeProblem)
					}
					switch e.BridgeICC {
					case "":
						return pass("no default bridge network (--bridge=none)")
					case "false":
						return pass("enable_icc false on the default bridge")
					}
					return fail("inter-container communication is enabled on the default bridge", "network bridge: com.docker.network.bridge.enable_icc="+e.BridgeICC)
				})
			}),
		check("engine-log-level", "2.3", finding.SeverityLow, "The daemon logs at level info",
			"CIS 2.3: debug logging records more than needed (request bodies, environment), and error or fatal loses the events an incident needs.",
			"Remove --log-level or set \"log-level\": \"info\".",
			cfg(func(e *Engine, c *DaemonConfig) Outcome {
				lvl, set := c.Get("log-level")
				switch {
				case e.Info.Debug || c.Bool("debug", false):
					return fail("debug mode is on", c.Source()+": debug")
				case !set || lvl == "info":
					return pass("log level info")
				}
				return fail("log level "+lvl, c.Source()+": log-level="+lvl)
			})),
		check("engine-iptables", "2.4", finding.SeverityMedium, "The daemon manages iptables",
			"CIS 2.4: with --iptables=false dockerd leaves the firewall rules published ports and networks need to the administrator, and they are easily wrong.",
			"Remove --iptables=false (and \"iptables\": false from daemon.json).",
			cfg(func(e *Engine, c *DaemonConfig) Outcome {
				if !c.Bool("iptables", true) {
					return fail("iptables=false", c.Source()+": iptables=false")
				}
				return pass("iptables managed by dockerd")
			})),
		check("engine-insecure-registries", "2.5", finding.SeverityHigh, "No insecure registries are configured",
			"CIS 2.5: an insecure registry is reached over plain HTTP or TLS without verification, so anyone on the path can serve other images. Loopback (127.0.0.0/8, ::1) is Docker's default and not counted.",
			"Remove insecure-registries from daemon.json (and --insecure-registry flags) and give the registry a certificate the engine trusts (/etc/docker/certs.d/HOST/ca.crt).",
			func(Probe) Outcome {
				return d.eachEngine(nil, func(e *Engine) Outcome {
					var bad []string
					for _, cidr := range e.Info.RegistryConfig.InsecureRegistryCIDRs {
						if !loopbackCIDR(cidr) {
							bad = append(bad, cidr)
						}
					}
					for name, ic := range e.Info.RegistryConfig.IndexConfigs {
						if !ic.Secure && !isLoopback(name) {
							bad = append(bad, name)
						}
					}
					if e.Podman != nil {
						for _, r := range e.Podman.InsecureRegistries {
							if !isLoopback(r) && !slices.Contains(bad, r) {
								bad = append(bad, r)
							}
						}
					}
					slices.Sort(bad)
					if len(bad) > 0 {
						return fail("insecure registries: "+strings.Join(bad, ", "), "RegistryConfig: "+strings.Join(bad, ", "))
					}
					return pass("only loopback registries may be insecure")
				})
			}),
		check("engine-storage-driver", "2.6", finding.SeverityMedium, "The aufs storage driver is not used",
			"CIS 2.6: aufs is unmaintained, out of the mainline kernel and has known flaws.",
			"Move to overlay2 (\"storage-driver\": \"overlay2\"); images must be pulled again.",
			func(Probe) Outcome {
				return d.eachEngine(nil, func(e *Engine) Outcome {
					if e.Info.Driver == "aufs" {
						return fail("storage driver aufs", "Driver: aufs")
					}
					return pass("storage driver " + e.Info.Driver)
				})
			}),
		check("engine-default-ulimit", "2.8", finding.SeverityLow, "A default ulimit is configured",
			"CIS 2.8 (manual): a daemon-wide default ulimit (open files, processes) bounds what one container can take when its run sets none.",
			"Set \"default-ulimits\" in daemon.json, for example {\"nofile\": {\"Name\": \"nofile\", \"Hard\": 64000, \"Soft\": 64000}}.",
			cfg(func(e *Engine, c *DaemonConfig) Outcome {
				if u := c.List("default-ulimits"); len(u) > 0 {
					return pass("default ulimits " + strings.Join(u, ", "))
				}
				return warn("no default ulimit: containers inherit the daemon's limits", c.Source()+": default-ulimits unset")
			})),
		check("engine-cgroup-parent", "2.10", finding.SeverityLow, "The default cgroup parent is not changed",
			"CIS 2.10: --cgroup-parent moves every container under another cgroup, out of the limits the administrator set for the engine's.",
			"Remove \"cgroup-parent\" from daemon.json unless it is deliberate and that cgroup is limited.",
			cfg(func(e *Engine, c *DaemonConfig) Outcome {
				if v, ok := c.Get("cgroup-parent"); ok {
					return warn("cgroup parent "+v, c.Source()+": cgroup-parent="+v)
				}
				return pass("default cgroup parent")
			})),
		check("engine-base-device-size", "2.11", finding.SeverityLow, "The base device size is not changed",
			"CIS 2.11: a larger dm.basesize lets every container fill more of the host's storage.",
			"Remove dm.basesize from storage-opts.",
			cfg(func(e *Engine, c *DaemonConfig) Outcome {
				for _, o := range c.List("storage-opts") {
					if strings.HasPrefix(o, "dm.basesize") {
						return warn(o, c.Source()+": storage-opts "+o)
					}
				}
				return pass("dm.basesize not set")
			})),
		check("engine-swarm", "5.1", finding.SeverityLow, "Swarm mode is off unless needed",
			"CIS 5.1: swarm mode opens management ports (2377) and a gossip network; leave it off on hosts that are not swarm nodes. hull does not audit swarm settings (CIS section 7).",
			"docker swarm leave on hosts that need not be swarm nodes.",
			func(Probe) Outcome {
				return d.eachEngine(docker, func(e *Engine) Outcome {
					if e.Info.SwarmActive() {
						return warn("swarm mode is "+e.Info.Swarm.LocalNodeState+" (CIS section 7 is not audited by hull)", "Swarm.LocalNodeState: "+e.Info.Swarm.LocalNodeState)
					}
					return pass("swarm mode inactive")
				})
			}),
		check("engine-authz-plugin", "2.12", finding.SeverityLow, "Client commands go through an authorization plugin",
			"CIS 2.12: without an authorization plugin anyone who reaches the socket may do everything. Note CVE-2024-41110: AuthZ plugins were bypassable on unpatched engines (see engine-known-escapes).",
			"Install an authorization plugin (--authorization-plugin) or put a filtering proxy in front of the socket.",
			func(Probe) Outcome {
				return d.eachEngine(docker, func(e *Engine) Outcome {
					if len(e.Info.Plugins.Authorization) > 0 {
						return pass("authorization plugins " + strings.Join(e.Info.Plugins.Authorization, ", "))
					}
					return warn("no authorization plugin: socket access is all-or-nothing", "Plugins.Authorization: none")
				})
			}),
		check("engine-remote-logging", "2.13", finding.SeverityLow, "Container logs go to a central log service",
			"CIS 2.13: logs kept only on the host (json-file, local) are lost with it and can be altered by whoever takes it.",
			"Set \"log-driver\" to syslog, journald, gelf, fluentd or another remote driver with its log-opts.",
			func(Probe) Outcome {
				return d.eachEngine(docker, func(e *Engine) Outcome {
					switch e.Info.LoggingDriver {
					case "json-file", "local", "none", "":
						return warn("log driver "+e.Info.LoggingDriver+" keeps logs on this host", "LoggingDriver: "+e.Info.LoggingDriver)
					}
					return pass("log driver " + e.Info.LoggingDriver)
				})
			}),
		check("engine-no-new-privileges", "2.14", finding.SeverityMedium, "Containers cannot gain new privileges by default",
			"CIS 2.14: with no-new-privileges the kernel ignores setuid bits and file capabilities in containers, which closes the usual way up from an unprivileged container user. dockerd: daemon.json or --no-new-privileges; Podman: containers.conf [containers] no_new_privileges.",
			"Set \"no-new-privileges\": true in daemon.json, or no_new_privileges = true under [containers] in containers.conf.",
			func(Probe) Outcome {
				return d.eachEngine(nil, func(e *Engine) Outcome {
					switch {
					case e.Config == nil && e.Podman == nil:
						return undecided("the engine's process is not visible to this user (run as root), so its configuration is unknown")
					case e.NoNewPrivilegesDefault():
						// The configuration says so; the kernel says whether
						// the engine applied it (Podman 4.3 ignores
						// containers.conf's no_new_privileges).
						if without := e.withoutNoNewPrivs(); len(without) > 0 {
							return fail("the configuration sets no-new-privileges but the engine did not apply it", "running without no_new_privs, not asked for: "+listed(without))
						}
						if e.Podman != nil && len(e.Podman.Problems) > 0 {
							// A file it could not read may turn it off.
							return undecided(strings.Join(e.Podman.Problems, "; "))
						}
						return pass("no-new-privileges is the default")
					case e.Config != nil:
						return fail("no-new-privileges is not set daemon-wide", e.Config.Source()+": no-new-privileges unset")
					}
					if e.Podman.noNewPrivilegesFrom != "" {
						return fail("no-new-privileges is off in containers.conf", e.Podman.noNewPrivilegesFrom+": no_new_privileges = false (read last of "+strings.Join(e.Podman.Files, ", ")+")")
					}
					return fail("no-new-privileges is not set in containers.conf", strings.Join(e.Podman.Files, ", "))
				})
			}),
		check("engine-image-trust", "4.5", finding.SeverityHigh, "The engine only runs images whose signatures it verified",
			"CIS 4.5 asks for content trust. Podman, Buildah, skopeo and CRI-O enforce containers-policy.json; a default of insecureAcceptAnything runs any image from anywhere. dockerd verifies no signatures itself: put hull's policy in front (hull verify before docker run, or the containerd image verifier).",
			"Write policy.json from hull's trust policy (hull policy export --to containers) with a default of reject; for Docker, verify images with hull verify before they run.",
			func(Probe) Outcome {
				return d.eachEngine(nil, func(e *Engine) Outcome {
					if e.Kind == "docker" {
						return warn("dockerd verifies no image signatures", "Docker Engine has no signature policy of its own")
					}
					switch {
					case e.Podman == nil:
						return undecided("the Podman service process is not visible to this user, so its policy.json is unknown")
					case len(e.Podman.Problems) > 0:
						return undecided(strings.Join(e.Podman.Problems, "; "))
					case e.Podman.PolicyFile == "":
						return fail("no policy.json: containers tools refuse to pull, or the packaging default applies", "no /etc/containers/policy.json")
					case e.Podman.PolicyDefault == "insecureAcceptAnything":
						return fail("policy.json accepts any image from registries by default", e.Podman.PolicyFile+": default for the docker transport insecureAcceptAnything")
					case len(e.Podman.AcceptAnything) > 0:
						return fail("policy.json accepts any image from "+strings.Join(e.Podman.AcceptAnything, ", "),
							e.Podman.PolicyFile+": insecureAcceptAnything for the docker transport's scopes "+strings.Join(e.Podman.AcceptAnything, ", "))
					}
					return pass(e.Podman.PolicyFile + ": default " + e.Podman.PolicyDefault)
				})
			}),
		check("engine-live-restore", "2.15", finding.SeverityLow, "Live restore is enabled",
			"CIS 2.15: with live restore, containers keep running while dockerd stops or is upgraded, so security updates of the daemon do not wait for a maintenance window.",
			"Set \"live-restore\": true in daemon.json (not with swarm mode).",
			func(Probe) Outcome {
				return d.eachEngine(docker, func(e *Engine) Outcome {
					if e.Info.SwarmActive() {
						return skip("swarm mode is active; live restore does not apply")
					}
					if e.Info.LiveRestore {
						return pass("live restore enabled")
					}
					return fail("live restore disabled", "LiveRestoreEnabled: false")
				})
			}),
		check("engine-userland-proxy", "2.16", finding.SeverityLow, "The userland proxy is disabled",
			"CIS 2.16: docker-proxy, one process per published port, adds attack surface that hairpin NAT makes unnecessary.",
			"Set \"userland-proxy\": false in daemon.json.",
			cfg(func(e *Engine, c *DaemonConfig) Outcome {
				if c.Bool("userland-proxy", true) {
					return fail("the userland proxy is on (the default)", c.Source()+": userland-proxy unset or true")
				}
				return pass("userland-proxy=false")
			})),
		check("engine-seccomp", "2.17", finding.SeverityHigh, "The daemon applies a seccomp profile to containers",
			"CIS 2.17: containers get the engine's default seccomp profile (or a custom one) unless told otherwise; a daemon-wide \"unconfined\" removes it from every container.",
			"Remove \"seccomp-profile\": \"unconfined\" (or set a custom profile file).",
			func(Probe) Outcome {
				return d.eachEngine(nil, func(e *Engine) Outcome {
					params, ok := e.Info.SecurityOption("seccomp")
					switch {
					// Podman's /info says profile=default whatever its
					// containers.conf says.
					case e.Kind == "podman" && e.Podman == nil:
						return undecided("the Podman service process is not visible to this user, so its containers.conf (seccomp_profile) is unknown")
					case e.Kind == "podman" && len(e.Podman.Problems) > 0:
						return undecided(strings.Join(e.Podman.Problems, "; "))
					case !ok:
						return fail("the engine reports no seccomp support", "SecurityOptions: "+strings.Join(e.Info.SecurityOptions, " "))
					case slices.Contains(params, "profile=unconfined"):
						return fail("the daemon-wide seccomp profile is unconfined", "SecurityOptions: name=seccomp,"+strings.Join(params, ","))
					case e.Podman != nil && e.Podman.seccompUnconfinedFrom != "":
						o := fail("containers.conf turns seccomp off for every container", e.Podman.seccompUnconfinedFrom+`: seccomp_profile = "unconfined"`)
						o.Fix = `Remove seccomp_profile = "unconfined" from ` + e.Podman.seccompUnconfinedFrom + "."
						return o
					}
					return pass("seccomp " + strings.Join(params, ","))
				})
			}),
		check("engine-experimental", "2.18", finding.SeverityLow, "Experimental features are off",
			"CIS 2.18: experimental features are not supported and change between releases; they do not belong in production.",
			"Remove --experimental (\"experimental\": false).",
			func(Probe) Outcome {
				return d.eachEngine(docker, func(e *Engine) Outcome {
					if e.Info.ExperimentalBuild || e.Version.Experimental {
						return fail("experimental features enabled", "ExperimentalBuild: true")
					}
					return pass("experimental off")
				})
			}),
	}
	checks = append(checks, EscapeCheck(d))
	checks = append(checks, HostEngineChecks(d)...)
	return append(checks, FileChecks(d)...)
}

// loopbackCIDR reports whether an insecure-registry CIDR lies in loopback.
func loopbackCIDR(cidr string) bool {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return false
	}
	ones, _ := n.Mask.Size()
	return n.IP.IsLoopback() && ones >= 8
}
