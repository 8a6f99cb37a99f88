package models

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
)

// namedManifest is the text of one manifest file and the name it is imported under.
type namedManifest struct {
	name, text string
}

// importFiles decodes every file and imports them together, returning the first error.
func importFiles(db *gorm.DB, files ...namedManifest) (ImportReport, error) {
	decoded := make([]ManifestFile, len(files))
	for i, f := range files {
		file, err := DecodeManifest(f.name, strings.NewReader(f.text))
		if err != nil {
			return ImportReport{}, err
		}
		decoded[i] = file
	}
	return Import(context.Background(), db, decoded...)
}

const lifecycleList = "(one of CREATION_COMPLETE, DEPLOYMENT_IN_PROGRESS, DEPLOYMENT_FAILED, DEPLOYMENT_COMPLETE, " +
	"ROLLBACK_IN_PROGRESS, ROLLBACK_FAILED, ROLLBACK_COMPLETE, DELETION_IN_PROGRESS, DELETION_FAILED)"

// seedShop is the data some import-error cases start from.
const seedShop = `
projects:
  - id: shop
    stacks:
      - name: web
        id: 4d4f4ece-b291-4c71-8083-bec9b8a44de0
        status: DEPLOYMENT_COMPLETE
        create_time: 2023-05-17T07:34:22Z
        services:
          - {name: nginx, state: DEPLOYED, status: RUNNING, domains: [shop.example.com], image: {name: nginx, tag: "1.25"}}
      - name: db
        services:
          - {name: postgres, state: DEPLOYED, status: RUNNING, image: {name: postgres}}
products:
  - name: storefront
    layers: [[db], [web]]
`

