package finding

// Verdict is a trust decision about one image: which rule applied, every
// signature found and why each did or did not count, and the outcome.
type Verdict struct {
	// Target is the image as the user named it.
	Target string `json:"target"`
	// Reference is the canonical reference the decision is about.
	Reference string `json:"reference"`
	// Digest is the manifest digest the reference resolved to, once.
	Digest string `json:"digest"`
	// Rule is the scope of the policy rule applied, or "default".
	Rule     string `json:"rule"`
	Accepted bool   `json:"accepted"`
	// Cached is true when the verdict came from the verdict cache.
	Cached     bool             `json:"cached,omitempty"`
	Reason     string           `json:"reason"`
	Signatures []SignatureCheck `json:"signatures"`
}

// SignatureCheck is one signature found for an image and what became of it.
type SignatureCheck struct {
	// Format names the signature format, e.g. "simple-signing".
	Format string `json:"format"`
	// Location is where it was found (a path or URL).
	Location string `json:"location"`
	// Signer identifies who made it (a key fingerprint), when known.
	Signer string `json:"signer,omitempty"`
	Valid  bool   `json:"valid"`
	Reason string `json:"reason"`
}
