package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ConflictError says that a thing of that name exists already.
type ConflictError struct {
	Kind string
	Name string
}

// Error returns for example `stack "web" already exists`.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s %q already exists", e.Kind, e.Name)
}

// ForbiddenError says that an operation is not allowed in the current state of things.
type ForbiddenError struct {
	Reason string
}

// Error returns the reason.
func (e *ForbiddenError) Error() string {
	return e.Reason
}

// Reserved product names: they name other URLs under /api/products/.
func reservedProductNames() []string {
	return []string{"names"}
}

// ValidateProductName checks a product name: the rule of stack names, and not one of the reserved names.
func ValidateProductName(field, name string) error {
	if err := ValidateName(field, name); err != nil {
		return err
	}
	if slices.Contains(reservedProductNames(), name) {
		return &FieldError{field, ReasonInvalid, fmt.Sprintf("%q is reserved", name)}
	}
	return nil
}

// requireProject fails unless the project exists.
func requireProject(tx *gorm.DB, field, projectID string) error {
	var count int64
	if err := tx.Model(&Project{}).Where("id = ?", projectID).Count(&count).Error; err != nil {
		return err
	}
	if count == 0 {
		return &FieldError{field, ReasonInvalid, fmt.Sprintf("project %q does not exist", projectID)}
	}
	return nil
}