func TestImportErrors(t *testing.T) {
	tests := []struct {
		name string
		// seed, when set, is imported before the bad files.
		seed  string
		files []namedManifest
		// want is the whole error message.
		want string
	}{
		{
			name:  "bad project id",
			files: []namedManifest{{"bad.yaml", "projects:\n  - id: ab\n"}},
			want:  `bad.yaml: projects[0].id: "ab" is 2 characters long; at least 3 are needed`,
		},
		{
			name:  "project id with a space",
			files: []namedManifest{{"bad.yaml", "projects:\n  - id: shop\n  - id: my shop\n"}},
			want:  `bad.yaml: projects[1].id: "my shop" may contain only letters, digits, '_' and '-'`,
		},
		{
			name:  "missing project id",
			files: []namedManifest{{"bad.yaml", "projects:\n  - stacks: [{name: web}]\n"}},
			want:  `bad.yaml: projects[0].id: is required`,
		},
		{
			name:  "bad stack name",
			files: []namedManifest{{"bad.yaml", "projects:\n  - id: shop\n    stacks:\n      - name: web\n      - name: 2nd-web\n"}},
			want:  `bad.yaml: projects[0].stacks[1].name: "2nd-web" must start with a letter and contain only letters, digits, '_' and '-'`,
		},
		{
			name: "bad lifecycle status (the issue's example)",
			files: []namedManifest{{"bad.yaml", `
projects:
  - id: shop
    stacks:
      - name: web
      - name: db
      - name: cache
        status: RUNING
`}},
			want: `bad.yaml: projects[0].stacks[2].status: "RUNING" is not a lifecycle status ` + lifecycleList,
		},
		{
			name:  "lifecycle status in lower case",
			files: []namedManifest{{"bad.yaml", "projects:\n  - id: shop\n    stacks:\n      - name: web\n        status: deployment_complete\n"}},
			want:  `bad.yaml: projects[0].stacks[0].status: "deployment_complete" is not a lifecycle status ` + lifecycleList,
		},
		{
			name:  "description too long",
			files: []namedManifest{{"bad.yaml", "projects:\n  - id: shop\n    stacks:\n      - name: web\n        description: " + strings.Repeat("x", 1025) + "\n"}},
			want:  `bad.yaml: projects[0].stacks[0].description: is 1025 characters long; at most 1024 are allowed`,
		},
		{
			name:  "stack id not a UUID",
			files: []namedManifest{{"bad.yaml", "projects:\n  - id: shop\n    stacks:\n      - name: web\n        id: web-1\n"}},
			want:  `bad.yaml: projects[0].stacks[0].id: "web-1" is not a UUID of 36 characters`,
		},
		{
			name: "bad service state",
			files: []namedManifest{{"bad.yaml", `
projects:
  - id: shop
    stacks:
      - name: web
        services:
          - {name: nginx, state: UP, status: RUNNING, image: {name: nginx}}
`}},
			want: `bad.yaml: projects[0].stacks[0].services[0].state: "UP" is not a service state ` +
				`(one of CREATING, SCALING, AUTO-UPDATING, MANUAL-UPDATING, STARTING, STOPPING, STOPPED, DEPLOYED)`,
		},
		{
			name: "bad service status",
			files: []namedManifest{{"bad.yaml", `
projects:
  - id: shop
    stacks:
      - name: web
        services:
          - {name: nginx, state: DEPLOYED, status: RUNNING, image: {name: nginx}}
          - {name: php, state: DEPLOYED, status: running, image: {name: php}}
`}},
			want: `bad.yaml: projects[0].stacks[0].services[1].status: "running" is not a run status (one of RUNNING, PARTIALLY-RUNNING, NOT-RUNNING, FAULT)`,
		},
		{
			name: "missing service state",
			files: []namedManifest{{"bad.yaml", `
projects:
  - id: shop
    stacks:
      - name: web
        services:
          - {name: nginx, status: RUNNING, image: {name: nginx}}
`}},
			want: `bad.yaml: projects[0].stacks[0].services[0].state: is required ` +
				`(one of CREATING, SCALING, AUTO-UPDATING, MANUAL-UPDATING, STARTING, STOPPING, STOPPED, DEPLOYED)`,
		},
		{
			name: "bad service domain",
			files: []namedManifest{{"bad.yaml", `
projects:
  - id: shop
    stacks:
      - name: web
        services:
          - {name: nginx, state: DEPLOYED, status: RUNNING, domains: [a.example.com, "https://b.example.com"], image: {name: nginx}}
`}},
			want: `bad.yaml: projects[0].stacks[0].services[0].domains[1]: "https://b.example.com" is not a host name`,
		},
		{
			name: "service without an image",
			files: []namedManifest{{"bad.yaml", `
projects:
  - id: shop
    stacks:
      - name: web
        services:
          - {name: nginx, state: DEPLOYED, status: RUNNING}
`}},
			want: `bad.yaml: projects[0].stacks[0].services[0].image.name: is required`,
		},
		{
			name: "duplicate stack in a project",
			files: []namedManifest{{"bad.yaml", `
projects:
  - id: shop
    stacks:
      - name: web
      - name: db
      - name: web
`}},
			want: `bad.yaml: projects[0].stacks[2].name: stack "web" of project "shop" is already described at projects[0].stacks[0]`,
		},
		{
			name: "duplicate stack in two entries of one project",
			files: []namedManifest{{"bad.yaml", `
projects:
  - id: shop
    stacks: [{name: web}]
  - id: shop
    stacks: [{name: web}]
`}},
			want: `bad.yaml: projects[1].stacks[0].name: stack "web" of project "shop" is already described at projects[0].stacks[0]`,
		},
		{
			name: "duplicate service in a stack",
			files: []namedManifest{{"bad.yaml", `
projects:
  - id: shop
    stacks:
      - name: web
        services:
          - {name: nginx, state: DEPLOYED, status: RUNNING, image: {name: nginx}}
          - {name: php, state: DEPLOYED, status: RUNNING, image: {name: php}}
          - {name: nginx, state: DEPLOYED, status: RUNNING, image: {name: nginx}}
`}},
			want: `bad.yaml: projects[0].stacks[0].services[2].name: service "nginx" is already described at services[0]`,
		},
		{
			name:  "bad create_time",
			files: []namedManifest{{"bad.yaml", "projects:\n  - id: shop\n    stacks:\n      - name: web\n        create_time: yesterday\n"}},
			want:  `bad.yaml: projects[0].stacks[0].create_time: "yesterday" is not an RFC 3339 time such as 2023-05-17T07:34:22Z`,
		},
		{
			name:  "update_time without a time zone",
			files: []namedManifest{{"bad.yaml", "projects:\n  - id: shop\n    stacks:\n      - name: web\n        update_time: \"2023-05-17 07:34:22\"\n"}},
			want:  `bad.yaml: projects[0].stacks[0].update_time: "2023-05-17 07:34:22" is not an RFC 3339 time such as 2023-05-17T07:34:22Z`,
		},
		{
			name: "update_time before create_time",
			files: []namedManifest{{"bad.yaml", `
projects:
  - id: shop
    stacks:
      - name: web
        create_time: 2023-05-17T07:34:22Z
        update_time: 2023-05-17T07:34:21Z
`}},
			want: `bad.yaml: projects[0].stacks[0].update_time: 2023-05-17T07:34:21Z is before create_time 2023-05-17T07:34:22Z`,
		},
		{
			name: "update_time before the existing stack's create_time",
			seed: seedShop,
			files: []namedManifest{{"bad.yaml", `
projects:
  - id: shop
    stacks:
      - name: web
        update_time: 2023-01-01T00:00:00Z
`}},
			want: `bad.yaml: projects[0].stacks[0].update_time: 2023-01-01T00:00:00Z would be before create_time 2023-05-17T07:34:22Z`,
		},
		{
			name:  "metadata a list",
			files: []namedManifest{{"bad.yaml", "projects:\n  - id: shop\n    stacks:\n      - name: web\n        metadata: [a, b]\n"}},
			want:  `bad.yaml: projects[0].stacks[0].metadata: must be a JSON object or null`,
		},
		{
			name:  "metadata a string",
			files: []namedManifest{{"bad.yaml", "projects:\n  - id: shop\n    stacks:\n      - name: web\n        metadata: \"{owner: me}\"\n"}},
			want:  `bad.yaml: projects[0].stacks[0].metadata: must be a JSON object or null`,
		},
		{
			name:  "metadata with a key twice",
			files: []namedManifest{{"bad.yaml", "projects:\n  - id: shop\n    stacks:\n      - name: web\n        metadata: {a: 1, a: 2}\n"}},
			want:  `bad.yaml: projects[0].stacks[0].metadata: line 5: key "a" appears twice`,
		},
		{
			name:  "metadata holding a value JSON cannot write",
			files: []namedManifest{{"bad.yaml", "projects:\n  - id: shop\n    stacks:\n      - name: web\n        metadata: {ratio: .inf}\n"}},
			want:  `bad.yaml: projects[0].stacks[0].metadata: line 5: .inf has no JSON form`,
		},
		{
			name:  "unknown stack field",
			files: []namedManifest{{"bad.yaml", "projects:\n  - id: shop\n    stacks:\n      - name: web\n        colour: red\n"}},
			want:  `bad.yaml: yaml: unmarshal errors: line 5: field colour not found in type models.ManifestStack`,
		},
		{
			name:  "unknown top-level field",
			files: []namedManifest{{"bad.yaml", "projects: []\nstacks: []\n"}},
			want:  `bad.yaml: yaml: unmarshal errors: line 2: field stacks not found in type models.Manifest`,
		},
		{
			name:  "unknown field in JSON",
			files: []namedManifest{{"bad.json", `{"projects": [{"id": "shop", "stacks": [{"name": "web", "colour": "red"}]}]}`}},
			want:  `bad.json: yaml: unmarshal errors: line 1: field colour not found in type models.ManifestStack`,
		},
		{
			name:  "not YAML at all",
			files: []namedManifest{{"bad.yaml", "projects: [\n"}},
			want:  `bad.yaml: yaml: line 1: did not find expected node content`,
		},
		{
			name:  "product without layers",
			files: []namedManifest{{"bad.yaml", "projects: [{id: shop, stacks: [{name: web}]}]\nproducts:\n  - name: storefront\n"}},
			want:  `bad.yaml: products[0].layers: a product needs at least one layer`,
		},
		{
			name:  "product with an empty layer",
			files: []namedManifest{{"bad.yaml", "projects: [{id: shop, stacks: [{name: web}]}]\nproducts:\n  - name: storefront\n    layers: [[web], []]\n"}},
			want:  `bad.yaml: products[0].layers[1]: layer 2 has no stacks; every layer needs at least one`,
		},
		{
			name:  "stack twice in a product",
			files: []namedManifest{{"bad.yaml", "projects: [{id: shop, stacks: [{name: web}, {name: db}]}]\nproducts:\n  - name: storefront\n    layers: [[db, web], [web]]\n"}},
			want:  `bad.yaml: products[0].layers[1][0]: stack "web" is already in this product at layers[0][1]; a stack appears at most once`,
		},
		{
			name:  "bad product name",
			files: []namedManifest{{"bad.yaml", "products:\n  - name: store front\n    layers: [[web]]\n"}},
			want:  `bad.yaml: products[0].name: "store front" must start with a letter and contain only letters, digits, '_' and '-'`,
		},
		{
			name:  "product described twice",
			files: []namedManifest{{"bad.yaml", "products:\n  - name: storefront\n    layers: [[web]]\n  - name: storefront\n    layers: [[db]]\n"}},
			want:  `bad.yaml: products[1].name: product "storefront" is already described at products[0]`,
		},
		{
			name:  "product naming a stack that does not exist",
			files: []namedManifest{{"bad.yaml", "projects: [{id: shop, stacks: [{name: web}]}]\nproducts:\n  - name: storefront\n    layers: [[web], [db]]\n"}},
			want:  `bad.yaml: products[0].layers[1][0]: stack "db" does not exist in project "shop"`,
		},
		{
			name:  "product naming a stack of another project",
			files: []namedManifest{{"bad.yaml", "projects: [{id: shop, stacks: [{name: web}]}, {id: blog, stacks: [{name: db}]}]\nproducts:\n  - name: storefront\n    project: shop\n    layers: [[db], [web]]\n"}},
			want:  `bad.yaml: products[0].layers[0][0]: stack "db" does not exist in project "shop"`,
		},
		{
			name:  "product naming a stack in another case",
			seed:  seedShop,
			files: []namedManifest{{"bad.yaml", "products:\n  - name: storefront\n    layers: [[DB], [web]]\n"}},
			want:  `bad.yaml: products[0].layers[0][0]: stack "DB" does not exist in project "shop"`,
		},
		{
			name:  "product without project when the manifest holds two projects",
			files: []namedManifest{{"bad.yaml", "projects: [{id: shop, stacks: [{name: web}]}, {id: blog}]\nproducts:\n  - name: storefront\n    layers: [[web]]\n"}},
			want:  `bad.yaml: products[0].project: is required when the manifests and the database hold 2 projects (blog, shop)`,
		},
		{
			name:  "product without project when the database and the manifest hold one project each",
			seed:  seedShop,
			files: []namedManifest{{"bad.yaml", "projects: [{id: blog, stacks: [{name: web}]}]\nproducts:\n  - name: posts\n    layers: [[web]]\n"}},
			want:  `bad.yaml: products[0].project: is required when the manifests and the database hold 2 projects (blog, shop)`,
		},
		{
			name:  "product without project in an empty database",
			files: []namedManifest{{"bad.yaml", "products:\n  - name: storefront\n    layers: [[web]]\n"}},
			want:  `bad.yaml: products[0].project: is required when the manifests and the database hold 0 projects ()`,
		},
		{
			name:  "product naming a project that does not exist",
			seed:  seedShop,
			files: []namedManifest{{"bad.yaml", "products:\n  - name: storefront\n    project: shopp\n    layers: [[web]]\n"}},
			want:  `bad.yaml: products[0].project: project "shopp" does not exist`,
		},
		{
			name:  "stack id differing from the existing stack's",
			seed:  seedShop,
			files: []namedManifest{{"bad.yaml", "projects:\n  - id: shop\n    stacks:\n      - name: web\n        id: e830c288-ee34-48c0-ba6b-a0e6f6b48d3e\n"}},
			want: `bad.yaml: projects[0].stacks[0].id: "e830c288-ee34-48c0-ba6b-a0e6f6b48d3e" is not the id of the existing stack "web" ` +
				`(4d4f4ece-b291-4c71-8083-bec9b8a44de0); a stack keeps its id`,
		},
		{
			name:  "stack id already used by a stack in the database",
			seed:  seedShop,
			files: []namedManifest{{"bad.yaml", "projects:\n  - id: blog\n    stacks:\n      - name: web\n        id: 4d4f4ece-b291-4c71-8083-bec9b8a44de0\n"}},
			want:  `bad.yaml: projects[0].stacks[0].id: "4d4f4ece-b291-4c71-8083-bec9b8a44de0" is already the id of stack "web" in project "shop"`,
		},
		{
			name: "stack id used twice in one manifest",
			files: []namedManifest{{"bad.yaml", `
projects:
  - id: shop
    stacks:
      - {name: web, id: 4d4f4ece-b291-4c71-8083-bec9b8a44de0}
      - {name: api, id: 4d4f4ece-b291-4c71-8083-bec9b8a44de0}
`}},
			want: `bad.yaml: projects[0].stacks[1].id: "4d4f4ece-b291-4c71-8083-bec9b8a44de0" is already the id of stack "web" in project "shop"`,
		},
		{
			name:  "empty file",
			files: []namedManifest{{"empty.yaml", ""}},
			want:  `empty.yaml: the manifest is empty`,
		},
		{
			name:  "only comments",
			files: []namedManifest{{"empty.yaml", "# nothing here yet\n\n"}},
			want:  `empty.yaml: the manifest is empty`,
		},
		{
			name:  "a second YAML document",
			files: []namedManifest{{"two.yaml", "projects: [{id: shop}]\n---\nprojects: [{id: blog}]\n"}},
			want:  `two.yaml: holds more than one YAML document; put everything in one`,
		},

		// Errors found only after earlier entries were written: the transaction must roll all of them back.
		{
			name: "bad product after valid projects, stacks and products of the same file",
			seed: seedShop,
			files: []namedManifest{{"bad.yaml", `
projects:
  - id: shop
    stacks:
      - name: web
        status: DEPLOYMENT_FAILED
        status_message: boom
        services: []
      - name: cache
  - id: blog
    stacks:
      - name: posts
products:
  - name: storefront
    project: shop
    layers: [[cache], [web]]
  - name: blog
    project: blog
    layers: [[posts]]
  - name: admin
    project: shop
    layers: [[web], [adminer]]
`}},
			want: `bad.yaml: products[2].layers[1][0]: stack "adminer" does not exist in project "shop"`,
		},
		{
			name: "bad stack id in a later project after valid ones",
			files: []namedManifest{{"bad.yaml", `
projects:
  - id: shop
    stacks:
      - {name: web, id: 4d4f4ece-b291-4c71-8083-bec9b8a44de0, services: [{name: nginx, state: DEPLOYED, status: RUNNING, image: {name: nginx}}]}
  - id: blog
    stacks:
      - {name: posts}
      - {name: web, id: 4d4f4ece-b291-4c71-8083-bec9b8a44de0}
`}},
			want: `bad.yaml: projects[1].stacks[1].id: "4d4f4ece-b291-4c71-8083-bec9b8a44de0" is already the id of stack "web" in project "shop"`,
		},
		{
			name: "error in a later file after a valid file",
			seed: seedShop,
			files: []namedManifest{
				{"good.yaml", `
projects:
  - id: blog
    stacks:
      - name: posts
        services: [{name: ghost, state: DEPLOYED, status: RUNNING, image: {name: ghost}}]
products:
  - name: blog
    project: blog
    layers: [[posts]]
`},
				{"later.yaml", `
products:
  - name: storefront
    project: shop
    layers: [[web]]
  - name: comments
    project: blog
    layers: [[posts], [disqus]]
`},
			},
			want: `later.yaml: products[1].layers[1][0]: stack "disqus" does not exist in project "blog"`,
		},
		{
			name: "undecodable later file after a valid file",
			files: []namedManifest{
				{"good.yaml", "projects: [{id: blog, stacks: [{name: posts}]}]\n"},
				{"later.yaml", "projects: [{id: shop, stack: []}]\n"},
			},
			want: `later.yaml: yaml: unmarshal errors: line 1: field stack not found in type models.ManifestProject`,
		},
		{
			name: "invalid later file after a valid file",
			files: []namedManifest{
				{"good.yaml", "projects: [{id: blog, stacks: [{name: posts}]}]\n"},
				{"later.yaml", "projects: [{id: shop, stacks: [{name: web, status: UP}]}]\n"},
			},
			want: `later.yaml: projects[0].stacks[0].status: "UP" is not a lifecycle status ` + lifecycleList,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTestDB(t)
			if tt.seed != "" {
				mustImport(t, db, tt.seed)
			}
			countsBefore := countRows(t, db)
			exportBefore := exportYAML(t, db)

			report, err := importFiles(db, tt.files...)
			if err == nil {
				t.Fatalf("import succeeded (%v), want error %q", report, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Errorf("error is a %T, want a *ManifestError", err)
			} else if !strings.HasPrefix(tt.want, me.File+": ") {
				t.Errorf("ManifestError.File = %q, want the file the message names", me.File)
			}
			if report.Changed() {
				t.Errorf("a failed import reports changes: %v", report)
			}
			if got := countRows(t, db); got != countsBefore {
				t.Errorf("a failed import wrote rows: %+v, want %+v", got, countsBefore)
			}
			if got := exportYAML(t, db); !bytes.Equal(got, exportBefore) {
				t.Errorf("a failed import changed the database:\n%s\nwant:\n%s", got, exportBefore)
			}
		})
	}
}

