package workload

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
)

// manifestRules are what deployment files add to the container rules:
// settings a file should state because the orchestrator's default is
// the unsafe one (Kubernetes allows privilege escalation and mounts a
// service account token unless told otherwise), and what a file fixes
// before anything runs (which image, which requests). They judge the
// same Workload fields the container rules do; where a container rule
// already says a thing (privileged, capabilities, host namespaces,
// mounts, seccomp, read-only root...), no rule here says it again.
func manifestRules() []Rule {
	return []Rule{
		{Rule: finding.Rule{ID: "workload-resource-limits", Severity: finding.SeverityMedium,
			Title: "Containers set memory and CPU limits and requests",
			Doc: "Without a memory limit one container can take the node's memory, without a CPU limit its CPU; without requests the scheduler " +
				"places it blind and the kubelet evicts it first under pressure (kube-score's container-resources). A request left out " +
				"defaults to the limit in Kubernetes, so a limit alone satisfies this rule (workload-resource-requests asks for the requests written).",
			Remediation: "Set resources.limits.memory and resources.limits.cpu (and requests where they should be lower) on every container; " +
				"in Compose, deploy.resources.limits (memory, cpus) and deploy.resources.reservations."},
			Stages: StageFile, Judge: judgeResources},
		{Rule: finding.Rule{ID: "workload-privilege-escalation", Severity: finding.SeverityMedium,
			Title: "Containers may not gain privileges (allowPrivilegeEscalation: false)",
			Doc: "Kubernetes lets a container's processes gain privileges through setuid programs and file capabilities unless " +
				"allowPrivilegeEscalation is false, which sets the kernel's no_new_privs flag; a privileged container or one with " +
				"CAP_SYS_ADMIN can always escalate. A file should say it, not rely on an engine's setting.",
			Remediation: "Set securityContext.allowPrivilegeEscalation: false on the container (and drop privileged and SYS_ADMIN); " +
				"in Compose, security_opt: [\"no-new-privileges:true\"]."},
			Stages: StageFile, Judge: judgePrivilegeEscalation},
		{Rule: finding.Rule{ID: "workload-run-as-non-root", Severity: finding.SeverityMedium,
			Title: "Containers must run as a non-root user (runAsNonRoot: true or a non-zero runAsUser)",
			Doc: "Without runAsNonRoot: true or a numeric non-root user the container runs as whatever user its image names, often root. " +
				"runAsNonRoot makes the kubelet refuse to start a container whose user is 0, and contradicts a runAsUser of 0: " +
				"such a container never starts. On Kubernetes a non-zero runAsUser without runAsNonRoot: true is a warning: " +
				"the pod runs as that user, but Pod Security's restricted profile refuses it (trivy KSV-0012).",
			Remediation: "Set securityContext.runAsNonRoot: true and runAsUser to a non-zero UID (pod or container level); " +
				"in Compose, user: \"UID:GID\" with a non-zero UID."},
			Stages: StageFile, Judge: judgeRunAsNonRoot},
		{Rule: finding.Rule{ID: "workload-service-account-token", Severity: finding.SeverityLow,
			Title: "Pods that do not call the Kubernetes API do not mount a service account token",
			Doc: "Kubernetes mounts the pod's service account token into every container unless automountServiceAccountToken is false " +
				"(on the pod or its ServiceAccount); anyone who takes over the container can then call the API with the account's rights.",
			Remediation: "Set spec.automountServiceAccountToken: false on the pod (or on its ServiceAccount) unless it needs the API. " +
				"Compose has no such token."},
			Stages: StageFile, Judge: judgeServiceAccountToken},
		{Rule: finding.Rule{ID: "workload-host-port", Severity: finding.SeverityMedium,
			Title: "Pods do not bind host ports",
			Doc: "A hostPort (or any port of a hostNetwork pod) opens the port on the node's addresses, outside the Service and " +
				"NetworkPolicy that guard the pod, and limits where the scheduler can place it. Compose files publish every port on " +
				"the host by design; the container rules list those.",
			Remediation: "Remove ports[].hostPort (and hostNetwork) and expose the pod through a Service; in Compose, publish " +
				"ports only on 127.0.0.1 unless clients elsewhere need them."},
			Stages: StageFile, Judge: judgeHostPort},
		{Rule: finding.Rule{ID: "workload-image-latest", Severity: finding.SeverityMedium,
			Title: "Images are named with a version tag, not :latest or no tag",
			Doc: "An image without a tag is :latest, which changes under the same name: two nodes can run different code, and a " +
				"rollback returns to whatever the tag points at now (kube-score's container-image-tag).",
			Remediation: "Name a version tag (image: app:1.4.2), or better a digest (app@sha256:...), in the container's image field " +
				"or Compose's image key."},
			Stages: StageFile | StageRequest, Judge: judgeImageLatest},
		{Rule: finding.Rule{ID: "workload-image-digest", Severity: finding.SeverityLow,
			Title: "Images are pinned by digest",
			Doc: "A tag can be moved to another image by whoever can push to the repository; only a digest (@sha256:...) names " +
				"exactly the image that was reviewed, scanned and signed.",
			Remediation: "Pin the image by digest in the container's image field or Compose's image key " +
				"(app:1.4.2@sha256:...); let a bot such as Renovate update it."},
			Stages: StageFile | StageRequest, Judge: judgeImageDigest},
	}
}