// ensureProject creates the project when it does not exist yet, and reports whether it did. Writers racing to
// create one project (the first stacks of a new project, through several replicas) all succeed: the insert does
// nothing when another transaction has made the project, and waits for one still making it.
func ensureProject(tx *gorm.DB, projectID string, now time.Time) (bool, error) {
	inserted := tx.Exec(`INSERT INTO projects (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, projectID, now)
	if inserted.Error != nil || inserted.RowsAffected == 0 {
		return false, inserted.Error
	}
	return true, recordChanges(tx, Change{ProjectID: projectID})
}

// NewStack is what CreateStack is asked to create: RFS's fields of an empty stack.
type NewStack struct {
	Name                     string
	Description              string
	EnableDeletionProtection bool
	EnableAutoRollback       bool
}

// CreateStack creates an empty stack (CREATION_COMPLETE) in a project, creating the project too when needed.
func CreateStack(ctx context.Context, db *gorm.DB, projectID string, spec NewStack) (Stack, error) {
	if err := ValidateProjectID("project_id", projectID); err != nil {
		return Stack{}, err
	}
	name := spec.Name
	if err := ValidateName("stack_name", name); err != nil {
		return Stack{}, err
	}
	if err := ValidateDescription("description", spec.Description); err != nil {
		return Stack{}, err
	}
	var stack Stack
	err := writeTransaction(ctx, db, func(tx *gorm.DB) error {
		now := Now()
		if _, err := ensureProject(tx, projectID, now); err != nil {
			return err
		}
		if _, err := findStack(tx, projectID, name); err == nil {
			return &ConflictError{Kind: KindStack, Name: name}
		} else if !isNotFound(err) {
			return err
		}
		stack = newStack(projectID, name, now)
		stack.Description = spec.Description
		stack.EnableDeletionProtection, stack.EnableAutoRollback = spec.EnableDeletionProtection, spec.EnableAutoRollback
		if err := tx.Create(&stack).Error; err != nil {
			// Another replica created it since the check above.
			return conflictOn(err, "stacks", KindStack, name)
		}
		if err := recordEvents(tx, stackEvents(nil, stack)); err != nil {
			return err
		}
		return recordChanges(tx, Change{ProjectID: projectID, StackID: stack.StackID})
	})
	return stack, err
}

// StackPatch changes some fields of a stack; nil fields stay. StackID, when given, must be the stack's.
type StackPatch struct {
	StackID                  *string
	Description              *string
	Status                   *string
	StatusMessage            *string
	EnableDeletionProtection *bool
	EnableAutoRollback       *bool
}

// Validate checks the patch's values.
func (p StackPatch) Validate() error {
	if err := validateGivenStackID("stack_id", p.StackID); err != nil {
		return err
	}
	if p.Description != nil {
		if err := ValidateDescription("description", *p.Description); err != nil {
			return err
		}
	}
	if p.Status != nil {
		if err := ValidateLifecycleStatus("status", *p.Status); err != nil {
			return err
		}
	}
	if p.StatusMessage != nil {
		if err := ValidateText("status_message", *p.StatusMessage, MaxStatusMessageLength); err != nil {
			return err
		}
	}
	return nil
}

// apply returns the stack with the patch's fields changed (its StackID is only checked, never applied). A new
// status without a message clears the old status's message: the message belongs to the status it explains.
func (p StackPatch) apply(s Stack) Stack {
	before := s.Status
	if p.Description != nil {
		s.Description = *p.Description
	}
	if p.Status != nil {
		s.Status = *p.Status
	}
	if p.StatusMessage != nil {
		s.StatusMessage = *p.StatusMessage
	} else if s.Status != before {
		s.StatusMessage = ""
	}
	if p.EnableDeletionProtection != nil {
		s.EnableDeletionProtection = *p.EnableDeletionProtection
	}
	if p.EnableAutoRollback != nil {
		s.EnableAutoRollback = *p.EnableAutoRollback
	}
	return s
}

// changedColumns are the columns a patched stack changes: an UPDATE of only these leaves the indexes of the others
// alone (a status report touched every index of the stacks table when it wrote every column).
func changedColumns(before, after Stack) (columns []string, values []any) {
	set := func(column string, value any) {
		columns, values = append(columns, column+" = ?"), append(values, value)
	}
	set("update_time", after.UpdateTime)
	if after.Description != before.Description {
		set("description", after.Description)
	}
	if after.Status != before.Status {
		set("status", after.Status)
	}
	if after.StatusMessage != before.StatusMessage {
		set("status_message", after.StatusMessage)
	}
	if after.StatusChangedAt != before.StatusChangedAt {
		set("status_changed_at", after.StatusChangedAt)
	}
	if after.EnableDeletionProtection != before.EnableDeletionProtection {
		set("enable_deletion_protection", after.EnableDeletionProtection)
	}
	if after.EnableAutoRollback != before.EnableAutoRollback {
		set("enable_auto_rollback", after.EnableAutoRollback)
	}
	return columns, values
}

// validateGivenStackID checks the form of a stack id that a request gave (nil: none given).
func validateGivenStackID(field string, given *string) error {
	if given == nil {
		return nil
	}
	return ValidateStackID(field, *given)
}

// checkStackID fails with a 400-class error when a given stack id is not the stack's (the RFS rule).
func checkStackID(field string, given *string, stack Stack) error {
	if given != nil && *given != stack.StackID {
		return &FieldError{field, ReasonInvalid, fmt.Sprintf("%q is not the id of stack %q", clip(*given), stack.Name)}
	}
	return nil
}

// UpdateStack applies a patch to a stack, recording an event for each change.
func UpdateStack(ctx context.Context, db *gorm.DB, projectID, name string, patch StackPatch) error {
	if err := patch.Validate(); err != nil {
		return err
	}
	return writeTransaction(ctx, db, func(tx *gorm.DB) error {
		before, err := lockStack(tx, projectID, name)
		if err != nil {
			return err
		}
		if err := checkStackID("stack_id", patch.StackID, before); err != nil {
			return err
		}
		after := patch.apply(before)
		if after == before {
			return nil
		}
		now := Now()
		after.UpdateTime = now
		if after.Status != before.Status {
			after.StatusChangedAt = now
		}
		columns, values := changedColumns(before, after)
		if err := execSQL(tx, `UPDATE stacks SET `+strings.Join(columns, ", ")+` WHERE pk = ?`, append(values, before.PK)...); err != nil {
			return err
		}
		if err := recordEvents(tx, stackEvents(&before, after)); err != nil {
			return err
		}
		return recordChanges(tx, Change{ProjectID: projectID, StackID: after.StackID})
	})
}

// DeleteStack deletes a stack with its services and events. It is refused while the stack's deletion protection
// is on, while it is in progress, or while it is still in a product; a given stack id must be the stack's.
func DeleteStack(ctx context.Context, db *gorm.DB, projectID, name string, stackID *string) error {
	if err := validateGivenStackID("stack_id", stackID); err != nil {
		return err
	}
	return writeTransaction(ctx, db, func(tx *gorm.DB) error {
		stack, err := lockStack(tx, projectID, name)
		if err != nil {
			return err
		}
		if err := checkStackID("stack_id", stackID, stack); err != nil {
			return err
		}
		if stack.EnableDeletionProtection {
			return &ForbiddenError{Reason: fmt.Sprintf("stack %q has deletion protection enabled; update it with enable_deletion_protection false first", name)}
		}
		if strings.HasSuffix(stack.Status, "_IN_PROGRESS") {
			return &ForbiddenError{Reason: fmt.Sprintf("stack %q is %s; wait until it settles", name, stack.Status)}
		}
		var products []string
		err = tx.Model(&Product{}).Where("pk IN (SELECT product_pk FROM product_stacks WHERE stack_pk = ?)", stack.PK).
			Order("pk").Pluck("name", &products).Error
		if err != nil {
			return err
		}
		if len(products) > 0 {
			return &ForbiddenError{Reason: fmt.Sprintf("stack %q is still in products %s; take it out of them first", name, strings.Join(products, ", "))}
		}
		if err := tx.Delete(&stack).Error; err != nil {
			return err
		}
		return recordChanges(tx, Change{ProjectID: projectID, StackID: stack.StackID})
	})
}

// ServiceSpec is what a deploy tool reports about one service.
type ServiceSpec struct {
	State   string
	Status  string
	Domains []string
	Image   Image
}

// Validate checks the report's values.
func (s ServiceSpec) Validate() error {
	if err := ValidateServiceState("state", s.State); err != nil {
		return err
	}
	if err := ValidateRunStatus("status", s.Status); err != nil {
		return err
	}
	if err := ValidateDomains("domains", s.Domains); err != nil {
		return err
	}
	return ValidateImage("image", s.Image.Name, s.Image.Tag)
}

// PutService creates or replaces one service of a stack and reports whether it was created.
func PutService(ctx context.Context, db *gorm.DB, projectID, stackName, serviceName string, spec ServiceSpec) (bool, error) {
	if err := ValidateName("service_name", serviceName); err != nil {
		return false, err
	}
	if err := spec.Validate(); err != nil {
		return false, err
	}
	created := false
	err := writeTransaction(ctx, db, func(tx *gorm.DB) error {
		stack, err := lockStack(tx, projectID, stackName)
		if err != nil {
			return err
		}
		current, err := stackServices(tx, stack.PK)
		if err != nil {
			return err
		}
		wanted := slices.Clone(current)
		service := spec.row(serviceName)
		service.StackPK = stack.PK
		i := slices.IndexFunc(wanted, func(s Service) bool { return s.Name == serviceName })
		if i < 0 {
			if err := ValidateServiceCount("service_name", len(wanted)+1); err != nil {
				return err
			}
			created = true
			service.Ordinal = len(wanted)
			wanted = append(wanted, service)
		} else {
			service.PK, service.Ordinal = wanted[i].PK, wanted[i].Ordinal
			if wanted[i] == service {
				return nil
			}
			wanted[i] = service
		}
		return saveServices(tx, stack, current, wanted, []Service{service}, nil)
	})
	return created, err
}

// DeleteService removes one service of a stack.
func DeleteService(ctx context.Context, db *gorm.DB, projectID, stackName, serviceName string) error {
	return writeTransaction(ctx, db, func(tx *gorm.DB) error {
		stack, err := lockStack(tx, projectID, stackName)
		if err != nil {
			return err
		}
		current, err := stackServices(tx, stack.PK)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(current, func(s Service) bool { return s.Name == serviceName })
		if i < 0 {
			return &NotFoundError{Kind: KindService, Name: serviceName}
		}
		wanted := slices.Delete(slices.Clone(current), i, i+1)
		return saveServices(tx, stack, current, wanted, nil, &current[i])
	})
}

// saveServices writes one service's change (saved, or removed) and records its events and the stack's new update
// time.
func saveServices(tx *gorm.DB, stack Stack, current, wanted, saved []Service, removed *Service) error {
	now := Now()
	for i := range saved {
		if err := saveService(tx, &saved[i]); err != nil {
			return err
		}
	}
	if removed != nil {
		if err := tx.Delete(removed).Error; err != nil {
			return err
		}
	}
	// wanted is the stack's services after the change: its run status rolls them up by the rule the SQL roll-up
	// of imports follows, in one UPDATE with the update time.
	statuses := make([]string, len(wanted))
	for i, service := range wanted {
		statuses[i] = service.Status
	}
	stack.UpdateTime = now
	if err := execSQL(tx, `UPDATE stacks SET run_status = ?, update_time = ? WHERE pk = ?`, StackRunStatus(statuses), now, stack.PK); err != nil {
		return err
	}
	if err := recordEvents(tx, serviceEvents(stack, current, wanted, now)); err != nil {
		return err
	}
	return recordChanges(tx, Change{ProjectID: stack.ProjectID, StackID: stack.StackID})
}

// saveService writes one service of a stack: a new one (no pk yet) is inserted and given its pk, a known one has
// what a report may change rewritten (its stack and name are what found it).
func saveService(tx *gorm.DB, service *Service) error {
	if service.PK != 0 {
		return execSQL(tx, `UPDATE services SET ordinal = ?, state = ?, status = ?, domains = ?, image_name = ?, image_tag = ?
			WHERE pk = ?`, service.Ordinal, service.State, service.Status, service.Domains, service.ImageName, service.ImageTag, service.PK)
	}
	return querySQL(tx, func(rows *sql.Rows) error { return rows.Scan(&service.PK) },
		`INSERT INTO services (stack_pk, name, ordinal, state, status, domains, image_name, image_tag)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING pk`,
		service.StackPK, service.Name, service.Ordinal, service.State, service.Status, service.Domains, service.ImageName, service.ImageTag)
}

// ProductSpec describes a product to create or whose layers to replace; ProjectID may be empty when the database
// holds one project.
type ProductSpec struct {
	Name      string
	ProjectID string
	Layers    [][]string
}

// ProductProject works out the project of a product to save: the one given (which must exist), else the existing
// product's, else the only project in the database.
func ProductProject(ctx context.Context, db *gorm.DB, spec ProductSpec) (string, error) {
	tx := db.WithContext(ctx)
	if spec.ProjectID != "" {
		if err := ValidateProjectID("project_id", spec.ProjectID); err != nil {
			return "", err
		}
		return spec.ProjectID, requireProject(tx, "project_id", spec.ProjectID)
	}
	var existing []string
	if err := tx.Model(&Product{}).Where("name = ?", spec.Name).Limit(1).Pluck("project_id", &existing).Error; err != nil {
		return "", err
	}
	if len(existing) > 0 {
		return existing[0], nil
	}
	var ids []string
	if err := tx.Model(&Project{}).Order("id").Limit(2).Pluck("id", &ids).Error; err != nil {
		return "", err
	}
	if len(ids) != 1 {
		return "", &FieldError{"project_id", ReasonMissing, "is required unless the database holds exactly one project"}
	}
	return ids[0], nil
}

// SaveProduct creates a product (create), or replaces an existing one's project and layers.
func SaveProduct(ctx context.Context, db *gorm.DB, spec ProductSpec, create bool) error {
	if err := ValidateProductName("product_name", spec.Name); err != nil {
		return err
	}
	return writeTransaction(ctx, db, func(tx *gorm.DB) error {
		var count int64
		if err := tx.Model(&Product{}).Where("name = ?", spec.Name).Count(&count).Error; err != nil {
			return err
		}
		switch {
		case create && count > 0:
			return &ConflictError{Kind: KindProduct, Name: spec.Name}
		case !create && count == 0:
			return &NotFoundError{Kind: KindProduct, Name: spec.Name}
		}
		projectID, err := ProductProject(ctx, tx, spec)
		if err != nil {
			return err
		}
		outcome, err := applyProduct(tx, spec.Name, projectID, "stack_deps", spec.Layers, Now())
		switch {
		case err != nil:
			// Another replica created the product since the count above, and has not committed yet.
			return conflictOn(err, "products", KindProduct, spec.Name)
		case create && outcome != productCreated:
			// Another replica created it since the count above, and has committed.
			return &ConflictError{Kind: KindProduct, Name: spec.Name}
		case !create && outcome == productCreated:
			// Another replica deleted it since the count above.
			return &NotFoundError{Kind: KindProduct, Name: spec.Name}
		}
		return nil
	})
}

// DeleteProduct deletes a product; its stacks stay.
func DeleteProduct(ctx context.Context, db *gorm.DB, name string) error {
	return writeTransaction(ctx, db, func(tx *gorm.DB) error {
		var products []Product
		if err := tx.Where("name = ?", name).Limit(1).Find(&products).Error; err != nil {
			return err
		}
		if len(products) == 0 {
			return &NotFoundError{Kind: KindProduct, Name: name}
		}
		var stackIDs []string
		err := tx.Model(&Stack{}).Where("pk IN (SELECT stack_pk FROM product_stacks WHERE product_pk = ?)", products[0].PK).
			Pluck("stack_id", &stackIDs).Error
		if err != nil {
			return err
		}
		if err := tx.Delete(&products[0]).Error; err != nil {
			return err
		}
		changes := []Change{{ProjectID: products[0].ProjectID, ProductName: name}}
		for _, id := range stackIDs {
			changes = append(changes, Change{StackID: id})
		}
		return recordChanges(tx, changes...)
	})
}

// ProductNames lists the names of the products of the given projects (nil: every product) in creation order.
func ProductNames(ctx context.Context, db *gorm.DB, projects []string) ([]string, error) {
	names := []string{}
	query := db.WithContext(ctx).Model(&Product{})
	if projects != nil {
		query = query.Where("project_id IN ?", projects)
	}
	if err := query.Order("pk").Pluck("name", &names).Error; err != nil {
		return nil, fmt.Errorf("list product names: %w", err)
	}
	return names, nil
}

// productOutcome says what applyProduct did.
type productOutcome int

const (
	productUnchanged productOutcome = iota
	productCreated
	productUpdated
)

// applyProduct creates a product or replaces its project and layers, checking that every layer holds stacks of
// the project, each once. Errors name the layer entries under layersField.
func applyProduct(tx *gorm.DB, name, projectID, layersField string, layers [][]string, now time.Time) (productOutcome, error) {
	var stacks []Stack
	if err := tx.Select("pk", "name", "stack_id").Where("project_id = ?", projectID).Find(&stacks).Error; err != nil {
		return productUnchanged, err
	}
	stackPKs := make(map[string]int64, len(stacks))
	stackIDs := make(map[int64]string, len(stacks))
	for _, s := range stacks {
		stackPKs[s.Name] = s.PK
		stackIDs[s.PK] = s.StackID
	}
	err := ValidateLayers(layersField, layers, func(name string) bool { _, ok := stackPKs[name]; return ok })
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) && strings.Contains(fe.Problem, "does not exist") {
			fe.Problem = strings.Replace(fe.Problem, "the product's project", fmt.Sprintf("project %q", projectID), 1)
		}
		return productUnchanged, err
	}
	var wanted []ProductStack
	for layer, names := range layers {
		for ordinal, stackName := range names {
			wanted = append(wanted, ProductStack{StackPK: stackPKs[stackName], Layer: layer + 1, Ordinal: ordinal})
		}
	}
	// The change touches the product and every stack it held or holds: their pages show the product.
	changes := []Change{{ProjectID: projectID, ProductName: name}}
	var existing []Product
	// Locked until the transaction ends (on PostgreSQL; SQLite has one writer anyway): two replicas replacing one
	// product's layers at once take turns rather than both inserting the new rows.
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("name = ?", name).Limit(1).Find(&existing).Error; err != nil {
		return productUnchanged, err
	}
	var product Product
	outcome := productCreated
	if len(existing) == 0 {
		product = Product{Name: name, ProjectID: projectID, CreatedAt: now}
		if err := tx.Create(&product).Error; err != nil {
			return productUnchanged, err
		}
	} else {
		outcome = productUpdated
		product = existing[0]
		var current []ProductStack
		if err := tx.Where("product_pk = ?", product.PK).Order("layer, ordinal").Find(&current).Error; err != nil {
			return productUnchanged, err
		}
		for i := range current {
			current[i].ProductPK = 0
		}
		if product.ProjectID == projectID && slices.Equal(current, wanted) {
			return productUnchanged, nil
		}
		for _, ps := range current {
			changes = append(changes, Change{StackID: stackIDs[ps.StackPK]})
		}
		if err := tx.Model(&product).Update("project_id", projectID).Error; err != nil {
			return productUnchanged, err
		}
		if err := tx.Where("product_pk = ?", product.PK).Delete(&ProductStack{}).Error; err != nil {
			return productUnchanged, err
		}
	}
	for i := range wanted {
		wanted[i].ProductPK = product.PK
		changes = append(changes, Change{StackID: stackIDs[wanted[i].StackPK]})
	}
	if err := tx.Create(&wanted).Error; err != nil {
		return productUnchanged, err
	}
	return outcome, recordChanges(tx, changes...)
}

// StackMetadata is a stack as GetStackMetadata shows it, its fields in RFS's order.
type StackMetadata struct {
	StackID                  string    `json:"stack_id"`
	StackName                string    `json:"stack_name"`
	Description              string    `json:"description"`
	EnableDeletionProtection bool      `json:"enable_deletion_protection"`
	EnableAutoRollback       bool      `json:"enable_auto_rollback"`
	Status                   string    `json:"status"`
	StatusMessage            *string   `json:"status_message,omitempty"`
	CreateTime               Timestamp `json:"create_time"`
	UpdateTime               Timestamp `json:"update_time"`
}

// GetStackMetadata returns a stack's metadata in one SQL statement; a given stack id must be the stack's.
func GetStackMetadata(ctx context.Context, db *gorm.DB, projectID, name string, stackID *string) (StackMetadata, error) {
	if err := validateGivenStackID("stack_id", stackID); err != nil {
		return StackMetadata{}, err
	}
	stack, err := findStack(db.WithContext(ctx), projectID, name)
	if err != nil {
		return StackMetadata{}, err
	}
	if err := checkStackID("stack_id", stackID, stack); err != nil {
		return StackMetadata{}, err
	}
	summary := newStackSummary(stack)
	return StackMetadata{
		StackID:                  stack.StackID,
		StackName:                stack.Name,
		Description:              stack.Description,
		EnableDeletionProtection: stack.EnableDeletionProtection,
		EnableAutoRollback:       stack.EnableAutoRollback,
		Status:                   stack.Status,
		StatusMessage:            summary.StatusMessage,
		CreateTime:               summary.CreateTime,
		UpdateTime:               summary.UpdateTime,
	}, nil
}

func isNotFound(err error) bool {
	var notFound *NotFoundError
	return errors.As(err, &notFound)
}

// replaceServices sets a stack's services to services, in their order, and the stack's run status to match.
func replaceServices(tx *gorm.DB, stackPK int64, services []Service) error {
	if err := tx.Where("stack_pk = ?", stackPK).Delete(&Service{}).Error; err != nil {
		return err
	}
	for i := range services {
		services[i].PK = 0
		services[i].StackPK = stackPK
		services[i].Ordinal = i
	}
	if len(services) > 0 {
		if err := tx.Create(&services).Error; err != nil {
			return err
		}
	}
	return refreshRunStatus(tx, stackPK)
}
