package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// Export returns the whole database as a manifest that Import accepts: projects by id, stacks and products in
// creation order, every field spelled out.
func Export(ctx context.Context, db *gorm.DB) (Manifest, error) {
	db = db.WithContext(ctx)
	var projects []Project
	if err := db.Order("id").Find(&projects).Error; err != nil {
		return Manifest{}, fmt.Errorf("export projects: %w", err)
	}
	var stacks []Stack
	if err := db.Order("pk").Find(&stacks).Error; err != nil {
		return Manifest{}, fmt.Errorf("export stacks: %w", err)
	}
	var services []Service
	if err := db.Order("stack_pk, ordinal").Find(&services).Error; err != nil {
		return Manifest{}, fmt.Errorf("export services: %w", err)
	}
	var products []Product
	if err := db.Order("pk").Find(&products).Error; err != nil {
		return Manifest{}, fmt.Errorf("export products: %w", err)
	}
	var placements []ProductStack
	if err := db.Order("product_pk, layer, ordinal").Find(&placements).Error; err != nil {
		return Manifest{}, fmt.Errorf("export product layers: %w", err)
	}
	t := Tables{Projects: projects, Stacks: stacks, Services: services, Products: products, ProductStacks: placements}
	return t.Manifest(true)
}

// Manifest describes the rows as a manifest that Import accepts, every field spelled out; without times, the
// stacks carry no create_time and update_time, and the same rows give the same document whenever it is made.
func (t Tables) Manifest(withTimes bool) (Manifest, error) {
	servicesByStack := make(map[int64][]ManifestService)
	for _, s := range t.Services {
		domains, err := decodeDomains(s.Domains)
		if err != nil {
			return Manifest{}, fmt.Errorf("export service %q: %w", s.Name, err)
		}
		servicesByStack[s.StackPK] = append(servicesByStack[s.StackPK], ManifestService{
			Name: s.Name, State: s.State, Status: s.Status, Domains: domains,
			Image: ManifestImage{Name: s.ImageName, Tag: s.ImageTag},
		})
	}
	stackNames := make(map[int64]string, len(t.Stacks))
	stacksByProject := make(map[string][]ManifestStack)
	for _, s := range t.Stacks {
		stackNames[s.PK] = s.Name
		metadata, err := metadataNode(s.Metadata)
		if err != nil {
			return Manifest{}, fmt.Errorf("export stack %q: stored metadata is not JSON: %w", s.Name, err)
		}
		services := servicesByStack[s.PK]
		if services == nil {
			services = []ManifestService{}
		}
		m := ManifestStack{
			Name:        s.Name,
			ID:          ptr(s.StackID),
			Description: ptr(s.Description),
			Status:      ptr(s.Status),
			Metadata:    metadata,
			Services:    &services,
		}
		if withTimes {
			m.CreateTime = ptr(s.CreateTime.UTC().Format(TimeLayout))
			m.UpdateTime = ptr(s.UpdateTime.UTC().Format(TimeLayout))
		}
		if s.StatusMessage != "" {
			m.StatusMessage = ptr(s.StatusMessage)
		}
		// The settings are written only when on, so that exports of stacks that never used them stay as they were.
		if s.EnableDeletionProtection {
			m.EnableDeletionProtection = ptr(true)
		}
		if s.EnableAutoRollback {
			m.EnableAutoRollback = ptr(true)
		}
		stacksByProject[s.ProjectID] = append(stacksByProject[s.ProjectID], m)
	}

	manifest := Manifest{Projects: []ManifestProject{}, Products: []ManifestProduct{}}
	for _, p := range t.Projects {
		manifest.Projects = append(manifest.Projects, ManifestProject{ID: p.ID, Stacks: stacksByProject[p.ID]})
	}
	layersByProduct := make(map[int64]Layers)
	lastLayer := make(map[int64]int)
	for _, pl := range t.ProductStacks {
		layers := layersByProduct[pl.ProductPK]
		if lastLayer[pl.ProductPK] != pl.Layer {
			layers = append(layers, []string{})
			lastLayer[pl.ProductPK] = pl.Layer
		}
		layers[len(layers)-1] = append(layers[len(layers)-1], stackNames[pl.StackPK])
		layersByProduct[pl.ProductPK] = layers
	}
	for _, p := range t.Products {
		manifest.Products = append(manifest.Products, ManifestProduct{Name: p.Name, Project: p.ProjectID, Layers: layersByProduct[p.PK]})
	}
	return manifest, nil
}

func ptr[T any](v T) *T {
	return &v
}
