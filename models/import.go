package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// ImportReport counts what an import changed.
type ImportReport struct {
	ProjectsCreated, StacksCreated, StacksUpdated, ProductsCreated, ProductsUpdated int
}

// Changed reports whether the import wrote anything.
func (r ImportReport) Changed() bool {
	return r != ImportReport{}
}

// String summarises the report for people.
func (r ImportReport) String() string {
	if !r.Changed() {
		return "nothing changed"
	}
	return fmt.Sprintf("%d projects created; %d stacks created, %d updated; %d products created, %d updated",
		r.ProjectsCreated, r.StacksCreated, r.StacksUpdated, r.ProductsCreated, r.ProductsUpdated)
}

// Import applies manifests in one transaction: all of them, or on any error none of them. Stacks are matched by
// project and name, products by name; what the manifests do not mention is left alone, and applying the same
// manifests twice changes nothing.
func Import(ctx context.Context, db *gorm.DB, files ...ManifestFile) (ImportReport, error) {
	for _, f := range files {
		if err := checkManifest(f); err != nil {
			return ImportReport{}, err
		}
	}
	var report ImportReport
	err := writeTransaction(ctx, db, func(tx *gorm.DB) error {
		im := importer{tx: tx, now: Now(), report: &report}
		for _, f := range files {
			for i, p := range f.Manifest.Projects {
				if err := im.project(f.Name, fmt.Sprintf("projects[%d]", i), p); err != nil {
					return err
				}
			}
		}
		for _, f := range files {
			for i, p := range f.Manifest.Products {
				if err := im.product(f.Name, fmt.Sprintf("products[%d]", i), p, files); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return ImportReport{}, err
	}
	return report, nil
}

// checkManifest validates what can be checked without the database: every value, and uniqueness inside the file.
func checkManifest(f ManifestFile) error {
	fail := func(entry string, err error) error {
		var fe *FieldError
		if errors.As(err, &fe) {
			return &ManifestError{File: f.Name, Entry: entry + "." + fe.Field, Err: errors.New(fe.Problem)}
		}
		return &ManifestError{File: f.Name, Entry: entry, Err: err}
	}
	stackEntries := make(map[[2]string]string)
	for i, p := range f.Manifest.Projects {
		entry := fmt.Sprintf("projects[%d]", i)
		if err := ValidateProjectID("id", p.ID); err != nil {
			return fail(entry, err)
		}
		for j, s := range p.Stacks {
			stackEntry := fmt.Sprintf("%s.stacks[%d]", entry, j)
			if err := checkManifestStack(s); err != nil {
				return fail(stackEntry, err)
			}
			key := [2]string{p.ID, s.Name}
			if previous, ok := stackEntries[key]; ok {
				return fail(stackEntry, &FieldError{"name", ReasonInvalid, fmt.Sprintf("stack %q of project %q is already described at %s", s.Name, p.ID, previous)})
			}
			stackEntries[key] = stackEntry
		}
	}
	productEntries := make(map[string]string)
	for i, p := range f.Manifest.Products {
		entry := fmt.Sprintf("products[%d]", i)
		if err := ValidateName("name", p.Name); err != nil {
			return fail(entry, err)
		}
		if p.Project != "" {
			if err := ValidateProjectID("project", p.Project); err != nil {
				return fail(entry, err)
			}
		}
		if err := ValidateLayers("layers", p.Layers, func(string) bool { return true }); err != nil {
			return fail(entry, err)
		}
		if previous, ok := productEntries[p.Name]; ok {
			return fail(entry, &FieldError{"name", ReasonInvalid, fmt.Sprintf("product %q is already described at %s", p.Name, previous)})
		}
		productEntries[p.Name] = entry
	}
	return nil
}

// patch is the change a manifest's stack entry asks of its stack's fields: validated and applied by the rules of
// PATCH /v1/{project_id}/stacks/{stack_name}.
func (s ManifestStack) patch() StackPatch {
	return StackPatch{StackID: s.ID, Description: s.Description, Status: s.Status, StatusMessage: s.StatusMessage,
		EnableDeletionProtection: s.EnableDeletionProtection, EnableAutoRollback: s.EnableAutoRollback}
}

// spec is the report a manifest's service entry stands for: validated and given defaults by the rules of
// PUT /v1/{project_id}/stacks/{stack_name}/services/{service_name}.
func (s ManifestService) spec() ServiceSpec {
	return ServiceSpec{State: s.State, Status: s.Status, Domains: s.Domains, Image: Image(s.Image)}
}

// manifestStackFields maps the fields the HTTP writes name to the keys of a manifest's stack entry.
var manifestStackFields = map[string]string{"stack_id": "id"}

func checkManifestStack(s ManifestStack) error {
	if err := ValidateName("name", s.Name); err != nil {
		return err
	}
	if err := s.patch().Validate(); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			if key, ok := manifestStackFields[fe.Field]; ok {
				return &FieldError{key, fe.Reason, fe.Problem}
			}
		}
		return err
	}
	var created time.Time
	if s.CreateTime != nil {
		t, err := parseManifestTime("create_time", *s.CreateTime)
		if err != nil {
			return err
		}
		created = t
	}
	if s.UpdateTime != nil {
		updated, err := parseManifestTime("update_time", *s.UpdateTime)
		if err != nil {
			return err
		}
		if !created.IsZero() && updated.Before(created) {
			return &FieldError{"update_time", ReasonInvalid, fmt.Sprintf("%s is before create_time %s", *s.UpdateTime, *s.CreateTime)}
		}
	}
	if _, err := metadataJSON("metadata", &s.Metadata); err != nil {
		return err
	}
	if s.Services == nil {
		return nil
	}
	if err := ValidateServiceCount("services", len(*s.Services)); err != nil {
		return err
	}
	seen := make(map[string]int)
	for k, svc := range *s.Services {
		if err := checkManifestService(svc); err != nil {
			var fe *FieldError
			errors.As(err, &fe)
			return fe.Within(fmt.Sprintf("services[%d]", k))
		}
		if previous, ok := seen[svc.Name]; ok {
			return &FieldError{fmt.Sprintf("services[%d].name", k), ReasonInvalid, fmt.Sprintf("service %q is already described at services[%d]", svc.Name, previous)}
		}
		seen[svc.Name] = k
	}
	return nil
}

func checkManifestService(s ManifestService) error {
	if err := ValidateName("name", s.Name); err != nil {
		return err
	}
	return s.spec().Validate()
}

// importer applies the entries of manifests inside one transaction.
type importer struct {
	tx     *gorm.DB
	now    time.Time
	report *ImportReport
}

func (im importer) project(file, entry string, p ManifestProject) error {
	created, err := ensureProject(im.tx, p.ID, im.now)
	if err != nil {
		return &ManifestError{File: file, Entry: entry, Err: err}
	}
	if created {
		im.report.ProjectsCreated++
	}
	for j, s := range p.Stacks {
		stackEntry := fmt.Sprintf("%s.stacks[%d]", entry, j)
		if err := im.stack(p.ID, s); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return &ManifestError{File: file, Entry: stackEntry + "." + fe.Field, Err: errors.New(fe.Problem)}
			}
			return &ManifestError{File: file, Entry: stackEntry, Err: err}
		}
	}
	return nil
}

