package lint

import (
	"strconv"
	"strings"

	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/secrets"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Field names under which Subject.Found records what was masked.
func envField(i int) string      { return "config.Env[" + strconv.Itoa(i) + "]" }
func labelField(k string) string { return "config.Labels[" + k + "]" }
func historyField(i int) string  { return "history[" + strconv.Itoa(i) + "]" }

// subject is what config checks see of im: its configuration with every
// credential masked (secrets.Mask), once, before any check reads it, so
// that no check can show one as evidence. What was masked, and where, is
// in Found for the checks that report secrets.
func subject(im *image.Image) *Subject {
	s := &Subject{Kind: im.Ref.Kind, Tag: im.Tag, ByDigest: im.ByDigest, Found: map[string][]secrets.Found{}}
	if im.Config == nil {
		return s
	}
	cfg := *im.Config
	c := &cfg.Config
	// keep records what was masked out of a field (none for "").
	keep := func(field string, m secrets.Masked) string {
		if field != "" && len(m.Found) > 0 {
			s.Found[field] = m.Found
		}
		return m.Text
	}
	mask := func(field, text string) string { return keep(field, secrets.Mask(text)) }
	maskAll := func(words []string) []string {
		if words == nil {
			return nil
		}
		out := make([]string, len(words))
		for i, w := range words {
			out[i] = mask("", w)
		}
		return out
	}
	cfg.Author = mask("", cfg.Author)
	c.Env = make([]string, len(im.Config.Config.Env))
	for i, kv := range im.Config.Config.Env {
		k, v, ok := strings.Cut(kv, "=")
		v = keep(envField(i), secrets.MaskValue(k, v))
		c.Env[i] = k
		if ok {
			c.Env[i] += "=" + v
		}
	}
	if im.Config.Config.Labels != nil {
		c.Labels = make(map[string]string, len(im.Config.Config.Labels))
		for k, v := range im.Config.Config.Labels {
			c.Labels[k] = keep(labelField(k), secrets.MaskValue(k, v))
		}
	}
	c.Cmd, c.Entrypoint, c.Shell, c.OnBuild = maskAll(c.Cmd), maskAll(c.Entrypoint), maskAll(c.Shell), maskAll(c.OnBuild)
	c.User, c.WorkingDir = mask("", c.User), mask("", c.WorkingDir)
	if c.Healthcheck != nil {
		hc := *c.Healthcheck
		hc.Test = maskAll(hc.Test)
		c.Healthcheck = &hc
	}
	cfg.History = make([]v1.History, len(im.Config.History))
	for i, h := range im.Config.History {
		h.CreatedBy = mask(historyField(i), h.CreatedBy)
		h.Comment, h.Author = mask("", h.Comment), mask("", h.Author)
		cfg.History[i] = h
	}
	s.Config = &cfg
	return s
}