// sameManifestYAML and sameManifestJSON describe the same data; every optional field is given so that both
// imports produce identical rows.
const sameManifestYAML = `
projects:
  - id: shop
    stacks:
      - name: db
        id: 331c2293-0df3-4c92-b93b-51cc363e4c9e
        description: primary database
        status: DEPLOYMENT_COMPLETE
        create_time: 2023-06-05T14:22:10Z
        update_time: 2023-06-06T08:00:00Z
        metadata: {owner: dba, tier: 1, backup: {every: 1h, keep: [daily, weekly]}, ha: true, ratio: 0.5, note: null}
        services:
          - name: primary
            state: DEPLOYED
            status: RUNNING
            domains: []
            image: {name: postgres, tag: "15.6"}
      - name: web
        id: 4d4f4ece-b291-4c71-8083-bec9b8a44de0
        description: ""
        status: ROLLBACK_FAILED
        status_message: "rollback failed: image not found"
        create_time: 2023-06-07T09:00:00+02:00
        update_time: 2023-06-07T09:30:00+02:00
        metadata: null
        services:
          - name: nginx
            state: STOPPED
            status: NOT-RUNNING
            domains: [shop.example.com, www.shop.example.com]
            image: {name: nginx, tag: ""}
products:
  - name: storefront
    project: shop
    layers:
      - [db]
      - [web]
`