func (im importer) stack(projectID string, s ManifestStack) error {
	row, err := findStack(im.tx, projectID, s.Name)
	isNew := isNotFound(err)
	if err != nil && !isNew {
		return err
	}
	created := im.now
	if s.CreateTime != nil {
		created, _ = parseManifestTime("create_time", *s.CreateTime)
	}
	if isNew {
		row = newStack(projectID, s.Name, created)
	}
	before := row

	if s.ID != nil {
		if !isNew && *s.ID != row.StackID {
			return &FieldError{"id", ReasonInvalid, fmt.Sprintf("%q is not the id of the existing stack %q (%s); a stack keeps its id", *s.ID, s.Name, row.StackID)}
		}
		row.StackID = *s.ID
	}
	row = s.patch().apply(row)
	if s.CreateTime != nil {
		row.CreateTime = created
	}
	if s.Metadata.Kind != 0 {
		row.Metadata, _ = metadataJSON("metadata", &s.Metadata)
	}
	services, currentServices, servicesChanged, err := im.services(row.PK, isNew, s.Services)
	if err != nil {
		return err
	}

	changed := isNew || servicesChanged || row.StackID != before.StackID || row.Description != before.Description ||
		row.Status != before.Status || row.StatusMessage != before.StatusMessage || !row.CreateTime.Equal(before.CreateTime) ||
		row.Metadata != before.Metadata || row.EnableDeletionProtection != before.EnableDeletionProtection ||
		row.EnableAutoRollback != before.EnableAutoRollback
	switch {
	case s.UpdateTime != nil:
		row.UpdateTime, _ = parseManifestTime("update_time", *s.UpdateTime)
	case isNew:
		// newStack's default: a new stack's update time is its create time.
	case changed:
		row.UpdateTime = im.now
	}
	if row.UpdateTime.Before(row.CreateTime) {
		return &FieldError{"update_time", ReasonInvalid, fmt.Sprintf("%s would be before create_time %s", row.UpdateTime.Format(TimeLayout), row.CreateTime.Format(TimeLayout))}
	}
	if isNew || row.Status != before.Status {
		row.StatusChangedAt = row.UpdateTime
	}
	if !changed && row.UpdateTime.Equal(before.UpdateTime) {
		return nil
	}

	if row.StackID != before.StackID || isNew {
		var owner []Stack
		if err := im.tx.Where("stack_id = ?", row.StackID).Limit(1).Find(&owner).Error; err != nil {
			return err
		}
		if len(owner) > 0 {
			return &FieldError{"id", ReasonInvalid, fmt.Sprintf("%q is already the id of stack %q in project %q", row.StackID, owner[0].Name, owner[0].ProjectID)}
		}
	}
	if isNew {
		if err := im.tx.Create(&row).Error; err != nil {
			return err
		}
		im.report.StacksCreated++
	} else {
		if err := im.tx.Save(&row).Error; err != nil {
			return err
		}
		im.report.StacksUpdated++
	}
	if servicesChanged {
		if err := replaceServices(im.tx, row.PK, services); err != nil {
			return err
		}
	}
	var previous *Stack
	if !isNew {
		previous = &before
	}
	events := stackEvents(previous, row)
	if servicesChanged {
		events = append(events, serviceEvents(row, currentServices, services, row.UpdateTime)...)
	}
	if err := recordEvents(im.tx, events); err != nil {
		return err
	}
	return recordChanges(im.tx, Change{ProjectID: row.ProjectID, StackID: row.StackID})
}

