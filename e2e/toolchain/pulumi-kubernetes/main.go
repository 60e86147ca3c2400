// Command pulumi-resource-kubernetes serves the Pulumi Kubernetes provider.
//
// It is the upstream provider library with a main of our own: the upstream main
// embeds schema-embed.json, a file generated at release time (the schema with its
// version set) that the module zip lacks. build.sh copies schema.json and
// terraform-mapping.json from the module cache next to this file before building;
// the version is set with -ldflags on .../pkg/version.Version and written into the
// schema here, as the upstream generator does.
package main

import (
	_ "embed"
	"encoding/json"
	"log"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema.json
var schemaJSON []byte

//go:embed terraform-mapping.json
var terraformMappingJSON []byte

func main() {
	var spec map[string]any
	if err := json.Unmarshal(schemaJSON, &spec); err != nil {
		log.Fatalf("cannot read the embedded schema: %v", err)
	}
	spec["version"] = version.Version
	schema, err := json.Marshal(spec)
	if err != nil {
		log.Fatalf("cannot write the schema: %v", err)
	}
	var mapping any
	if err := json.Unmarshal(terraformMappingJSON, &mapping); err != nil {
		log.Fatalf("cannot read the embedded terraform mapping: %v", err)
	}
	compactMapping, err := json.Marshal(mapping)
	if err != nil {
		log.Fatalf("cannot write the terraform mapping: %v", err)
	}
	provider.Serve("kubernetes", version.Version, schema, compactMapping)
}
