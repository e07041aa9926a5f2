package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
)

// client-go's discovery client and REST mappers link client-go's scheme,
// which registers every built-in API group: half the size of a Lambda
// function. The provider needs only the discovery documents, so it reads
// them itself and builds its REST mapper from apimachinery's, as
// client-go's discovery REST mapper does.

// rawClient is a REST client for paths the dynamic client does not reach
// (discovery, pod logs). It knows metav1's types only, which is all it
// decodes (a Status in an error answer).
func rawClient(rc *rest.Config) (rest.Interface, error) {
	scheme := runtime.NewScheme()
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	cfg := rest.CopyConfig(rc)
	cfg.APIPath = "/api"
	cfg.GroupVersion = &schema.GroupVersion{Version: "v1"}
	cfg.NegotiatedSerializer = serializer.WithoutConversionCodecFactory{CodecFactory: serializer.NewCodecFactory(scheme)}
	return rest.UnversionedRESTClientFor(cfg)
}

// discoveryMapper resolves kinds and resources from the API server's
// discovery documents, read at first use and again after Reset (for CRDs
// created since).
type discoveryMapper struct {
	client rest.Interface
	mu     sync.Mutex
	mapper meta.RESTMapper
}

var _ meta.ResettableRESTMapper = (*discoveryMapper)(nil)

func (d *discoveryMapper) Reset() {
	d.mu.Lock()
	d.mapper = nil
	d.mu.Unlock()
}

func (d *discoveryMapper) delegate() (meta.RESTMapper, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mapper != nil {
		return d.mapper, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := d.load(ctx)
	if err != nil {
		return nil, err
	}
	d.mapper = m
	return m, nil
}

func (d *discoveryMapper) get(ctx context.Context, path string, v any) error {
	b, err := d.client.Get().AbsPath(path).DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("discovery %s: %w", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("discovery %s: %w", path, err)
	}
	return nil
}

// load reads /api and /apis and every group version's resources, and
// builds a mapper that prefers the core group and each group's preferred
// version, as kubectl resolves a bare kind.
func (d *discoveryMapper) load(ctx context.Context) (meta.RESTMapper, error) {
	type group struct {
		name     string
		versions []string // preferred first
	}
	var core metav1.APIVersions
	if err := d.get(ctx, "/api", &core); err != nil {
		return nil, err
	}
	groups := []group{{name: "", versions: core.Versions}}
	var list metav1.APIGroupList
	if err := d.get(ctx, "/apis", &list); err != nil {
		return nil, err
	}
	for _, g := range list.Groups {
		vs := []string{g.PreferredVersion.Version}
		for _, v := range g.Versions {
			if v.Version != g.PreferredVersion.Version {
				vs = append(vs, v.Version)
			}
		}
		groups = append(groups, group{name: g.Name, versions: vs})
	}
	var unionMapper meta.MultiRESTMapper
	var resourcePriority []schema.GroupVersionResource
	var kindPriorityKinds []schema.GroupVersionKind
	for _, g := range groups {
		var gvs []schema.GroupVersion
		for _, v := range g.versions {
			gvs = append(gvs, schema.GroupVersion{Group: g.name, Version: v})
		}
		versionMapper := meta.NewDefaultRESTMapper(gvs)
		for _, gv := range gvs {
			path := "/apis/" + gv.String()
			if g.name == "" {
				path = "/api/" + gv.Version
			}
			var resources metav1.APIResourceList
			if err := d.get(ctx, path, &resources); err != nil {
				return nil, err
			}
			for _, r := range resources.APIResources {
				if strings.Contains(r.Name, "/") {
					continue // a subresource
				}
				scope := meta.RESTScopeRoot
				if r.Namespaced {
					scope = meta.RESTScopeNamespace
				}
				plural := gv.WithResource(r.Name)
				singular := gv.WithResource(r.SingularName)
				if r.SingularName == "" {
					singular = gv.WithResource(strings.ToLower(r.Kind))
				}
				versionMapper.AddSpecific(gv.WithKind(r.Kind), plural, singular, scope)
				versionMapper.AddSpecific(gv.WithKind(r.Kind+"List"), plural, singular, scope)
			}
			resourcePriority = append(resourcePriority, schema.GroupVersionResource{Group: gv.Group, Version: gv.Version, Resource: meta.AnyResource})
			kindPriorityKinds = append(kindPriorityKinds, schema.GroupVersionKind{Group: gv.Group, Version: gv.Version, Kind: meta.AnyKind})
		}
		unionMapper = append(unionMapper, versionMapper)
	}
	for _, g := range groups {
		resourcePriority = append(resourcePriority, schema.GroupVersionResource{Group: g.name, Version: meta.AnyVersion, Resource: meta.AnyResource})
		kindPriorityKinds = append(kindPriorityKinds, schema.GroupVersionKind{Group: g.name, Version: meta.AnyVersion, Kind: meta.AnyKind})
	}
	return meta.PriorityRESTMapper{Delegate: unionMapper, ResourcePriority: resourcePriority, KindPriority: kindPriorityKinds}, nil
}

func (d *discoveryMapper) KindFor(r schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	m, err := d.delegate()
	if err != nil {
		return schema.GroupVersionKind{}, err
	}
	return m.KindFor(r)
}

func (d *discoveryMapper) KindsFor(r schema.GroupVersionResource) ([]schema.GroupVersionKind, error) {
	m, err := d.delegate()
	if err != nil {
		return nil, err
	}
	return m.KindsFor(r)
}

func (d *discoveryMapper) ResourceFor(r schema.GroupVersionResource) (schema.GroupVersionResource, error) {
	m, err := d.delegate()
	if err != nil {
		return schema.GroupVersionResource{}, err
	}
	return m.ResourceFor(r)
}

func (d *discoveryMapper) ResourcesFor(r schema.GroupVersionResource) ([]schema.GroupVersionResource, error) {
	m, err := d.delegate()
	if err != nil {
		return nil, err
	}
	return m.ResourcesFor(r)
}

func (d *discoveryMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	m, err := d.delegate()
	if err != nil {
		return nil, err
	}
	return m.RESTMapping(gk, versions...)
}

func (d *discoveryMapper) RESTMappings(gk schema.GroupKind, versions ...string) ([]*meta.RESTMapping, error) {
	m, err := d.delegate()
	if err != nil {
		return nil, err
	}
	return m.RESTMappings(gk, versions...)
}

func (d *discoveryMapper) ResourceSingularizer(resource string) (string, error) {
	m, err := d.delegate()
	if err != nil {
		return "", err
	}
	return m.ResourceSingularizer(resource)
}