const sameManifestJSON = `{
  "projects": [
    {
      "id": "shop",
      "stacks": [
        {
          "name": "db",
          "id": "331c2293-0df3-4c92-b93b-51cc363e4c9e",
          "description": "primary database",
          "status": "DEPLOYMENT_COMPLETE",
          "create_time": "2023-06-05T14:22:10Z",
          "update_time": "2023-06-06T08:00:00Z",
          "metadata": {"owner": "dba", "tier": 1, "backup": {"every": "1h", "keep": ["daily", "weekly"]}, "ha": true, "ratio": 0.5, "note": null},
          "services": [
            {"name": "primary", "state": "DEPLOYED", "status": "RUNNING", "domains": [], "image": {"name": "postgres", "tag": "15.6"}}
          ]
        },
        {
          "name": "web",
          "id": "4d4f4ece-b291-4c71-8083-bec9b8a44de0",
          "description": "",
          "status": "ROLLBACK_FAILED",
          "status_message": "rollback failed: image not found",
          "create_time": "2023-06-07T07:00:00Z",
          "update_time": "2023-06-07T07:30:00Z",
          "metadata": null,
          "services": [
            {"name": "nginx", "state": "STOPPED", "status": "NOT-RUNNING", "domains": ["shop.example.com", "www.shop.example.com"], "image": {"name": "nginx"}}
          ]
        }
      ]
    }
  ],
  "products": [
    {"name": "storefront", "project": "shop", "layers": [["db"], ["web"]]}
  ]
}`

func TestImportJSONEqualsYAML(t *testing.T) {
	fromYAML := openTestDB(t)
	if _, err := importFiles(fromYAML, namedManifest{"shop.yaml", sameManifestYAML}); err != nil {
		t.Fatal(err)
	}
	fromJSON := openTestDB(t)
	if _, err := importFiles(fromJSON, namedManifest{"shop.json", sameManifestJSON}); err != nil {
		t.Fatal(err)
	}
	yamlExport, jsonExport := exportYAML(t, fromYAML), exportYAML(t, fromJSON)
	if !bytes.Equal(yamlExport, jsonExport) {
		t.Errorf("the JSON manifest gives another database than the YAML one.\nYAML:\n%s\nJSON:\n%s", yamlExport, jsonExport)
	}

	// What both imports stored, field by field.
	web := findTestStack(t, fromJSON, "shop", "web")
	if got, want := web.CreateTime.UTC().Format(TimeLayout), "2023-06-07T07:00:00Z"; got != want {
		t.Errorf("create_time = %s, want %s (stored in UTC)", got, want)
	}
	if web.StatusMessage != "rollback failed: image not found" || web.Status != LifecycleRollbackFailed {
		t.Errorf("web: status %s %q", web.Status, web.StatusMessage)
	}
	db := findTestStack(t, fromJSON, "shop", "db")
	if want := `{"owner":"dba","tier":1,"backup":{"every":"1h","keep":["daily","weekly"]},"ha":true,"ratio":0.5,"note":null}`; db.Metadata != want {
		t.Errorf("metadata = %s, want %s", db.Metadata, want)
	}
	var nginx Service
	if err := fromJSON.Where("stack_pk = ?", web.PK).First(&nginx).Error; err != nil {
		t.Fatal(err)
	}
	if nginx.ImageTag != "latest" || nginx.Domains != `["shop.example.com","www.shop.example.com"]` {
		t.Errorf("nginx: tag %q (want latest), domains %s", nginx.ImageTag, nginx.Domains)
	}
}

