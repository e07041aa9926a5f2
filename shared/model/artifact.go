package model

// Artifact is a Spinnaker artifact: a reference to something deployable or
// readable (an image, a file, a manifest, a command for the local provider).
type Artifact struct {
	Type            string         `json:"type,omitempty"`
	Name            string         `json:"name,omitempty"`
	Version         string         `json:"version,omitempty"`
	Location        string         `json:"location,omitempty"`
	Reference       string         `json:"reference,omitempty"`
	Metadata        map[string]any `json:"metadata,omitempty"`
	ArtifactAccount string         `json:"artifactAccount,omitempty"`
	Provenance      string         `json:"provenance,omitempty"`
	UUID            string         `json:"uuid,omitempty"`
	Extra           Extra          `json:"-"`
}

type artifactJSON Artifact

// UnmarshalJSON keeps fields gennaker does not know.
func (a *Artifact) UnmarshalJSON(b []byte) error {
	var v artifactJSON
	extra, err := decodeWithExtra(b, &v)
	if err != nil {
		return err
	}
	*a = Artifact(v)
	a.Extra = extra
	return nil
}

// MarshalJSON writes back the fields gennaker does not know.
func (a Artifact) MarshalJSON() ([]byte, error) {
	return encodeWithExtra(artifactJSON(a), a.Extra)
}

// ExpectedArtifact declares an artifact a pipeline expects from its trigger.
type ExpectedArtifact struct {
	ID                 string    `json:"id,omitempty"`
	DisplayName        string    `json:"displayName,omitempty"`
	MatchArtifact      *Artifact `json:"matchArtifact,omitempty"`
	DefaultArtifact    *Artifact `json:"defaultArtifact,omitempty"`
	UseDefaultArtifact bool      `json:"useDefaultArtifact,omitempty"`
	UsePriorArtifact   bool      `json:"usePriorArtifact,omitempty"`
	Extra              Extra     `json:"-"`
}

type expectedArtifactJSON ExpectedArtifact

// UnmarshalJSON keeps fields gennaker does not know.
func (a *ExpectedArtifact) UnmarshalJSON(b []byte) error {
	var v expectedArtifactJSON
	extra, err := decodeWithExtra(b, &v)
	if err != nil {
		return err
	}
	*a = ExpectedArtifact(v)
	a.Extra = extra
	return nil
}

// MarshalJSON writes back the fields gennaker does not know.
func (a ExpectedArtifact) MarshalJSON() ([]byte, error) {
	return encodeWithExtra(expectedArtifactJSON(a), a.Extra)
}