func judgeResources(_ *Env, w *Workload) Verdict {
	r := w.Resources
	var limits, requests []string
	setting := ""
	if r.Memory <= 0 {
		limits, setting = append(limits, "memory limit"), SetMemory
	}
	if r.NanoCPUs <= 0 && r.CPUQuota <= 0 {
		limits = append(limits, "CPU limit")
		if setting == "" {
			setting = SetCPU
		}
	}
	if r.MemoryRequest <= 0 && r.Memory <= 0 {
		requests = append(requests, "memory request")
	}
	if r.CPURequest <= 0 && r.NanoCPUs <= 0 && r.CPUQuota <= 0 {
		requests = append(requests, "CPU request")
	}
	missing := append(limits, requests...)
	if len(missing) == 0 {
		return Verdict{}
	}
	return Verdict{State: finding.StateFail, Evidence: "no " + strings.Join(missing, ", "), Setting: setting}
}

func judgePrivilegeEscalation(_ *Env, w *Workload) Verdict {
	if w.NoNewPrivileges != nil && *w.NoNewPrivileges {
		return Verdict{}
	}
	why := "privilege escalation allowed (allowPrivilegeEscalation is not false)"
	if _, ok := w.Source.Fields[SetNoNewPrivileges]; !ok {
		why = "privilege escalation allowed: the file does not set allowPrivilegeEscalation: false (or no-new-privileges)"
	}
	switch {
	case w.Privileged:
		why = "privilege escalation allowed: the container is privileged"
	case slices.ContainsFunc(w.CapAdd, grantsSysAdmin):
		why = "privilege escalation allowed: the container adds SYS_ADMIN"
	}
	return Verdict{State: finding.StateFail, Evidence: why, Setting: SetNoNewPrivileges}
}

// grantsSysAdmin reports whether capability c (as the model writes it)
// includes CAP_SYS_ADMIN.
func grantsSysAdmin(c string) bool { return c == "SYS_ADMIN" || c == "ALL" }

