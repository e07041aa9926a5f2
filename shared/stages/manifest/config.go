package manifest

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// The configuration pieces every manifest stage shares. Each stage type's
// own configuration embeds them, so that one decode of the stage context
// gives a task its configuration and what earlier tasks recorded.

// accountConfig names the Kubernetes account a stage acts in. Spinnaker
// writes it as account, or as credentials in older pipelines.
type accountConfig struct {
	Account       string `json:"account"`
	Credentials   string `json:"credentials"`
	CloudProvider string `json:"cloudProvider"`
}

// check records what is wrong with the account. An account given by an
// expression is only known when the stage runs.
func (a *accountConfig) check(exprs stages.Expressions, p *stages.Problems) {
	if exprs.Has("account") || exprs.Has("credentials") {
		return
	}
	if a.CloudProvider != "" && a.CloudProvider != "kubernetes" && !exprs.Has("cloudProvider") {
		p.Add("cloudProvider", "manifest stages deploy to kubernetes, not %q", a.CloudProvider)
	}
	if a.name() == "" {
		p.Add("account", "is required (the Kubernetes account to act in)")
	}
}

func (a *accountConfig) name() string {
	if a.Account != "" {
		return a.Account
	}
	return a.Credentials
}

// account is the account to act in, or the error that says why there is
// none.
func (a *accountConfig) account() (string, error) {
	var p stages.Problems
	a.check(nil, &p)
	if err := p.Err(); err != nil {
		return "", err
	}
	return a.name(), nil
}

// config gives a task that several stage types plan (through stageState)
// the account of whichever configuration its stage decoded.
func (a *accountConfig) config() *accountConfig { return a }

// actedOn is what a manifest task records about the objects its stage
// acted on, in our shape (manifestRefs, which WaitForManifestStable and
// WaitOnJobCompletion read back) and in Spinnaker's
// (manifestNamesByNamespace, which users and later stages read).
type actedOn struct {
	ManifestRefs             []manifest.Ref      `json:"manifestRefs"`
	ManifestNamesByNamespace map[string][]string `json:"manifestNamesByNamespace"`
}

// actedOnRefs records refs; empty lists and maps stay empty rather than
// null, as Spinnaker writes them.
func actedOnRefs(refs []manifest.Ref) actedOn {
	a := actedOn{ManifestRefs: []manifest.Ref{}, ManifestNamesByNamespace: map[string][]string{}}
	for _, r := range refs {
		a.ManifestRefs = append(a.ManifestRefs, r)
		a.ManifestNamesByNamespace[r.Namespace] = append(a.ManifestNamesByNamespace[r.Namespace], r.String())
	}
	return a
}

// recorded gives a task the objects the stage acted on, whatever stage
// type's configuration they were decoded with.
func (a *actedOn) recorded() *actedOn { return a }

// stageState is a configuration with an account and recorded objects:
// what the tasks several stage types share (WaitForManifestStable) read.
type stageState interface {
	config() *accountConfig
	recorded() *actedOn
}

// targetConfig names the one object a stage acts on: manifestName
// ("deployment my-app") in location (the namespace; empty is the account's
// default). It is the whole configuration of rollingRestartManifest,
// enableManifest, disableManifest and findArtifactsFromResource, and part
// of scaleManifest's, patchManifest's, undoRolloutManifest's and
// deleteManifest's.
type targetConfig struct {
	accountConfig
	actedOn
	ManifestName string `json:"manifestName"`
	Location     string `json:"location"`
}

// check records what is wrong with the account and the target.
func (t *targetConfig) check(exprs stages.Expressions, p *stages.Problems) {
	t.accountConfig.check(exprs, p)
	if exprs.Has("manifestName") {
		return
	}
	if _, err := t.ref(); err != nil {
		addErr(p, err)
	}
}

// ref is the object acted on, its namespace empty when location is.
func (t *targetConfig) ref() (manifest.Ref, error) {
	if t.ManifestName == "" {
		return manifest.Ref{}, fieldErr("manifestName", "is required (such as \"deployment my-app\")")
	}
	ref, err := manifest.ParseRef(t.ManifestName, t.Location)
	if err != nil {
		return manifest.Ref{}, fieldErr("manifestName", "%q is not \"<kind> <name>\" (such as \"deployment my-app\")", t.ManifestName)
	}
	return ref, nil
}

// target is a configuration that acts on one object, with checks of its
// own fields beside the target's.
type target interface {
	stageState
	checker
	target() *targetConfig
}

func (t *targetConfig) target() *targetConfig { return t }

// fieldError is a mistake in one configuration field. It is an error so
// that a task fails with the words validation uses: "path: message".
type fieldError model.Problem

func (e *fieldError) Error() string { return model.Problem(*e).String() }

func fieldErr(path, format string, args ...any) error {
	return &fieldError{Path: path, Message: fmt.Sprintf(format, args...)}
}

// addErr records err as a problem at its field's path.
func addErr(p *stages.Problems, err error) {
	var fe *fieldError
	if errors.As(err, &fe) {
		*p = append(*p, model.Problem(*fe))
		return
	}
	p.Add("", "%v", err)
}

// checker is a stage type's configuration, which checks itself.
type checker interface {
	// check records every problem of the configuration; exprs are the
	// paths of values only known when the stage runs (none when it runs).
	check(exprs stages.Expressions, p *stages.Problems)
}

// decode decodes a running stage's context into cfg, a pointer to an empty
// configuration, for Configurer.Config. A field of the wrong shape is an
// error with its JSON path.
func decode(s *model.StageExecution, cfg checker) (any, error) {
	if err := stages.Decode(s.Context, cfg).Err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// validate decodes a saved stage's configuration into cfg, a pointer to an
// empty configuration, and checks it. A field that could not be decoded is
// reported once, as the decoder found it, not again as missing.
func validate(s *model.Stage, cfg checker) []model.Problem {
	exprs, p := stages.DecodeConfig(s, cfg)
	var checked stages.Problems
	cfg.check(exprs, &checked)
	for _, c := range checked {
		if !slices.ContainsFunc(p, func(d model.Problem) bool { return d.Path == c.Path }) {
			p = append(p, c)
		}
	}
	return p
}

// succeeded ends a task successfully, recording context and outputs (nil:
// none).
func succeeded(context, outputs any) stages.Result {
	r := stages.Result{Status: model.StatusSucceeded}
	if context != nil {
		r.Context = stages.Record(context)
	}
	if outputs != nil {
		r.Outputs = stages.Record(outputs)
	}
	return r
}