func TestImportTwiceChangesNothing(t *testing.T) {
	manifests := []struct {
		name, text string
	}{
		{"every field given", sameManifestYAML},
		// Without ids and times the first import makes them; the second must keep them.
		{"ids and times left out", `
projects:
  - id: shop
    stacks:
      - name: db
        services: [{name: primary, state: DEPLOYED, status: RUNNING, image: {name: postgres}}]
      - name: web
        status: DEPLOYMENT_FAILED
        status_message: boom
        metadata: {b: 1, a: [x, true]}
products:
  - name: storefront
    layers: [[db], [web]]
`},
		{"demo", string(demoManifest)},
	}
	for _, m := range manifests {
		t.Run(m.name, func(t *testing.T) {
			db := openTestDB(t)
			first := mustImport(t, db, m.text)
			if !first.Changed() {
				t.Fatalf("the first import changed nothing: %v", first)
			}
			exportBefore := exportYAML(t, db)
			countsBefore := countRows(t, db)

			second := mustImport(t, db, m.text)
			if second.Changed() {
				t.Errorf("the second import changed something: %v", second)
			}
			if second != (ImportReport{}) || second.String() != "nothing changed" {
				t.Errorf("second report = %+v (%q), want zero and \"nothing changed\"", second, second)
			}
			if got := countRows(t, db); got != countsBefore {
				t.Errorf("rows after the second import: %+v, want %+v", got, countsBefore)
			}
			if got := exportYAML(t, db); !bytes.Equal(got, exportBefore) {
				t.Errorf("export changed after the second import:\n%s\nbefore:\n%s", got, exportBefore)
			}
		})
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	ctx := context.Background()
	a := openTestDB(t)
	loadDemo(t, a)
	exportA := exportYAML(t, a)

	file, err := DecodeManifest("export.yaml", bytes.NewReader(exportA))
	if err != nil {
		t.Fatalf("the export does not decode as a manifest: %v", err)
	}
	b := openTestDB(t)
	if _, err := Import(ctx, b, file); err != nil {
		t.Fatalf("importing the export into an empty database: %v", err)
	}
	exportB := exportYAML(t, b)
	if !bytes.Equal(exportA, exportB) {
		t.Errorf("export → import → export differs.\nA:\n%s\nB:\n%s", exportA, exportB)
	}
	if countRows(t, a) != countRows(t, b) {
		t.Errorf("row counts differ: A %+v, B %+v", countRows(t, a), countRows(t, b))
	}

	// The export is a manifest the source database already matches.
	report, err := Import(ctx, a, file)
	if err != nil || report.Changed() {
		t.Errorf("importing A's export into A: %v, %v; want no change", report, err)
	}
}

func TestExportSpellsOutEveryField(t *testing.T) {
	db := openTestDB(t)
	mustImport(t, db, `
projects:
  - id: shop
    stacks:
      - name: web
        id: 4d4f4ece-b291-4c71-8083-bec9b8a44de0
        create_time: 2023-05-17T07:34:22Z
        services:
          - {name: nginx, state: DEPLOYED, status: RUNNING, image: {name: nginx}}
      - name: db
        id: e830c288-ee34-48c0-ba6b-a0e6f6b48d3e
        status: DELETION_FAILED
        status_message: volume still attached
        create_time: 2023-05-18T00:00:00Z
        update_time: 2023-05-19T00:00:00Z
        metadata: {b: 1, a: [x, true]}
products:
  - name: storefront
    layers: [[db, web]]
`)
	want := `projects:
  - id: shop
    stacks:
      - name: web
        id: 4d4f4ece-b291-4c71-8083-bec9b8a44de0
        description: ""
        status: CREATION_COMPLETE
        create_time: "2023-05-17T07:34:22Z"
        update_time: "2023-05-17T07:34:22Z"
        metadata: null
        services:
          - name: nginx
            state: DEPLOYED
            status: RUNNING
            domains: []
            image: {name: nginx, tag: latest}
      - name: db
        id: e830c288-ee34-48c0-ba6b-a0e6f6b48d3e
        description: ""
        status: DELETION_FAILED
        status_message: volume still attached
        create_time: "2023-05-18T00:00:00Z"
        update_time: "2023-05-19T00:00:00Z"
        metadata: {"b": 1, "a": ["x", true]}
        services: []
products:
  - name: storefront
    project: shop
    layers:
      - [db, web]
`
	if got := string(exportYAML(t, db)); got != want {
		t.Errorf("export:\n%s\nwant:\n%s", got, want)
	}
}

func TestExportOfAnEmptyDatabase(t *testing.T) {
	db := openTestDB(t)
	if got, want := string(exportYAML(t, db)), "projects: []\nproducts: []\n"; got != want {
		t.Errorf("export = %q, want %q", got, want)
	}
}

func TestImportReport(t *testing.T) {
	db := openTestDB(t)
	first := mustImport(t, db, `
projects:
  - id: shop
    stacks: [{name: web}, {name: db}]
  - id: blog
    stacks: [{name: posts}]
products:
  - {name: storefront, project: shop, layers: [[db], [web]]}
  - {name: blog, project: blog, layers: [[posts]]}
`)
	want := ImportReport{ProjectsCreated: 2, StacksCreated: 3, ProductsCreated: 2}
	if first != want {
		t.Errorf("first report = %+v, want %+v", first, want)
	}
	if got, want := first.String(), "2 projects created; 3 stacks created, 0 updated; 2 products created, 0 updated"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}

	second := mustImport(t, db, `
projects:
  - id: shop
    stacks: [{name: web, description: front}, {name: db}, {name: cache}]
products:
  - {name: storefront, project: shop, layers: [[db, cache], [web]]}
  - {name: blog, project: blog, layers: [[posts]]}
`)
	want = ImportReport{StacksCreated: 1, StacksUpdated: 1, ProductsUpdated: 1}
	if second != want {
		t.Errorf("second report = %+v, want %+v", second, want)
	}
}