// services returns the rows a manifest's service list stands for, the stack's current ones, and whether they
// differ.
func (im importer) services(stackPK int64, isNew bool, listed *[]ManifestService) ([]Service, []Service, bool, error) {
	if listed == nil {
		return nil, nil, false, nil
	}
	wanted := make([]Service, len(*listed))
	for i, s := range *listed {
		wanted[i] = s.spec().row(s.Name)
		wanted[i].Ordinal = i
	}
	if isNew {
		return wanted, nil, len(wanted) > 0, nil
	}
	current, err := stackServices(im.tx, stackPK)
	if err != nil {
		return nil, nil, false, err
	}
	same := slices.EqualFunc(current, wanted, func(a, b Service) bool {
		a.PK, a.StackPK, b.PK, b.StackPK = 0, 0, 0, 0
		return a == b
	})
	return wanted, current, !same, nil
}

func (im importer) product(file, entry string, p ManifestProduct, files []ManifestFile) error {
	fail := func(err error) error {
		var fe *FieldError
		if errors.As(err, &fe) {
			return &ManifestError{File: file, Entry: entry + "." + fe.Field, Err: errors.New(fe.Problem)}
		}
		return &ManifestError{File: file, Entry: entry, Err: err}
	}
	projectID := p.Project
	if projectID == "" {
		projects, err := im.knownProjects(files)
		if err != nil {
			return fail(err)
		}
		if len(projects) != 1 {
			return fail(&FieldError{"project", ReasonMissing, fmt.Sprintf("is required when the manifests and the database hold %d projects (%s)", len(projects), strings.Join(projects, ", "))})
		}
		projectID = projects[0]
	} else if err := requireProject(im.tx, "project", projectID); err != nil {
		return fail(err)
	}
	outcome, err := applyProduct(im.tx, p.Name, projectID, "layers", p.Layers, im.now)
	if err != nil {
		return fail(err)
	}
	switch outcome {
	case productCreated:
		im.report.ProductsCreated++
	case productUpdated:
		im.report.ProductsUpdated++
	}
	return nil
}

// knownProjects lists the project ids that the manifests or the database hold.
func (im importer) knownProjects(files []ManifestFile) ([]string, error) {
	var ids []string
	if err := im.tx.Model(&Project{}).Order("id").Pluck("id", &ids).Error; err != nil {
		return nil, err
	}
	for _, f := range files {
		for _, p := range f.Manifest.Projects {
			if !slices.Contains(ids, p.ID) {
				ids = append(ids, p.ID)
			}
		}
	}
	slices.Sort(ids)
	return ids, nil
}