func judgeRunAsNonRoot(_ *Env, w *Workload) Verdict {
	name, _ := userGroup(w)
	uid, err := strconv.ParseInt(name, 10, 64)
	numeric := err == nil
	switch {
	case w.RunAsNonRoot != nil && *w.RunAsNonRoot && numeric && uid == 0:
		return Verdict{State: finding.StateFail, Setting: SetUser,
			Evidence: "runAsNonRoot is true but the user is 0: Kubernetes refuses to start the container"}
	case w.RunAsNonRoot != nil && *w.RunAsNonRoot:
		return Verdict{}
	case numeric && uid > 0 && IsKubernetesKind(w.Source.Kind):
		// Not root, but nothing refuses a later edit that drops the
		// user: Pod Security's restricted profile (and trivy's
		// KSV-0012) want runAsNonRoot: true as well.
		return Verdict{State: finding.StateWarn, Setting: SetRunAsNonRoot,
			Evidence: fmt.Sprintf("runs as user %d, but runAsNonRoot is not true: Pod Security's restricted profile refuses the pod", uid)}
	case numeric && uid > 0:
		return Verdict{}
	case numeric:
		return Verdict{State: finding.StateFail, Setting: SetUser, Evidence: "runs as user 0 (root)"}
	case name != "":
		return Verdict{State: finding.StateWarn, Setting: SetUser,
			Evidence: fmt.Sprintf("user %q is a name: only a numeric non-zero user or runAsNonRoot proves it is not root", name)}
	case w.RunAsNonRoot != nil:
		return Verdict{State: finding.StateFail, Setting: SetRunAsNonRoot, Evidence: "runAsNonRoot is false and no user is set: runs as the image's user"}
	}
	return Verdict{State: finding.StateFail, Setting: SetRunAsNonRoot, Evidence: "neither runAsNonRoot nor a non-root user is set: runs as the image's user"}
}

func judgeServiceAccountToken(_ *Env, w *Workload) Verdict {
	if w.ServiceAccountToken == nil || !*w.ServiceAccountToken {
		return Verdict{}
	}
	why := "the service account token is mounted (automountServiceAccountToken is not false)"
	if _, ok := w.Source.Fields[SetServiceAccountToken]; ok {
		why = "the service account token is mounted (automountServiceAccountToken: true)"
	}
	return Verdict{State: finding.StateFail, Evidence: why, Setting: SetServiceAccountToken}
}

func judgeHostPort(_ *Env, w *Workload) Verdict {
	if !IsKubernetesKind(w.Source.Kind) {
		return Verdict{}
	}
	var bad []string
	setting := ""
	for i, p := range w.Ports {
		if p.HostPort == "" || p.HostPort == "0" {
			continue
		}
		bad = append(bad, fmt.Sprintf("host port %s/%s to %s", p.HostPort, p.Protocol, p.ContainerPort))
		if setting == "" {
			setting = itemKey(SetPorts, i)
		}
	}
	if len(bad) == 0 {
		return Verdict{}
	}
	return Verdict{State: finding.StateFail, Evidence: strings.Join(bad, ", "), Setting: setting}
}

// imageParts splits an image reference into its tag and digest ("" when
// absent): the tag follows the last ":" of the last path component,
// so a registry's port is no tag.
func imageParts(ref string) (tag, digest string) {
	ref, digest, _ = strings.Cut(ref, "@")
	last := ref[strings.LastIndex(ref, "/")+1:]
	if i := strings.LastIndex(last, ":"); i >= 0 {
		tag = last[i+1:]
	}
	return tag, digest
}

func judgeImageLatest(_ *Env, w *Workload) Verdict {
	if w.Image == "" {
		return Verdict{}
	}
	tag, digest := imageParts(w.Image)
	switch {
	case digest != "":
		return Verdict{} // the digest decides what runs
	case tag == "":
		return Verdict{State: finding.StateFail, Evidence: fmt.Sprintf("image %s has no tag (:latest)", w.Image), Setting: SetImage}
	case tag == "latest":
		return Verdict{State: finding.StateFail, Evidence: "image " + w.Image, Setting: SetImage}
	}
	return Verdict{}
}

func judgeImageDigest(_ *Env, w *Workload) Verdict {
	if w.Image == "" {
		return Verdict{}
	}
	if _, digest := imageParts(w.Image); digest != "" {
		return Verdict{}
	}
	return Verdict{State: finding.StateWarn, Evidence: "image " + w.Image + " is not pinned by digest", Setting: SetImage}
}