func TestImportChangedStatusKeepsIdentity(t *testing.T) {
	db := openTestDB(t)
	mustImport(t, db, `
projects:
  - id: shop
    stacks:
      - name: web
        description: front end
        status: DEPLOYMENT_IN_PROGRESS
        create_time: 2023-05-17T07:34:22Z
        update_time: 2023-05-17T07:35:00Z
`)
	before := findTestStack(t, db, "shop", "web")

	start := Now()
	report := mustImport(t, db, "projects: [{id: shop, stacks: [{name: web, status: DEPLOYMENT_COMPLETE}]}]")
	end := Now()
	after := findTestStack(t, db, "shop", "web")

	if report != (ImportReport{StacksUpdated: 1}) {
		t.Errorf("report = %+v, want one stack updated", report)
	}
	if after.Status != LifecycleDeploymentComplete {
		t.Errorf("status = %s, want %s", after.Status, LifecycleDeploymentComplete)
	}
	if after.UpdateTime.Before(start) || after.UpdateTime.After(end) {
		t.Errorf("update_time = %s, want the time of the import (%s..%s)", after.UpdateTime, start, end)
	}
	if !after.StatusChangedAt.Equal(after.UpdateTime) {
		t.Errorf("status_changed_at = %s, want the new update_time %s", after.StatusChangedAt, after.UpdateTime)
	}
	if after.StackID != before.StackID || len(after.StackID) != 36 {
		t.Errorf("stack_id = %q, want it kept: %q", after.StackID, before.StackID)
	}
	if !after.CreateTime.Equal(before.CreateTime) {
		t.Errorf("create_time = %s, want it kept: %s", after.CreateTime, before.CreateTime)
	}
	if after.Description != "front end" || after.PK != before.PK {
		t.Errorf("description %q, pk %d; want the untouched fields kept (%q, %d)", after.Description, after.PK, before.Description, before.PK)
	}
}

func TestImportUpdateTimeFromTheManifestWins(t *testing.T) {
	db := openTestDB(t)
	mustImport(t, db, "projects: [{id: shop, stacks: [{name: web, create_time: 2023-05-17T07:34:22Z}]}]")
	mustImport(t, db, "projects: [{id: shop, stacks: [{name: web, status: DEPLOYMENT_COMPLETE, update_time: 2023-05-18T00:00:00Z}]}]")
	web := findTestStack(t, db, "shop", "web")
	if got := web.UpdateTime.UTC().Format(TimeLayout); got != "2023-05-18T00:00:00Z" {
		t.Errorf("update_time = %s, want the manifest's 2023-05-18T00:00:00Z", got)
	}
}

func TestImportNewStackDefaults(t *testing.T) {
	db := openTestDB(t)
	start := Now()
	mustImport(t, db, "projects: [{id: shop, stacks: [{name: web}]}]")
	end := Now()
	web := findTestStack(t, db, "shop", "web")
	if err := ValidateStackID("stack_id", web.StackID); err != nil {
		t.Errorf("made stack_id: %v", err)
	}
	if web.Status != LifecycleCreationComplete {
		t.Errorf("status = %s, want %s", web.Status, LifecycleCreationComplete)
	}
	if web.CreateTime.Before(start) || web.CreateTime.After(end) || !web.UpdateTime.Equal(web.CreateTime) {
		t.Errorf("create_time %s, update_time %s; want both the time of the import", web.CreateTime, web.UpdateTime)
	}
	if web.CreateTime.Location() != time.UTC || web.CreateTime.Nanosecond() != 0 {
		t.Errorf("create_time %v is not UTC to the second", web.CreateTime)
	}
	if web.Metadata != "" || web.Description != "" || web.StatusMessage != "" {
		t.Errorf("web = %+v, want empty metadata, description and status message", web)
	}

	mustImport(t, db, "projects: [{id: shop, stacks: [{name: api, id: e830c288-ee34-48c0-ba6b-a0e6f6b48d3e}]}]")
	if got := findTestStack(t, db, "shop", "api").StackID; got != "e830c288-ee34-48c0-ba6b-a0e6f6b48d3e" {
		t.Errorf("stack_id = %s, want the manifest's", got)
	}
}

func TestImportLeavesUnmentionedStacksAlone(t *testing.T) {
	db := openTestDB(t)
	mustImport(t, db, `
projects:
  - id: shop
    stacks:
      - name: web
        services: [{name: nginx, state: DEPLOYED, status: RUNNING, image: {name: nginx}}]
      - name: db
        status: DEPLOYMENT_FAILED
        status_message: disk full
        metadata: {owner: dba}
        services: [{name: postgres, state: DEPLOYED, status: FAULT, image: {name: postgres}}]
  - id: blog
    stacks: [{name: posts}]
`)
	dbBefore, postsBefore := findTestStack(t, db, "shop", "db"), findTestStack(t, db, "blog", "posts")
	mustImport(t, db, "projects: [{id: shop, stacks: [{name: web, status: DEPLOYMENT_COMPLETE, services: []}]}]")
	if got := findTestStack(t, db, "shop", "db"); got != dbBefore {
		t.Errorf("unmentioned stack changed:\n%+v\nwant\n%+v", got, dbBefore)
	}
	if got := serviceNames(t, db, dbBefore); !slices.Equal(got, []string{"postgres"}) {
		t.Errorf("services of the unmentioned stack = %v", got)
	}
	if got := findTestStack(t, db, "blog", "posts"); got != postsBefore {
		t.Errorf("stack of an unmentioned project changed:\n%+v\nwant\n%+v", got, postsBefore)
	}
}

func TestImportServices(t *testing.T) {
	const seed = `
projects:
  - id: shop
    stacks:
      - name: web
        services:
          - {name: nginx, state: DEPLOYED, status: RUNNING, domains: [shop.example.com], image: {name: nginx, tag: "1.25"}}
          - {name: php, state: DEPLOYED, status: RUNNING, image: {name: php}}
`
	tests := []struct {
		name     string
		manifest string
		want     []string
		changed  bool
	}{
		{"a manifest without services keeps them",
			"projects: [{id: shop, stacks: [{name: web, description: now with a description}]}]",
			[]string{"nginx", "php"}, true},
		{"services: null keeps them",
			"projects: [{id: shop, stacks: [{name: web, services: null}]}]",
			[]string{"nginx", "php"}, false},
		{"services: [] removes them",
			"projects: [{id: shop, stacks: [{name: web, services: []}]}]",
			[]string{}, true},
		{"a new list replaces them, in its order",
			`projects: [{id: shop, stacks: [{name: web, services: [
				{name: php, state: DEPLOYED, status: RUNNING, image: {name: php}},
				{name: redis, state: CREATING, status: NOT-RUNNING, image: {name: redis}},
				{name: nginx, state: DEPLOYED, status: RUNNING, domains: [shop.example.com], image: {name: nginx, tag: "1.25"}}]}]}]`,
			[]string{"php", "redis", "nginx"}, true},
		{"the same list changes nothing",
			`projects: [{id: shop, stacks: [{name: web, services: [
				{name: nginx, state: DEPLOYED, status: RUNNING, domains: [shop.example.com], image: {name: nginx, tag: "1.25"}},
				{name: php, state: DEPLOYED, status: RUNNING, domains: [], image: {name: php, tag: latest}}]}]}]`,
			[]string{"nginx", "php"}, false},
		{"one changed service status is a change",
			`projects: [{id: shop, stacks: [{name: web, services: [
				{name: nginx, state: DEPLOYED, status: FAULT, domains: [shop.example.com], image: {name: nginx, tag: "1.25"}},
				{name: php, state: DEPLOYED, status: RUNNING, image: {name: php}}]}]}]`,
			[]string{"nginx", "php"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTestDB(t)
			mustImport(t, db, seed)
			before := findTestStack(t, db, "shop", "web")
			report := mustImport(t, db, tt.manifest)
			after := findTestStack(t, db, "shop", "web")
			if got := serviceNames(t, db, after); !slices.Equal(got, tt.want) {
				t.Errorf("services = %v, want %v", got, tt.want)
			}
			if report.Changed() != tt.changed {
				t.Errorf("report %+v: Changed() = %v, want %v", report, report.Changed(), tt.changed)
			}
			if !tt.changed && !after.UpdateTime.Equal(before.UpdateTime) {
				t.Errorf("update_time moved without a change: %s → %s", before.UpdateTime, after.UpdateTime)
			}
		})
	}
}

func TestImportStatusMessage(t *testing.T) {
	db := openTestDB(t)
	mustImport(t, db, "projects: [{id: shop, stacks: [{name: web, status: DEPLOYMENT_FAILED, status_message: image pull failed}]}]")

	// Mentioning the stack without a new status keeps the message.
	mustImport(t, db, "projects: [{id: shop, stacks: [{name: web, description: front}]}]")
	if got := findTestStack(t, db, "shop", "web").StatusMessage; got != "image pull failed" {
		t.Errorf("status_message = %q after an unrelated change, want it kept", got)
	}
	// A new status without a message clears the old status's message.
	mustImport(t, db, "projects: [{id: shop, stacks: [{name: web, status: DEPLOYMENT_COMPLETE}]}]")
	if got := findTestStack(t, db, "shop", "web").StatusMessage; got != "" {
		t.Errorf("status_message = %q after the status changed, want it cleared", got)
	}
}

func TestImportStackNamesAreCaseSensitive(t *testing.T) {
	db := openTestDB(t)
	mustImport(t, db, "projects: [{id: shop, stacks: [{name: web}, {name: Web}, {name: WEB}]}]")
	if got := countRows(t, db).Stacks; got != 3 {
		t.Errorf("stacks = %d, want 3 distinct stacks", got)
	}
	if a, b := findTestStack(t, db, "shop", "web"), findTestStack(t, db, "shop", "Web"); a.StackID == b.StackID {
		t.Errorf("web and Web share the stack id %s", a.StackID)
	}
}

func TestImportMetadataKeepsKeyOrder(t *testing.T) {
	tests := []struct {
		yaml string
		want string
	}{
		{`{b: 1, a: [x, true]}`, `{"b":1,"a":["x",true]}`},
		{`{z: {y: null, x: 2.5}, "1": "one", n: -3}`, `{"z":{"y":null,"x":2.5},"1":"one","n":-3}`},
		{`{quoted: "true", plain: true, number_string: "42", text: "he said \"hi\""}`, `{"quoted":"true","plain":true,"number_string":"42","text":"he said \"hi\""}`},
		{`{}`, `{}`},
		{`null`, ``},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			db := openTestDB(t)
			mustImport(t, db, "projects: [{id: shop, stacks: [{name: web, metadata: "+tt.yaml+"}]}]")
			if got := findTestStack(t, db, "shop", "web").Metadata; got != tt.want {
				t.Errorf("stored metadata = %s, want %s", got, tt.want)
			}
			// And the order survives the export → import round trip.
			file, err := DecodeManifest("export.yaml", bytes.NewReader(exportYAML(t, db)))
			if err != nil {
				t.Fatal(err)
			}
			other := openTestDB(t)
			if _, err := Import(context.Background(), other, file); err != nil {
				t.Fatal(err)
			}
			if got := findTestStack(t, other, "shop", "web").Metadata; got != tt.want {
				t.Errorf("metadata after a round trip = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestImportMetadataNullClearsIt(t *testing.T) {
	db := openTestDB(t)
	mustImport(t, db, "projects: [{id: shop, stacks: [{name: web, metadata: {owner: me}}]}]")
	mustImport(t, db, "projects: [{id: shop, stacks: [{name: web}]}]")
	if got := findTestStack(t, db, "shop", "web").Metadata; got != `{"owner":"me"}` {
		t.Errorf("metadata = %q after a manifest without metadata, want it kept", got)
	}
	mustImport(t, db, "projects: [{id: shop, stacks: [{name: web, metadata: null}]}]")
	if got := findTestStack(t, db, "shop", "web").Metadata; got != "" {
		t.Errorf("metadata = %q after metadata: null, want it cleared", got)
	}
}

// productLayers returns the layers of every product as ListProducts shows them: "name: [a b] [c]".
func productLayers(t *testing.T, db *gorm.DB) []string {
	t.Helper()
	products, err := ListProducts(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range products {
		line := p.ProductName + ":"
		for _, layer := range p.StackDeps {
			var names []string
			for _, s := range layer {
				names = append(names, s.StackName)
			}
			line += fmt.Sprintf(" %v", names)
		}
		lines = append(lines, line)
	}
	return lines
}

func TestImportReplacesProductLayers(t *testing.T) {
	db := openTestDB(t)
	mustImport(t, db, `
projects: [{id: shop, stacks: [{name: db}, {name: cache}, {name: web}, {name: admin}]}]
products:
  - {name: storefront, layers: [[db], [cache], [web]]}
  - {name: backoffice, layers: [[db], [admin]]}
`)
	report := mustImport(t, db, "products: [{name: storefront, layers: [[db, cache], [web, admin]]}]")
	if report != (ImportReport{ProductsUpdated: 1}) {
		t.Errorf("report = %+v, want one product updated", report)
	}
	want := []string{"storefront: [db cache] [web admin]", "backoffice: [db] [admin]"}
	if got := productLayers(t, db); !slices.Equal(got, want) {
		t.Errorf("products = %q, want %q", got, want)
	}
	if got := countRows(t, db).ProductStacks; got != 6 {
		t.Errorf("product_stacks rows = %d, want 6 (the old layers are gone)", got)
	}
}

func TestImportKeepsProductCreationOrder(t *testing.T) {
	db := openTestDB(t)
	mustImport(t, db, `
projects: [{id: shop, stacks: [{name: db}, {name: web}]}]
products:
  - {name: zeta, layers: [[db]]}
  - {name: alpha, layers: [[web]]}
`)
	// Listed in another order, one changed, one new: the existing ones keep their places, the new one comes last.
	mustImport(t, db, `
products:
  - {name: middle, layers: [[db], [web]]}
  - {name: alpha, layers: [[db, web]]}
  - {name: zeta, layers: [[db]]}
`)
	want := []string{"zeta: [db]", "alpha: [db web]", "middle: [db] [web]"}
	if got := productLayers(t, db); !slices.Equal(got, want) {
		t.Errorf("products = %q, want %q", got, want)
	}
	// Re-importing everything again changes nothing, the order included.
	mustImport(t, db, "products: [{name: alpha, layers: [[db, web]]}, {name: zeta, layers: [[db]]}]")
	if got := productLayers(t, db); !slices.Equal(got, want) {
		t.Errorf("products after another import = %q, want %q", got, want)
	}
}

func TestImportMovesAProductToAnotherProject(t *testing.T) {
	db := openTestDB(t)
	mustImport(t, db, `
projects: [{id: shop, stacks: [{name: web}]}, {id: blog, stacks: [{name: web}]}]
products: [{name: site, project: shop, layers: [[web]]}]
`)
	report := mustImport(t, db, "products: [{name: site, project: blog, layers: [[web]]}]")
	if report != (ImportReport{ProductsUpdated: 1}) {
		t.Errorf("report = %+v, want one product updated", report)
	}
	products, err := ListProducts(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if len(products) != 1 || products[0].ProjectID != "blog" {
		t.Fatalf("products = %+v, want site in project blog", products)
	}
	var stackProject string
	err = db.Raw(`SELECT s.project_id FROM product_stacks ps JOIN stacks s ON s.pk = ps.stack_pk`).Scan(&stackProject).Error
	if err != nil || stackProject != "blog" {
		t.Errorf("the product's stack is in project %q (%v), want blog", stackProject, err)
	}
}

func TestImportInfersTheProductsProject(t *testing.T) {
	tests := []struct {
		name  string
		seed  string
		input string
	}{
		{"the manifest's only project, empty database", "",
			"projects: [{id: shop, stacks: [{name: web}]}]\nproducts: [{name: storefront, layers: [[web]]}]"},
		{"the database's only project, manifest of products", "projects: [{id: shop, stacks: [{name: web}]}]",
			"products: [{name: storefront, layers: [[web]]}]"},
		{"the same project in manifest and database", "projects: [{id: shop, stacks: [{name: web}]}]",
			"projects: [{id: shop, stacks: [{name: web}]}]\nproducts: [{name: storefront, layers: [[web]]}]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTestDB(t)
			if tt.seed != "" {
				mustImport(t, db, tt.seed)
			}
			mustImport(t, db, tt.input)
			products, err := ListProducts(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			if len(products) != 1 || products[0].ProjectID != "shop" || products[0].ProductName != "storefront" {
				t.Errorf("products = %+v, want storefront in project shop", products)
			}
		})
	}
}

func TestImportAcrossFiles(t *testing.T) {
	db := openTestDB(t)
	// Products are applied after every file's projects, so a product may name a stack of a later file.
	_, err := importFiles(db,
		namedManifest{"products.yaml", "products: [{name: storefront, project: shop, layers: [[db], [web]]}]"},
		namedManifest{"shop.yaml", "projects: [{id: shop, stacks: [{name: web}, {name: db}]}]"},
	)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := productLayers(t, db), []string{"storefront: [db] [web]"}; !slices.Equal(got, want) {
		t.Errorf("products = %q, want %q", got, want)
	}
}

func TestLoadDemoOnlyIntoAnEmptyDatabase(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	mustImport(t, db, "projects: [{id: mine}]")
	loaded, err := LoadDemo(ctx, db)
	if err != nil || loaded {
		t.Errorf("LoadDemo into a database with a project = %v, %v; want false, nil", loaded, err)
	}
	if got := countRows(t, db); got != (rowCounts{Projects: 1}) {
		t.Errorf("rows = %+v, want only the one project", got)
	}

	empty := openTestDB(t)
	loadDemo(t, empty)
	counts := countRows(t, empty)
	loaded, err = LoadDemo(ctx, empty)
	if err != nil || loaded {
		t.Errorf("LoadDemo a second time = %v, %v; want false, nil", loaded, err)
	}
	if got := countRows(t, empty); got != counts {
		t.Errorf("rows after a second LoadDemo = %+v, want %+v", got, counts)
	}
}

func TestDecodeManifestReadsJSONAndYAMLAlike(t *testing.T) {
	fromYAML, err := DecodeManifest("a.yaml", strings.NewReader(sameManifestYAML))
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := DecodeManifest("a.json", strings.NewReader(sameManifestJSON))
	if err != nil {
		t.Fatal(err)
	}
	y, _ := json.Marshal(fromYAML.Manifest.Products)
	j, _ := json.Marshal(fromJSON.Manifest.Products)
	if !bytes.Equal(y, j) {
		t.Errorf("products differ: %s vs %s", y, j)
	}
	if fromYAML.Name != "a.yaml" || fromJSON.Name != "a.json" {
		t.Errorf("names = %q, %q", fromYAML.Name, fromJSON.Name)
	}
}
